extension CommandTable {
    /// Lists, and the blocking pops of lists and sorted sets.
    static let listRows: [CommandSpec] = [
        .init("lindex", .lindex, arity: 3, [.readonly], keys: (1, 1, 1), group: "list"),
        .init("llen", .llen, arity: 2, [.readonly], keys: (1, 1, 1), group: "list"),
        .init("lrange", .lrange, arity: 4, [.readonly], keys: (1, 1, 1), group: "list"),
        .init("lpos", .lpos, arity: -3, [.readonly], keys: (1, 1, 1), group: "list"),
        .init("lpush", .lpush, arity: -3, [.write, .groupable], keys: (1, 1, 1), wakes: .argument(1), group: "list"),
        .init("lpushx", .lpushx, arity: -3, [.write, .groupable], keys: (1, 1, 1), wakes: .argument(1), group: "list"),
        .init("rpush", .rpush, arity: -3, [.write, .groupable], keys: (1, 1, 1), wakes: .argument(1), group: "list"),
        .init("rpushx", .rpushx, arity: -3, [.write, .groupable], keys: (1, 1, 1), wakes: .argument(1), group: "list"),
        .init("lpop", .lpop, arity: -2, [.write, .groupable], keys: (1, 1, 1), group: "list"),
        .init("rpop", .rpop, arity: -2, [.write, .groupable], keys: (1, 1, 1), group: "list"),
        .init("linsert", .linsert, arity: 5, [.write], keys: (1, 1, 1), group: "list"),
        .init("lrem", .lrem, arity: 4, [.write], keys: (1, 1, 1), group: "list"),
        .init("lset", .lset, arity: 4, [.write], keys: (1, 1, 1), group: "list"),
        .init("ltrim", .ltrim, arity: 4, [.write], keys: (1, 1, 1), group: "list"),
        .init("lmpop", .lmpop, arity: -4, [.write], keySpec: .counted(at: 1), group: "list"),
        .init("rpoplpush", .rpoplpush, arity: 3, [.write], keys: (1, 2, 1), wakes: .argument(2), group: "list"),
        .init("lmove", .lmove, arity: 5, [.write], keys: (1, 2, 1), wakes: .argument(2), group: "list"),
        .init("blpop", .blpop, arity: -3, [.write, .blocking], keys: (1, -2, 1), group: "list"),
        .init("blmpop", .blmpop, arity: -5, [.write, .blocking], keySpec: .counted(at: 2), group: "list"),
        .init("brpop", .brpop, arity: -3, [.write, .blocking], keys: (1, -2, 1), group: "list"),
        .init("blmove", .blmove, arity: 6, [.write, .blocking], keys: (1, 2, 1), group: "list"),
        .init("brpoplpush", .brpoplpush, arity: 4, [.write, .blocking], keys: (1, 2, 1), group: "list"),
    ]
}
