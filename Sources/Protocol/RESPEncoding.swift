import NIOCore

/// Writes requests in RESP's multibulk form (what a peer or a backend parses).
public enum RESPEncoding {
    @inlinable
    public static func request<C: Collection>(_ arguments: C, into out: inout ByteBuffer) where C.Element == ByteBuffer {
        out.writeInteger(UInt8(ascii: "*"))
        decimal(arguments.count, into: &out)
        out.writeStaticString("\r\n")
        for var argument in arguments {
            out.writeInteger(UInt8(ascii: "$"))
            decimal(argument.readableBytes, into: &out)
            out.writeStaticString("\r\n")
            out.writeBuffer(&argument)
            out.writeStaticString("\r\n")
        }
    }

    @inlinable
    public static func decimal(_ value: Int, into out: inout ByteBuffer) {
        if value >= 0 && value < 10 {
            out.writeInteger(UInt8(truncatingIfNeeded: value) &+ 48)
            return
        }
        _ = DecimalText.with(value) { out.writeBytes($0) }
    }
}
