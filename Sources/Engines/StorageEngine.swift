import NIOCore
import Protocol

/// The wire protocol an engine's clients speak.
public enum ClientProtocol: Sendable {
    case resp
    case memcached
}

/// A storage engine beneath the clustering layer: executes commands against local data and
/// returns replies. It never routes.
public protocol StorageEngine: Sendable {
    var clientProtocol: ClientProtocol { get }
    /// A session for one event loop, shared by that loop's client connections: it is only
    /// used from that loop's thread.
    func makeSession(eventLoop: EventLoop) -> any EngineSession
    /// `INFO keyspace` lines (`db0:keys=...`), and engine lines for other sections.
    func keyspaceInfo() -> [String]
    /// Flushes and closes; no session may be used afterwards.
    func shutdown()
}

/// One event loop's view of an engine, shared by the loop's connections.
public protocol EngineSession: AnyObject {
    /// Executes one command (already checked against the command table) for client `client`
    /// (engines that forward keep one client's requests on one upstream connection, in order).
    /// Either writes the reply into `reply` and returns nil, or returns a future of the reply's
    /// bytes, completed on the session's event loop.
    func execute(_ spec: CommandSpec, _ arguments: [ByteBuffer], client: Int, reply: inout ReplyWriter) -> EventLoopFuture<ByteBuffer>?
    /// True while writes grouped from this loop's connections wait for `endOfBurst`: replies
    /// acknowledging them must not be sent before it.
    var hasPendingWrites: Bool { get }
    /// Makes the grouped writes durable. Returns the storage failure since the last call, if
    /// any: writes whose replies may be buffered were not made durable, so the connections
    /// waiting on this burst must send the error instead of their replies, and close.
    func endOfBurst() -> String?
    /// A failure not yet reported through `endOfBurst` (commands are refused meanwhile).
    var failure: String? { get }
}
