/// Reads RDB primitives (lengths, strings, fixed-width integers) from a byte range, throwing
/// an `RDBError` with the absolute offset on truncation or a bad encoding.
public struct RDBCursor {
    public let bytes: UnsafeRawBufferPointer
    public var position: Int
    /// Offset of `bytes[0]` in the whole file, for error messages.
    public let base: Int

    public init(_ bytes: UnsafeRawBufferPointer, position: Int = 0, base: Int = 0) {
        self.bytes = bytes
        self.position = position
        self.base = base
    }

    public var offset: Int { base + position }
    public var atEnd: Bool { position >= bytes.count }

    func fail(_ message: String) -> RDBError { RDBError(message, at: offset) }

    mutating func need(_ n: Int) throws(RDBError) {
        guard n >= 0, n <= bytes.count - position else {
            throw fail("unexpected end of data (needed \(n) more bytes, \(bytes.count - position) left)")
        }
    }

    public mutating func byte() throws(RDBError) -> UInt8 {
        try need(1)
        defer { position += 1 }
        return bytes[position]
    }

    public mutating func littleEndian<T: FixedWidthInteger>(_: T.Type) throws(RDBError) -> T {
        try need(MemoryLayout<T>.size)
        defer { position += MemoryLayout<T>.size }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
    }

    public mutating func bigEndian<T: FixedWidthInteger>(_: T.Type) throws(RDBError) -> T {
        try need(MemoryLayout<T>.size)
        defer { position += MemoryLayout<T>.size }
        return T(bigEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
    }

    public mutating func raw(_ n: Int) throws(RDBError) -> UnsafeRawBufferPointer {
        try need(n)
        defer { position += n }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + n)])
    }

    /// A length, or (encoded = true) a special string encoding's selector.
    public mutating func lengthOrEncoding() throws(RDBError) -> (value: Int, encoded: Bool) {
        let first = try byte()
        switch first >> 6 {
        case 0: return (Int(first & 0x3f), false)
        case 1: return ((Int(first & 0x3f) << 8) | Int(try byte()), false)
        case 2:
            if first == 0x80 { return (Int(try bigEndian(UInt32.self)), false) }
            if first == 0x81 {
                let v = try bigEndian(UInt64.self)
                guard v <= UInt64(Int.max) else { throw fail("length \(v) is too large") }
                return (Int(v), false)
            }
            throw fail("unknown length encoding byte 0x\(String(first, radix: 16))")
        default: return (Int(first & 0x3f), true)
        }
    }

    public mutating func length() throws(RDBError) -> Int {
        let start = position
        let (value, encoded) = try lengthOrEncoding()
        if encoded {
            position = start
            throw fail("expected a length, found a string encoding")
        }
        return value
    }

    /// A length used as an element count: bounded by the bytes left, so a corrupt count
    /// cannot make a reader reserve gigabytes.
    mutating func count() throws(RDBError) -> Int {
        let n = try length()
        guard n <= bytes.count - position else { throw fail("element count \(n) exceeds the data left") }
        return n
    }

    /// A string: raw, integer-encoded or LZF-compressed.
    public mutating func string() throws(RDBError) -> [UInt8] {
        let (value, encoded) = try lengthOrEncoding()
        guard encoded else { return Array(try raw(value)) }
        switch value {
        case 0: return Array(String(Int8(bitPattern: try byte())).utf8)
        case 1: return Array(String(try littleEndian(Int16.self)).utf8)
        case 2: return Array(String(try littleEndian(Int32.self)).utf8)
        case 3:
            let compressed = try length()
            let original = try length()
            let at = offset
            let data = try raw(compressed)
            // LZF expands a byte at most ~88-fold (a 3-byte back-reference yields up to 264): a
            // declared length beyond that is corrupt, and must not be allocated before decoding.
            guard original <= 1 << 32, original <= compressed &* 100 &+ 64, let out = LZF.decompress(data, length: original) else {
                throw RDBError("corrupt LZF-compressed string", at: at)
            }
            return out
        default:
            throw fail("unknown string encoding \(value)")
        }
    }

    /// A legacy text double (ZSET type 3): a length byte, with 253/254/255 for nan/+inf/-inf.
    mutating func textDouble() throws(RDBError) -> Double {
        let n = try byte()
        switch n {
        case 253: return .nan
        case 254: return .infinity
        case 255: return -.infinity
        default:
            let text = String(decoding: try raw(Int(n)), as: UTF8.self)
            guard let d = Double(text) else { throw fail("bad double '\(text)'") }
            return d
        }
    }
}

/// `withUnsafeBytes` with a typed error (the standard one rethrows `any Error`).
func withRawBytes<R>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(RDBError) -> R) throws(RDBError) -> R {
    let result: Result<R, RDBError> = array.withUnsafeBytes { raw in
        do throws(RDBError) { return .success(try body(raw)) } catch { return .failure(error) }
    }
    return try result.get()
}
