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
    /// Engine gauges for `/metrics`: (name without prefix, help, value).
    func statistics() -> [(name: String, help: String, value: Double)]
    /// Clients waiting in a blocking command (INFO's `blocked_clients`).
    var blockedClients: Int { get }
    /// CLIENT UNBLOCK: ends client `id`'s blocking command now, as if it timed out or with
    /// `-UNBLOCKED`; false when that client is not blocked.
    func unblock(client id: Int, withError: Bool) -> Bool
    /// Writes a consistent, openable copy of the node's data into `directory` (a backup).
    func checkpoint(into directory: String) throws(EngineError)
}

extension StorageEngine {
    public var blockedClients: Int { 0 }
    public func unblock(client id: Int, withError: Bool) -> Bool { false }

    public func checkpoint(into directory: String) throws(EngineError) {
        throw EngineError("this engine keeps its data in a backend server: back that server up instead")
    }

    public func statistics() -> [(name: String, help: String, value: Double)] { [] }
}

/// One event loop's view of an engine, shared by the loop's connections.
public protocol EngineSession: AnyObject {
    /// Executes one command (already checked against the command table): writes the reply
    /// into `reply` (`.answered`), or later hands it to `origin.receiver`, on the session's
    /// event loop and never before this call returns (`.later`), or reports that its storage
    /// could not run it (`.failed`, with nothing written).
    func execute(_ spec: CommandSpec, _ arguments: [ByteBuffer], origin: RequestOrigin, reply: inout ReplyWriter) -> Execution
    /// The same for a memcached text-protocol request (engines whose clients speak memcached).
    /// A `noreply` request that runs is `.answered` with nothing written.
    func execute(memcached request: MemcachedRequest, origin: RequestOrigin, reply: inout ReplyWriter) -> Execution

    /// True while writes grouped from this loop's connections wait for `endOfBurst`: replies
    /// acknowledging them must not be sent before it.
    var hasPendingWrites: Bool { get }
    /// Makes the grouped writes durable. Returns the storage failure since the last call, if
    /// any: writes whose replies may be buffered were not made durable, so the connections
    /// waiting on this burst must send the error instead of their replies, and close.
    func endOfBurst() -> String?
    /// A failure not yet reported through `endOfBurst` (commands are refused meanwhile).
    var failure: String? { get }
    /// The client's connection closed: forget anything it was waiting for.
    func clientClosed(_ client: Int)
    /// The node is stopping: close outgoing connections for good (no reconnect may be
    /// scheduled on a loop that is shutting down).
    func close()

    /// The version the coordinator stamped on the request about to be executed (0: none; the
    /// engine stamps writes itself). Engines that keep versions apply whole-value writes only
    /// when this is newer than the stored one; others ignore it. Set before each `execute`.
    var version: UInt64 { get set }

    /// Whether MULTI/EXEC/WATCH run on this engine.
    var supportsTransactions: Bool { get }
    /// WATCH: adds `keys` to the connection's list.
    func watch(_ keys: ArraySlice<ByteBuffer>, into list: inout WatchList)
    /// UNWATCH (also after EXEC or DISCARD, and when the connection closes).
    func unwatch(_ list: inout WatchList)
    /// EXEC: runs the queued commands as one atomic transaction and writes EXEC's reply (their
    /// replies as an array, or a null array when a watched key changed).
    func exec(_ queue: [QueuedCommand], watching list: WatchList, reply: inout ReplyWriter)
}

/// What `EngineSession.execute` did with a request.
public enum Execution: Sendable, Equatable {
    /// The reply is in the writer (nothing, for a memcached `noreply` request).
    case answered
    /// The engine hands the reply (or its failure) to the origin's receiver later.
    case later
    /// The engine's storage (or the backend it forwards to) could not run the request: nothing
    /// was written. The caller words the error in its own protocol and counts its cause, and a
    /// coordinator counts the replica as missing, never as an answer.
    case failed(EngineError)

    /// True when the reply comes later, through the origin's receiver.
    @inlinable
    public var isLater: Bool {
        if case .later = self { return true }
        return false
    }
}

/// One command of a MULTI block: for the engine to run, or already answered by the connection
/// (PING, ECHO, ...), whose reply takes its place in EXEC's array.
public enum QueuedCommand {
    case engine(CommandSpec, [ByteBuffer])
    case answered(ByteBuffer)
}

/// Receives the replies an engine produces after `execute` returned.
public protocol ReplyReceiver: AnyObject {
    /// The reply (or the engine's error) for the request numbered `sequence`.
    func receive(_ reply: Result<ByteBuffer, EngineError>, for sequence: Int)
}

/// Who sent a request: the client (forwarding engines keep one client's requests on one
/// upstream connection, so they run in order), where a later reply goes, and its number.
public struct RequestOrigin {
    public let client: Int
    /// The connection outlives its requests: an engine holding a request keeps a strong reference.
    public unowned(unsafe) let receiver: any ReplyReceiver
    public let sequence: Int

    public init(client: Int, receiver: any ReplyReceiver, sequence: Int) {
        self.client = client
        self.receiver = receiver
        self.sequence = sequence
    }
}

extension EngineSession {
    public func clientClosed(_ client: Int) {}
    public func close() {}

    public var supportsTransactions: Bool { false }
    public func watch(_ keys: ArraySlice<ByteBuffer>, into list: inout WatchList) {}
    public func unwatch(_ list: inout WatchList) {}
    public func exec(_ queue: [QueuedCommand], watching list: WatchList, reply: inout ReplyWriter) {
        reply.error("ERR MULTI/EXEC are not supported by this engine")
    }

    /// Engines whose clients speak RESP never see memcached requests.
    public func execute(memcached request: MemcachedRequest, origin: RequestOrigin, reply: inout ReplyWriter) -> Execution {
        reply.buffer.writeString("SERVER_ERROR this engine speaks RESP\r\n")
        return .answered
    }
}
