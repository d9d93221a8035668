extension CommandTable {
    /// Connection and server commands: answered by the connection handler (or by every engine for DBSIZE and FLUSH*).
    static let connectionRows: [CommandSpec] = [
        .init("ping", .ping, arity: -1, [.fast, .stale, .connection], group: "connection"),
        .init("echo", .echo, arity: 2, [.fast, .connection], group: "connection"),
        .init("quit", .quit, arity: -1, [.fast, .noAuth, .connection], group: "connection"),
        .init("select", .select, arity: 2, [.fast, .loading, .connection], group: "connection"),
        .init("hello", .hello, arity: -1, [.fast, .noAuth, .connection], group: "connection"),
        .init("client", .client, arity: -2, [.connection], group: "connection"),
        .init("auth", .auth, arity: -2, [.fast, .noAuth, .connection], group: "connection"),
        .init("command", .command, arity: -1, [.loading, .stale, .connection], group: "server"),
        .init("info", .info, arity: -1, [.loading, .stale, .connection], group: "server"),
        .init("time", .time, arity: 1, [.fast, .loading, .stale, .connection], group: "server"),
        .init("config", .config, arity: -2, [.admin, .connection], group: "server"),
        .init("dyno_config:conn_consistency", .dynoConnConsistency, arity: 2, [.fast, .connection], group: "connection"),
        .init("dbsize", .dbsize, arity: 1, [.readonly, .fast], route: .localRack(.sum), group: "server"),
        .init("flushall", .flushall, arity: -1, [.write], route: .everyNode(.allOK), group: "server"),
        .init("flushdb", .flushdb, arity: -1, [.write], route: .everyNode(.allOK), group: "server"),
    ]
}
