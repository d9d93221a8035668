import NIOCore

/// A memcached text-protocol request, checked and ready to forward as the bytes it came as.
public struct MemcachedRequest: Sendable {
    public enum Command: String, Sendable {
        case get, gets, gat, gats
        case set, add, replace, append, prepend, cas
        case delete, incr, decr, touch
        case version, quit, flushAll = "flush_all", verbosity
    }

    /// What the backend answers with: a VALUE…END block, or one line.
    public enum ResponseKind: UInt8, Sendable {
        case values
        case line
    }

    public let command: Command
    /// The keys, as slices of the request.
    public let keys: [ByteBuffer]
    /// The whole request: command line and data block, CRLFs included.
    public let raw: ByteBuffer
    /// `noreply`: the backend sends nothing back, and neither does Dynamis.
    public let noreply: Bool

    public var responseKind: ResponseKind {
        switch command {
        case .get, .gets, .gat, .gats: return .values
        default: return .line
        }
    }
}
