/// DUMP/RESTORE payloads: type byte, value, 2-byte little-endian RDB version, 8-byte
/// little-endian CRC64 of everything before it.
public enum DumpPayload {
    /// The version Dynamis stamps: 9 (Redis 5.0+) is the lowest that has every plain type it
    /// writes, so Redis 5.0 through 7.x RESTORE it.
    public static let writtenVersion: UInt16 = 9
    /// The newest payload this reader understands (Redis 7.2).
    public static let newestReadable: UInt16 = 11

    public static func encode(_ value: RDBValue) -> [UInt8] {
        var out: [UInt8] = [RDBObjectEncoder.typeByte(value)]
        RDBObjectEncoder.value(value, into: &out)
        out.append(UInt8(writtenVersion & 0xff))
        out.append(UInt8(writtenVersion >> 8))
        var crc = out.withUnsafeBytes { CRC64.checksum($0) }.littleEndian
        withUnsafeBytes(of: &crc) { out.append(contentsOf: $0) }
        return out
    }

    public enum Failure: Error, Sendable {
        /// Redis's "version or checksum" refusal.
        case versionOrChecksum
        /// The payload checks out but its contents do not decode.
        case badData(RDBError)
    }

    public static func decode(_ payload: [UInt8]) throws(Failure) -> RDBValue {
        try payload.withUnsafeBytes { raw in Result { () throws(Failure) in try decode(raw) } }.get()
    }

    public static func decode(_ payload: UnsafeRawBufferPointer) throws(Failure) -> RDBValue {
        guard payload.count >= 11 else { throw .versionOrChecksum }
        let footer = payload.count - 10
        let version = UInt16(payload[footer]) | UInt16(payload[footer + 1]) << 8
        guard version <= newestReadable else { throw .versionOrChecksum }
        let stored = UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: footer + 2, as: UInt64.self))
        guard CRC64.checksum(UnsafeRawBufferPointer(rebasing: payload[..<(footer + 2)])) == stored else {
            throw .versionOrChecksum
        }
        var cursor = RDBCursor(UnsafeRawBufferPointer(rebasing: payload[..<footer]))
        do throws(RDBError) {
            let value = try RDBObjectDecoder.decode(type: try cursor.byte(), &cursor)
            guard cursor.atEnd else { throw RDBError("\(footer - cursor.position) trailing bytes after the value", at: cursor.offset) }
            return value
        } catch {
            throw .badData(error)
        }
    }
}
