import NIOCore

/// An engine failure reported to the client as a Redis error; `message` is the whole error
/// text (`ERR Storage: ...`), as Dynomite words them.
public struct EngineError: Error, CustomStringConvertible, Sendable {
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

    /// True for a reply that says the storage (or a peer) was unavailable, rather than answering
    /// the command: engines that answer at once write these errors as their reply, and a
    /// coordinator must count them as a missing replica, not as that replica's answer.
    public static func isUnavailability(_ reply: ByteBuffer) -> Bool {
        let view = reply.readableBytesView
        switch view.first {
        case UInt8(ascii: "-"): return view.starts(with: storagePrefix) || view.starts(with: peerPrefix)
        case UInt8(ascii: "S"): return view.starts(with: memcachedStoragePrefix) || view.starts(with: memcachedPeerPrefix)
        default: return false
        }
    }

    /// An unavailability reply's message in Redis's form (`ERR Storage: ...`), whichever
    /// protocol it was written in.
    public static func message(ofUnavailability reply: ByteBuffer) -> String {
        let view = reply.readableBytesView
        let text = String(decoding: view.dropLast(2), as: UTF8.self)
        if view.first == UInt8(ascii: "-") { return String(text.dropFirst()) }
        return "ERR " + text.dropFirst("SERVER_ERROR ".count)
    }

    private static let storagePrefix = Array("-ERR Storage: ".utf8)
    private static let peerPrefix = Array("-ERR Peer: ".utf8)
    // The memcached engine words the same failures as memcached clients expect them.
    private static let memcachedStoragePrefix = Array("SERVER_ERROR Storage: ".utf8)
    private static let memcachedPeerPrefix = Array("SERVER_ERROR Peer: ".utf8)
}
