extension CommandTable {
    /// HyperLogLog (Redis 7.0's encodings).
    static let hyperLogLogRows: [CommandSpec] = [
        .init("pfadd", .pfadd, arity: -2, [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "hyperloglog"),
        .init("pfcount", .pfcount, arity: -2, [.readonly], keys: (1, -1, 1), group: "hyperloglog"),
        .init("pfmerge", .pfmerge, arity: -2, [.write, .denyOOM], keys: (1, -1, 1), group: "hyperloglog"),
        .init("pfdebug", .pfdebug, arity: 3, [.write, .denyOOM, .admin], keys: (2, 2, 1), group: "hyperloglog"),
        .init("pfselftest", .pfselftest, arity: 1, [.admin], group: "hyperloglog"),
    ]
}
