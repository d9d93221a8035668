import NIOCore

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

    /// Decodes one complete reply (as framed by `RESPReplyFramer`).
    static func decode(_ buffer: ByteBuffer) throws(Malformed) -> Reply {
        var b = buffer
        return try decode(&b)
    }

    private static func line(_ b: inout ByteBuffer) throws(Malformed) -> String {
        guard let view = b.readableBytesView.firstIndex(of: UInt8(ascii: "\r")) else { throw Malformed() }
        let text = b.readString(length: view - b.readerIndex) ?? ""
        b.moveReaderIndex(forwardBy: 2)
        return text
    }

    private static func decode(_ b: inout ByteBuffer) throws(Malformed) -> Reply {
        guard let marker = b.readInteger(as: UInt8.self) else { throw Malformed() }
        let text = try line(&b)
        switch marker {
        case UInt8(ascii: "+"): return .simple(text)
        case UInt8(ascii: "-"): return .error(text)
        case UInt8(ascii: ":"):
            guard let v = Int64(text) else { throw Malformed() }
            return .integer(v)
        case UInt8(ascii: "$"):
            guard let n = Int(text) else { throw Malformed() }
            if n < 0 { return .bulk(nil) }
            guard let bytes = b.readBytes(length: n) else { throw Malformed() }
            b.moveReaderIndex(forwardBy: 2)
            return .bulk(bytes)
        case UInt8(ascii: "*"):
            guard let n = Int(text) else { throw Malformed() }
            if n < 0 { return .array(nil) }
            var items: [Reply] = []
            items.reserveCapacity(n)
            for _ in 0..<n { items.append(try decode(&b)) }
            return .array(items)
        case UInt8(ascii: "_"): return .bulk(nil)
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
