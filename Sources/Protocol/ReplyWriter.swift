import NIOCore

/// Writes replies in the connection's protocol (RESP2, or RESP3 after `HELLO 3`) straight
/// into an outgoing `ByteBuffer`.
public struct ReplyWriter: Sendable {
    public var buffer: ByteBuffer
    public var resp3: Bool

    public init(buffer: ByteBuffer, resp3: Bool = false) {
        self.buffer = buffer
        self.resp3 = resp3
    }

    @inlinable
    public mutating func ok() { buffer.writeStaticString("+OK\r\n") }

    @inlinable
    public mutating func simple(_ text: StaticString) {
        buffer.writeInteger(UInt8(ascii: "+"))
        buffer.writeStaticString(text)
        buffer.writeStaticString("\r\n")
    }

    public mutating func simple(_ text: String) {
        buffer.writeInteger(UInt8(ascii: "+"))
        buffer.writeString(text)
        buffer.writeStaticString("\r\n")
    }

    /// An error reply; `text` is the whole message including its code (`ERR ...`, `WRONGTYPE ...`).
    public mutating func error(_ text: String) {
        error(bytes: text.utf8)
    }

    /// An error reply from raw bytes (e.g. echoing a client's binary command name). CR and LF
    /// are replaced by spaces, as Redis does, so the reply stays one line.
    public mutating func error<Bytes: Sequence>(bytes: Bytes) where Bytes.Element == UInt8 {
        buffer.writeInteger(UInt8(ascii: "-"))
        for byte in bytes {
            buffer.writeInteger(byte == 13 || byte == 10 ? UInt8(ascii: " ") : byte)
        }
        buffer.writeStaticString("\r\n")
    }

    @inlinable
    public mutating func error(_ text: StaticString) {
        buffer.writeInteger(UInt8(ascii: "-"))
        buffer.writeStaticString(text)
        buffer.writeStaticString("\r\n")
    }

    @inlinable
    public mutating func integer(_ value: Int) {
        buffer.writeInteger(UInt8(ascii: ":"))
        writeDecimal(value)
        buffer.writeStaticString("\r\n")
    }

    @inlinable
    public mutating func bulk(_ value: ByteBuffer) {
        bulkHeader(value.readableBytes)
        var value = value
        buffer.writeBuffer(&value)
        buffer.writeStaticString("\r\n")
    }

    @inlinable
    public mutating func bulk(_ bytes: UnsafeRawBufferPointer) {
        bulkHeader(bytes.count)
        buffer.writeBytes(bytes)
        buffer.writeStaticString("\r\n")
    }

    public mutating func bulk<Bytes: Sequence>(bytes: Bytes) where Bytes.Element == UInt8 {
        let array = Array(bytes)
        bulkHeader(array.count)
        buffer.writeBytes(array)
        buffer.writeStaticString("\r\n")
    }

    public mutating func bulk(_ text: String) {
        bulkHeader(text.utf8.count)
        buffer.writeString(text)
        buffer.writeStaticString("\r\n")
    }

    /// A verbatim-string in RESP3 (`=`), a bulk string in RESP2: used for INFO and similar.
    public mutating func verbatim(_ text: String) {
        if resp3 {
            buffer.writeInteger(UInt8(ascii: "="))
            writeDecimal(text.utf8.count + 4)
            buffer.writeStaticString("\r\ntxt:")
            buffer.writeString(text)
            buffer.writeStaticString("\r\n")
        } else {
            bulk(text)
        }
    }

    /// A double already formatted as Redis formats it (`%.17g`, `inf`, `-inf`): `,text` in
    /// RESP3, a bulk string in RESP2 (Redis 7.0's `addReplyDouble`).
    public mutating func double(_ text: String) {
        if resp3 {
            buffer.writeInteger(UInt8(ascii: ","))
            buffer.writeString(text)
            buffer.writeStaticString("\r\n")
        } else {
            bulk(text)
        }
    }

    @inlinable
    public mutating func bulkHeader(_ length: Int) {
        buffer.writeInteger(UInt8(ascii: "$"))
        writeDecimal(length)
        buffer.writeStaticString("\r\n")
    }

    /// The null reply: `$-1` in RESP2, `_` in RESP3.
    @inlinable
    public mutating func null() {
        if resp3 { buffer.writeStaticString("_\r\n") } else { buffer.writeStaticString("$-1\r\n") }
    }

    /// The null array: `*-1` in RESP2, `_` in RESP3.
    @inlinable
    public mutating func nullArray() {
        if resp3 { buffer.writeStaticString("_\r\n") } else { buffer.writeStaticString("*-1\r\n") }
    }

    @inlinable
    public mutating func arrayHeader(_ count: Int) {
        buffer.writeInteger(UInt8(ascii: "*"))
        writeDecimal(count)
        buffer.writeStaticString("\r\n")
    }

    /// A map of `count` pairs: `%` in RESP3, a flat array of 2×count in RESP2.
    public mutating func mapHeader(_ count: Int) {
        if resp3 {
            buffer.writeInteger(UInt8(ascii: "%"))
            writeDecimal(count)
            buffer.writeStaticString("\r\n")
        } else {
            arrayHeader(count * 2)
        }
    }

    /// A set: `~` in RESP3, an array in RESP2.
    public mutating func setHeader(_ count: Int) {
        if resp3 {
            buffer.writeInteger(UInt8(ascii: "~"))
            writeDecimal(count)
            buffer.writeStaticString("\r\n")
        } else {
            arrayHeader(count)
        }
    }

    @inlinable
    mutating func writeDecimal(_ value: Int) {
        if value >= 0 && value < 10 {
            buffer.writeInteger(UInt8(truncatingIfNeeded: value) &+ 48)
            return
        }
        _ = DecimalText.with(value) { buffer.writeBytes($0) }
    }
}

/// The decimal text of an integer, produced without going through `String`.
public enum DecimalText {
    @inlinable
    public static func with<R>(_ value: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        var magnitude = value.magnitude
        // 20 digits plus a sign is the widest Int64.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 21) { digits in
            var i = 21
            repeat {
                i -= 1
                digits[i] = UInt8(truncatingIfNeeded: magnitude % 10) &+ 48
                magnitude /= 10
            } while magnitude > 0
            if value < 0 {
                i -= 1
                digits[i] = UInt8(ascii: "-")
            }
            return body(UnsafeRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(digits)[i..<21]))
        }
    }
}
