extension CommandTable {
    /// Hashes.
    static let hashRows: [CommandSpec] = [
        .init("hget", .hget, arity: 3, [.readonly], keys: (1, 1, 1), group: "hash"),
        .init("hmget", .hmget, arity: -3, [.readonly], keys: (1, 1, 1), group: "hash"),
        .init("hexists", .hexists, arity: 3, [.readonly], keys: (1, 1, 1), group: "hash"),
        .init("hlen", .hlen, arity: 2, [.readonly], keys: (1, 1, 1), group: "hash"),
        .init("hgetall", .hgetall, arity: 2, [.readonly], keys: (1, 1, 1), group: "hash"),
        .init("hkeys", .hkeys, arity: 2, [.readonly], keys: (1, 1, 1), group: "hash"),
        .init("hvals", .hvals, arity: 2, [.readonly], keys: (1, 1, 1), group: "hash"),
        .init("hscan", .hscan, arity: -3, [.readonly], keys: (1, 1, 1), group: "hash"),
        .init("hstrlen", .hstrlen, arity: 3, [.readonly], keys: (1, 1, 1), group: "hash"),
        .init("hrandfield", .hrandfield, arity: -2, [.nondeterministicOutput, .readonly], keys: (1, 1, 1), route: .anyReplica, group: "hash"),
        .init("hset", .hset, arity: -4, [.write, .groupable], keys: (1, 1, 1), group: "hash"),
        .init("hsetnx", .hsetnx, arity: 4, [.write, .groupable], keys: (1, 1, 1), group: "hash"),
        .init("hmset", .hmset, arity: -4, [.write, .groupable], keys: (1, 1, 1), group: "hash"),
        .init("hdel", .hdel, arity: -3, [.write, .groupable], keys: (1, 1, 1), group: "hash"),
        .init("hincrby", .hincrby, arity: 4, [.write, .groupable], keys: (1, 1, 1), group: "hash"),
        .init("hincrbyfloat", .hincrbyfloat, arity: 4, [.write, .groupable], keys: (1, 1, 1), group: "hash"),
    ]
}
