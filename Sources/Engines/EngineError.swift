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
}
