import Logging
import NIOCore
import Protocol

/// The Memcached engine: a node in front of one memcached (`data_store: 1`). Clients speak the
/// memcached text protocol; requests are checked, then forwarded as the bytes they came as.
public final class MemcachedEngine: StorageEngine {
    public let clientProtocol = ClientProtocol.memcached
    let options: BackendOptions
    let logger: Logger

    public init(options: BackendOptions, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    public func makeSession(eventLoop: EventLoop) -> any EngineSession {
        MemcachedSession(pool: BackendPool(eventLoop: eventLoop, options: options, logger: logger))
    }

    public func keyspaceInfo() -> [String] { [] }
    public func shutdown() {}
}

/// One event loop's forwarding to memcached.
final class MemcachedSession: EngineSession {
    private let pool: BackendPool<MemcachedWire>

    init(pool: BackendPool<MemcachedWire>) { self.pool = pool }

    /// Memcached clients never send RESP.
    func execute(_ spec: CommandSpec, _ arguments: [ByteBuffer], origin: RequestOrigin, reply: inout ReplyWriter) -> Bool {
        reply.buffer.writeString("ERROR\r\n")
        return false
    }

    func execute(memcached request: MemcachedRequest, origin: RequestOrigin, reply: inout ReplyWriter) -> Bool {
        let kind: UInt8? = request.noreply ? nil : request.responseKind.rawValue
        if let error = pool.connection(for: origin.client).send(raw: request.raw, kind: kind, origin: origin) {
            if !request.noreply {
                // "ERR Storage: ..." in Redis terms; memcached clients expect SERVER_ERROR.
                reply.buffer.writeString("SERVER_ERROR " + error.message.dropFirst("ERR ".count) + "\r\n")
            }
            return false
        }
        return kind != nil
    }

    var hasPendingWrites: Bool { pool.hasUnflushedRequests }

    func endOfBurst() -> String? {
        pool.flush()
        return nil
    }

    var failure: String? { nil }
}
