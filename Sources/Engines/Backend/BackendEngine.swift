import Logging
import NIOCore
import Protocol

/// An engine in front of one backend server, Dynomite's classic deployment: `data_store: 0`
/// (redis-server, RESP clients) or `1` (memcached, memcached text clients). Requests go over
/// pooled, pipelined connections; replies come back as the backend's bytes, untouched.
public final class BackendEngine: StorageEngine {
    public enum Kind: Sendable {
        case redis
        case memcached
    }

    public let kind: Kind
    let options: BackendOptions
    let logger: Logger

    public init(kind: Kind, options: BackendOptions, logger: Logger) {
        self.kind = kind
        self.options = options
        self.logger = logger
    }

    public var clientProtocol: ClientProtocol { kind == .redis ? .resp : .memcached }

    public func makeSession(eventLoop: EventLoop) -> any EngineSession {
        switch kind {
        case .redis:
            var resp3 = options
            resp3.resp3 = true
            return RedisSession(pool: BackendPool(eventLoop: eventLoop, options: options, logger: logger),
                                resp3: { BackendPool(eventLoop: eventLoop, options: resp3, logger: self.logger) })
        case .memcached: return MemcachedSession(pool: BackendPool(eventLoop: eventLoop, options: options, logger: logger))
        }
    }

    /// Key counts live in the backend.
    public func keyspaceInfo() -> [String] { [] }

    public func shutdown() {}
}

/// What every forwarding session shares: its loop's pool, flushed once per loop pass.
class ForwardingSession<Wire: BackendWire> {
    let pool: BackendPool<Wire>

    init(pool: BackendPool<Wire>) { self.pool = pool }

    /// Backend servers keep no versions: the coordinator's stamp is not used.
    var version: UInt64 = 0

    var hasPendingWrites: Bool { pool.hasUnflushedRequests }

    func endOfBurst() -> String? {
        pool.flush()
        return nil
    }

    /// Backend trouble reaches each request as its own error; nothing fails a whole burst.
    var failure: String? { nil }

    func close() { pool.close() }
}
