import NIOCore

/// Splits a stream of RESP2/RESP3 replies (from a backend) into one slice per complete reply,
/// without decoding values: replies are forwarded to clients as the bytes they arrived as.
///
/// Resumable: a large aggregate reply arriving in many reads is scanned once. The scan
/// position and the count of elements still expected at each nesting level are kept between
/// calls; the reader index stays at the reply's first byte until the reply is complete.
public struct RESPReplyFramer: Sendable {
    /// Bytes of the current reply already scanned, relative to its first byte.
    private var scanned = 0
    /// Elements still expected at each open aggregate level.
    private var remaining: [Int] = []

    public init() {}

    public struct Malformed: Error, Equatable, Sendable {
        public let byte: UInt8
    }

    /// The next complete reply, or nil when more bytes are needed.
    public mutating func next(from buffer: inout ByteBuffer) throws(Malformed) -> ByteBuffer? {
        let available = buffer.readableBytes
        while true {
            guard scanned < available else { return nil }
            let start = buffer.readerIndex + scanned
            let marker = buffer.getInteger(at: start, as: UInt8.self)!
            guard let lineEnd = lineEnd(buffer, from: scanned + 1) else { return nil }
            var next = lineEnd + 2
            switch marker {
            case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "_"),
                 UInt8(ascii: ","), UInt8(ascii: "#"), UInt8(ascii: "("):
                break
            case UInt8(ascii: "$"), UInt8(ascii: "="), UInt8(ascii: "!"):
                let length = integer(buffer, from: scanned + 1, to: lineEnd)
                if length >= 0 {
                    // A length no buffer could hold is a broken stream, not a reason to trap.
                    guard length <= Int.max - 2 - next else { throw Malformed(byte: marker) }
                    next += length + 2
                    guard next <= available else { return nil }
                }
            case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"), UInt8(ascii: "|"):
                var count = integer(buffer, from: scanned + 1, to: lineEnd)
                if marker == UInt8(ascii: "%") || marker == UInt8(ascii: "|") {
                    let (pairs, overflow) = count.multipliedReportingOverflow(by: 2)
                    guard !overflow else { throw Malformed(byte: marker) }
                    count = pairs
                }
                scanned = next
                if count > 0 {
                    remaining.append(count)
                    continue
                }
            default:
                throw Malformed(byte: marker)
            }
            scanned = next
            // One element done: close every aggregate it completes.
            while let last = remaining.last {
                if last > 1 {
                    remaining[remaining.count - 1] = last - 1
                    break
                }
                remaining.removeLast()
            }
            if remaining.isEmpty {
                let reply = buffer.readSlice(length: scanned)!
                scanned = 0
                return reply
            }
        }
    }

    private func lineEnd(_ buffer: ByteBuffer, from: Int) -> Int? {
        buffer.withUnsafeReadableBytes { bytes in
            var i = from
            while i + 1 < bytes.count {
                if bytes[i] == 13 && bytes[i + 1] == 10 { return i }
                i += 1
            }
            return nil
        }
    }

    private func integer(_ buffer: ByteBuffer, from: Int, to: Int) -> Int {
        buffer.withUnsafeReadableBytes { bytes in
            RedisInteger.parse(UnsafeRawBufferPointer(rebasing: bytes[from..<to])) ?? -1
        }
    }
}
