extension CommandTable {
    /// MULTI/EXEC/WATCH (the connection queues; the RocksDB engine executes).
    static let transactionRows: [CommandSpec] = [
        .init("multi", .multi, arity: 1, [.connection, .transactionControl], group: "transactions"),
        .init("exec", .exec, arity: 1, [.connection, .transactionControl], group: "transactions"),
        .init("discard", .discard, arity: 1, [.connection, .transactionControl], group: "transactions"),
        .init("watch", .watch, arity: -2, [.connection, .transactionControl], keys: (1, -1, 1), group: "transactions"),
        .init("unwatch", .unwatch, arity: 1, [.connection, .transactionControl], group: "transactions"),
    ]
}
