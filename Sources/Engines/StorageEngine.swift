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
    /// A session for one client connection; a session is only used from that connection's
    /// event loop.
    func makeSession() -> any EngineSession
    /// `INFO keyspace` lines (`db0:keys=...`), and engine lines for other sections.
    func keyspaceInfo() -> [String]
    /// Flushes and closes; no session may be used afterwards.
    func shutdown()
}

/// One connection's view of an engine.
public protocol EngineSession: AnyObject {
    /// Executes one command (already checked against the command table) and writes its reply.
    func execute(_ spec: CommandSpec, _ arguments: [ByteBuffer], reply: inout ReplyWriter)
    /// Called once per read burst, before the burst's replies are flushed: writes the engine
    /// grouped during the burst become durable here.
    func endOfBurst()
    /// Set when writes whose replies are already buffered could not be made durable: the
    /// connection must drop its unflushed replies, send this error and close.
    var failure: String? { get }
}
