/// A configuration problem, naming the key, the value and what is allowed.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public let key: String?
    public let message: String

    public init(key: String?, _ message: String) {
        self.key = key
        self.message = message
    }

    public var description: String {
        if let key { return "key '\(key)': \(message)" }
        return message
    }
}
