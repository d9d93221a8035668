import NIOCore
import Protocol

/// A decoded RESP reply, as the tool needs it (RESP2 shapes; RESP3 doubles and maps are not
/// requested by anything the tool sends).
enum Reply: Equatable {
    case simple(String)
    case error(String)
    case integer(Int64)
    case bulk([UInt8]?)
    case array([Reply]?)

    struct Malformed: Error, CustomStringConvertible {
        var description: String { "malformed reply from the server" }
    }

    /// Decodes one complete reply (as framed by `RESPReplyFramer`) through the project's one
    /// reply view, `RESPToken`.
    static func decode(_ buffer: ByteBuffer) throws(Malformed) -> Reply {
        try decode(RESPToken(buffer))
    }

    private static func decode(_ token: RESPToken) throws(Malformed) -> Reply {
        if token.isNull { return token.marker == UInt8(ascii: "*") ? .array(nil) : .bulk(nil) }
        switch token.marker {
        case UInt8(ascii: "+"): return .simple(token.simpleText ?? "")
        case UInt8(ascii: "-"): return .error(token.errorText ?? "")
        case UInt8(ascii: ":"):
            guard let value = token.integer else { throw Malformed() }
            return .integer(Int64(value))
        case UInt8(ascii: "$"):
            guard let bytes = token.bulk else { throw Malformed() }
            return .bulk(Array(bytes.readableBytesView))
        case UInt8(ascii: "*"):
            guard let elements = token.elements else { throw Malformed() }
            var items: [Reply] = []
            items.reserveCapacity(elements.count)
            for element in elements { items.append(try decode(element)) }
            return .array(items)
        default: throw Malformed()
        }
    }

    var errorText: String? {
        if case .error(let e) = self { return e }
        return nil
    }
}

/// A command as RESP arguments.
typealias Command = [ByteBuffer]

extension Array where Element == ByteBuffer {
    init(_ words: String...) {
        self = words.map { ByteBuffer(string: $0) }
    }
}
