/// Builds an RDB file in plain encodings, version 9, chunk by chunk: `drain` hands out what
/// is ready so a caller can stream a large snapshot to disk, and the CRC64 runs as it goes.
public struct RDBFileWriter {
    public static let version = 9
    private var buffer: [UInt8] = []
    private var crc = CRC64()
    private var finished = false

    public init(aux: [(String, String)] = []) {
        buffer.append(contentsOf: Array("REDIS000\(Self.version)".utf8))
        for (key, value) in aux {
            buffer.append(0xfa)
            RDBObjectEncoder.string(Array(key.utf8), into: &buffer)
            RDBObjectEncoder.string(Array(value.utf8), into: &buffer)
        }
        buffer.append(0xfe)
        RDBObjectEncoder.length(0, into: &buffer)
    }

    public mutating func append(_ entry: RDBEntry) {
        if let expireAt = entry.expireAtMillis {
            buffer.append(0xfc)
            var le = expireAt.littleEndian
            withUnsafeBytes(of: &le) { buffer.append(contentsOf: $0) }
        }
        buffer.append(RDBObjectEncoder.typeByte(entry.value))
        RDBObjectEncoder.string(entry.key, into: &buffer)
        RDBObjectEncoder.value(entry.value, into: &buffer)
    }

    /// Adds the EOF opcode and the checksum; `drain` then returns the last bytes.
    public mutating func finish() {
        precondition(!finished)
        buffer.append(0xff)
        crc.update(buffer)
        var le = crc.value.littleEndian
        withUnsafeBytes(of: &le) { buffer.append(contentsOf: $0) }
        finished = true
    }

    public var pendingBytes: Int { buffer.count }

    /// Takes the bytes written so far.
    public mutating func drain() -> [UInt8] {
        if !finished { crc.update(buffer) }
        defer { buffer.removeAll(keepingCapacity: true) }
        return buffer
    }
}
