import NIOCore

/// One complete RESP2/RESP3 reply as received: a view over its bytes (nothing is copied or
/// decoded until asked). What the coordinator reads of its replicas' answers (merged replies,
/// SCAN, states and digests) and what `dynamis-snapshot` reads of a server's. Replies are cut
/// from a stream by `RESPReplyFramer`; a token's elements are cut the same way.
public struct RESPToken: Sendable, Hashable {
    /// The reply's bytes, from its type byte to its last CRLF.
    public let base: ByteBuffer

    /// A token over a complete reply (as `RESPReplyFramer` or `elements` cut it).
    public init(_ complete: ByteBuffer) { base = complete }

    /// A token over `buffer` if it holds exactly one complete reply.
    public init?(validating buffer: ByteBuffer) {
        var rest = buffer
        var framer = RESPReplyFramer()
        guard let reply = try? framer.next(from: &rest), rest.readableBytes == 0 else { return nil }
        base = reply
    }

    /// The reply's type byte (`+`, `-`, `:`, `$`, `*`, `_`, `%`, `~`, ...).
    public var marker: UInt8? { base.getInteger(at: base.readerIndex, as: UInt8.self) }

    /// The header line after the type byte (a simple string's text, an error's, a length).
    private var header: (text: ByteBufferView, next: Int)? {
        let view = base.readableBytesView
        guard view.count >= 3, let end = view.dropFirst().firstIndex(of: UInt8(ascii: "\r")) else { return nil }
        return (view[(view.startIndex + 1)..<end], end + 2)
    }

    /// True for an error reply (`-`, or RESP3's blob error `!`).
    public var isError: Bool { marker == UInt8(ascii: "-") || marker == UInt8(ascii: "!") }

    /// An error reply's text (without the `-`; RESP3's blob error's bytes), else nil.
    public var errorText: String? {
        guard let marker, let header else { return nil }
        if marker == UInt8(ascii: "-") { return String(decoding: header.text, as: UTF8.self) }
        guard marker == UInt8(ascii: "!"), let length = Int(String(decoding: header.text, as: UTF8.self)), length >= 0 else { return nil }
        return base.getString(at: header.next, length: length)
    }

    /// A simple string's text, else nil.
    public var simpleText: String? {
        guard marker == UInt8(ascii: "+"), let header else { return nil }
        return String(decoding: header.text, as: UTF8.self)
    }

    /// An integer reply's value, else nil.
    public var integer: Int? {
        guard marker == UInt8(ascii: ":"), let header else { return nil }
        return RedisInteger.parse(header.text)
    }

    /// A bulk string's bytes; nil for a null or any other type.
    public var bulk: ByteBuffer? {
        guard marker == UInt8(ascii: "$"), let header, let length = Int(String(decoding: header.text, as: UTF8.self)),
              length >= 0 else { return nil }
        return base.getSlice(at: header.next, length: length)
    }

    /// A bulk string's bytes as text.
    public var bulkText: String? { bulk.map { String(buffer: $0) } }

    /// Whether the reply is a null (RESP2's `$-1`/`*-1` or RESP3's `_`).
    public var isNull: Bool {
        guard let marker else { return false }
        if marker == UInt8(ascii: "_") { return true }
        guard marker == UInt8(ascii: "$") || marker == UInt8(ascii: "*"), let header else { return false }
        return header.text.elementsEqual("-1".utf8)
    }

    /// An array's, set's or push's elements (a map's as key, value, key, value ...); nil for a
    /// null array or any other type.
    public var elements: [RESPToken]? {
        guard let marker, let header,
              [UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"), UInt8(ascii: "|")].contains(marker),
              var count = Int(String(decoding: header.text, as: UTF8.self)), count >= 0 else { return nil }
        if marker == UInt8(ascii: "%") || marker == UInt8(ascii: "|") { count *= 2 }
        var rest = base
        rest.moveReaderIndex(to: header.next)
        var framer = RESPReplyFramer()
        var out: [RESPToken] = []
        out.reserveCapacity(count)
        for _ in 0..<count {
            guard let element = try? framer.next(from: &rest) else { return nil }
            out.append(RESPToken(element))
        }
        return out
    }
}
