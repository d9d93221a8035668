import NIOCore

/// An engine failure reported to the client as a Redis error; `message` is the whole error
/// text (`ERR Storage: ...`), as Dynomite words them.
public struct EngineError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What failed, for the counters (`/metrics`), so no one has to read it off the message.
    public enum Cause: Sendable, Equatable {
        /// This node's storage (or the backend server it forwards to).
        case storage
        /// A peer: not connected, timed out, lost, overloaded, or refusing the request.
        case peer
        /// This node's state (`/state/...`) does not serve the request.
        case nodeState
    }

    public let message: String
    public let cause: Cause
    public init(_ message: String, cause: Cause = .storage) {
        self.message = message
        self.cause = cause
    }
    public var description: String { message }

    static let refused = EngineError("ERR Storage: Datastore refused connection")
    static let lost = EngineError("ERR Storage: Datastore connection lost")
    static let timedOut = EngineError("ERR Storage: Datastore timed out")
    static let overloaded = EngineError("ERR Storage: too many requests in flight to the datastore")
}
