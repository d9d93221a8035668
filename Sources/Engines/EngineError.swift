import NIOCore

/// An engine failure reported to the client as a Redis error; `message` is the whole error
/// text (`ERR Storage: ...`), as Dynomite words them.
public struct EngineError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
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
        return view.starts(with: storagePrefix) || view.starts(with: peerPrefix)
    }

    private static let storagePrefix = Array("-ERR Storage: ".utf8)
    private static let peerPrefix = Array("-ERR Peer: ".utf8)
}
