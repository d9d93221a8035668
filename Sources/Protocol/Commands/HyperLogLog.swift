extension CommandTable {
    /// HyperLogLog (Redis 7.0's encodings).
    static let hyperLogLogRows: [CommandSpec] = [
        .init("pfadd", .pfadd, arity: -2, [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "hyperloglog"),
        .init("pfcount", .pfcount, arity: -2, [.readonly], keys: (1, -1, 1), group: "hyperloglog"),
        .init("pfmerge", .pfmerge, arity: -2, [.write, .denyOOM], keys: (1, -1, 1), group: "hyperloglog"),
    ]
}
