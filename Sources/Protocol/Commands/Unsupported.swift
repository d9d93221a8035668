extension CommandTable {
    /// Refused with a clear error (a proxy cannot hold per-connection server state).
    static let unsupportedRows: [CommandSpec] = [
        .init("subscribe", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("psubscribe", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("unsubscribe", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("punsubscribe", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("ssubscribe", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("sunsubscribe", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("publish", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("monitor", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("shutdown", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("debug", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("slaveof", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("replicaof", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("sync", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("psync", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("wait", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("migrate", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("move", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("swapdb", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("failover", .refused, arity: -1, [.connection], group: "unsupported"),
    ]
}
