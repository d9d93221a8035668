/// Parses a whole RDB file (versions 1 through 11) held in memory or mapped, key by key.
/// The CRC64 footer is checked before the first key is handed out, so a corrupt file imports
/// nothing.
public struct RDBFileReader {
    public static let newestVersion = 11

    public let bytes: UnsafeRawBufferPointer
    public private(set) var version = 0
    /// AUX fields seen so far (`redis-ver`, `ctime`, ...).
    public private(set) var aux: [(String, String)] = []
    /// The database of the entries being read (SELECTDB).
    public private(set) var database = 0
    /// Function libraries (Redis 7 FUNCTION2) skipped; Dynamis has no functions.
    public private(set) var skippedFunctions = 0
    private var cursor: RDBCursor

    public init(_ bytes: UnsafeRawBufferPointer) throws(RDBError) {
        self.bytes = bytes
        cursor = RDBCursor(bytes)
        let magic = Array(try cursor.raw(5))
        guard magic == Array("REDIS".utf8) else {
            throw RDBError("not an RDB file (it does not start with 'REDIS')", at: 0)
        }
        let digits = String(decoding: try cursor.raw(4), as: UTF8.self)
        guard let v = Int(digits) else { throw RDBError("bad RDB version '\(digits)'", at: 5) }
        guard v >= 1, v <= Self.newestVersion else {
            throw RDBError("RDB version \(v) is not supported (Dynamis reads versions 1 to \(Self.newestVersion): Redis up to 7.2)", at: 5)
        }
        version = v
        try verifyChecksum()
    }

    /// Finds the EOF opcode by walking the file without decoding values, then compares the
    /// footer's CRC64 (0 = written without a checksum).
    private func verifyChecksum() throws(RDBError) {
        guard version >= 5 else { return }
        guard bytes.count >= 9 + 1 + 8 else { throw RDBError("file is truncated (no EOF marker)", at: bytes.count) }
        let end = bytes.count - 8
        guard bytes[end - 1] == 0xff else {
            throw RDBError("file is truncated or has trailing bytes (no EOF marker before the 8-byte checksum)", at: end - 1)
        }
        let stored = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: end, as: UInt64.self))
        if stored == 0 { return }
        let computed = CRC64.checksum(UnsafeRawBufferPointer(rebasing: bytes[..<end]))
        guard computed == stored else {
            throw RDBError("checksum mismatch: the footer says 0x\(String(stored, radix: 16)), the contents give 0x\(String(computed, radix: 16))", at: end)
        }
    }

    /// The next key, or nil at the EOF opcode. `offset` is where the key's record began.
    public mutating func next() throws(RDBError) -> (entry: RDBEntry, database: Int, offset: Int)? {
        var expireAt: Int64?
        var start = cursor.offset
        while true {
            let opcode = try cursor.byte()
            switch opcode {
            case 0xff:
                return nil
            case 0xfa:
                let key = try cursor.string()
                let value = try cursor.string()
                aux.append((String(decoding: key, as: UTF8.self), String(decoding: value, as: UTF8.self)))
            case 0xfe: database = try cursor.length()
            case 0xfb: _ = (try cursor.length(), try cursor.length())
            case 0xfc: expireAt = try cursor.littleEndian(Int64.self)
            case 0xfd: expireAt = Int64(try cursor.littleEndian(UInt32.self)) * 1000
            case 0xf8: _ = try cursor.length()
            case 0xf9: _ = try cursor.byte()
            case 0xf5:
                _ = try cursor.string()
                skippedFunctions += 1
            case 0xf4: _ = (try cursor.length(), try cursor.length(), try cursor.length())
            case 0xf6: throw RDBError("pre-release Redis 7.0 function records (opcode 0xF6) are not supported", at: cursor.offset - 1)
            case 0xf7: throw RDBError("module auxiliary data (opcode 0xF7) is not supported", at: cursor.offset - 1)
            default:
                try RDBObjectDecoder.checkSupported(type: opcode, at: cursor.offset - 1)
                let key = try cursor.string()
                let value = try RDBObjectDecoder.decode(type: opcode, &cursor)
                return (RDBEntry(key: key, value: value, expireAtMillis: expireAt), database, start)
            }
            if opcode != 0xfc, opcode != 0xfd, opcode != 0xf8, opcode != 0xf9 { start = cursor.offset }
        }
    }

    /// Bytes read so far (for progress).
    public var position: Int { cursor.position }
}
