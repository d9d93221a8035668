extension CommandTable {
    /// Scripting (forwarded to backend engines).
    static let scriptingRows: [CommandSpec] = [
        .init("eval", .forwarded, arity: -3, [.write, .forwardable], keySpec: .counted(at: 2, allowZero: true), group: "scripting"),
        .init("evalsha", .forwarded, arity: -3, [.write, .forwardable], keySpec: .counted(at: 2, allowZero: true), group: "scripting"),
        .init("script", .forwarded, arity: -2, [.write, .forwardable], route: .scriptCache, group: "scripting"),
    ]
}
