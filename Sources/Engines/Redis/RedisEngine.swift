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
        RedisSession(pool: BackendPool(eventLoop: eventLoop, options: options, logger: logger))
    }

    /// Key counts live in the backend.
    public func keyspaceInfo() -> [String] { [] }

    public func shutdown() {}
}

/// One event loop's forwarding to redis-server.
final class RedisSession: EngineSession {
    private let pool: BackendPool<RESPWire>

    init(pool: BackendPool<RESPWire>) { self.pool = pool }

    func execute(_ spec: CommandSpec, _ arguments: [ByteBuffer], origin: RequestOrigin, reply: inout ReplyWriter) -> Bool {
        if let error = pool.connection(for: origin.client).send(arguments, origin: origin) {
            reply.error(error.message)
            return false
        }
        return true
    }

    var hasPendingWrites: Bool { pool.hasUnflushedRequests }

    func endOfBurst() -> String? {
        pool.flush()
        return nil
    }

    var failure: String? { nil }
}
