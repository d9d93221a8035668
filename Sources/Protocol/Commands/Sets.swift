extension CommandTable {
    /// Sets.
    static let setRows: [CommandSpec] = [
        .init("scard", .scard, arity: 2, [.readonly], keys: (1, 1, 1), group: "set"),
        .init("sismember", .sismember, arity: 3, [.readonly], keys: (1, 1, 1), group: "set"),
        .init("smismember", .smismember, arity: -3, [.readonly], keys: (1, 1, 1), group: "set"),
        .init("smembers", .smembers, arity: 2, [.readonly], keys: (1, 1, 1), group: "set"),
        .init("srandmember", .srandmember, arity: -2, [.nondeterministicOutput, .readonly], keys: (1, 1, 1), route: .anyReplica, group: "set"),
        .init("sdiff", .sdiff, arity: -2, [.readonly], keys: (1, -1, 1), group: "set"),
        .init("sinter", .sinter, arity: -2, [.readonly], keys: (1, -1, 1), group: "set"),
        .init("sunion", .sunion, arity: -2, [.readonly], keys: (1, -1, 1), group: "set"),
        .init("sintercard", .sintercard, arity: -3, [.readonly], keySpec: .counted(at: 1), group: "set"),
        .init("sscan", .sscan, arity: -3, [.readonly], keys: (1, 1, 1), group: "set"),
        .init("sadd", .sadd, arity: -3, [.write, .groupable], keys: (1, 1, 1), group: "set"),
        .init("srem", .srem, arity: -3, [.write, .groupable], keys: (1, 1, 1), group: "set"),
        .init("spop", .spop, arity: -2, [.write, .groupable], keys: (1, 1, 1), route: .ownerThenReplicas, group: "set"),
        .init("smove", .smove, arity: 4, [.write], keys: (1, 2, 1), wakes: .argument(2), group: "set"),
        .init("sdiffstore", .sdiffstore, arity: -3, [.write], keys: (1, -1, 1), group: "set"),
        .init("sinterstore", .sinterstore, arity: -3, [.write], keys: (1, -1, 1), group: "set"),
        .init("sunionstore", .sunionstore, arity: -3, [.write], keys: (1, -1, 1), group: "set"),
    ]
}
