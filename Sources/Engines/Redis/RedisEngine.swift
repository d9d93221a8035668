import Logging
import NIOCore
import Protocol

/// The Redis engine: a node in front of one redis-server (`data_store: 0`), forwarding every
/// command it routes over pooled, pipelined connections and returning the backend's reply bytes
/// untouched.
public final class RedisEngine: StorageEngine {
    public let clientProtocol = ClientProtocol.resp
    let options: BackendOptions
    let logger: Logger

    public init(options: BackendOptions, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    public func makeSession(eventLoop: EventLoop) -> any EngineSession {
        RedisSession(eventLoop: eventLoop, options: options, logger: logger)
    }

    /// Key counts live in the backend; ask it (`INFO keyspace` is forwarded by DBSIZE and INFO).
    public func keyspaceInfo() -> [String] { [] }

    public func shutdown() {}
}

/// One event loop's connections to the backend. A client is pinned to one connection (its id
/// modulo the pool size), so its pipelined requests reach the backend, and run, in order.
final class RedisSession: EngineSession {
    private let connections: [BackendConnection<RESPWire>]

    init(eventLoop: EventLoop, options: BackendOptions, logger: Logger) {
        connections = (0..<max(1, options.connectionsPerLoop)).map { _ in
            BackendConnection<RESPWire>(eventLoop: eventLoop, options: options, logger: logger)
        }
    }

    deinit {
        for connection in connections { connection.close() }
    }

    func execute(_ spec: CommandSpec, _ arguments: [ByteBuffer], origin: RequestOrigin, reply: inout ReplyWriter) -> Bool {
        if let error = connections[origin.client % connections.count].send(arguments, origin: origin) {
            reply.error(error.message)
            return false
        }
        return true
    }

    var hasPendingWrites: Bool { connections.contains { $0.hasUnflushedRequests } }

    func endOfBurst() -> String? {
        for connection in connections { connection.flush() }
        return nil
    }

    var failure: String? { nil }
}
