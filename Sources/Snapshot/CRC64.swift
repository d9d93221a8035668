/// Redis's CRC-64 (Jones polynomial, reflected in and out, no final xor): the RDB footer and
/// the DUMP payload checksum.
public struct CRC64: Sendable {
    public private(set) var value: UInt64

    public init(_ seed: UInt64 = 0) { value = seed }

    /// Eight tables for slicing-by-8: checksumming a multi-gigabyte RDB before importing it
    /// should cost well under a second per gigabyte.
    private static let tables: [[UInt64]] = {
        let reflected: UInt64 = 0x95ac_9329_ac4b_c9b5  // 0xad93d23594c935a9 bit-reversed
        var t = [[UInt64]](repeating: [UInt64](repeating: 0, count: 256), count: 8)
        for i in 0..<256 {
            var crc = UInt64(i)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ reflected : crc >> 1 }
            t[0][i] = crc
        }
        for i in 0..<256 {
            for k in 1..<8 { t[k][i] = (t[k - 1][i] >> 8) ^ t[0][Int(t[k - 1][i] & 0xff)] }
        }
        return t
    }()

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var crc = value
        Self.tables.withUnsafeBufferPointer { tables in
            let t0 = tables[0], t1 = tables[1], t2 = tables[2], t3 = tables[3]
            let t4 = tables[4], t5 = tables[5], t6 = tables[6], t7 = tables[7]
            var i = 0
            let n = bytes.count
            while i + 8 <= n {
                let word = crc ^ UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                crc = t7[Int(word & 0xff)] ^ t6[Int((word >> 8) & 0xff)] ^ t5[Int((word >> 16) & 0xff)]
                    ^ t4[Int((word >> 24) & 0xff)] ^ t3[Int((word >> 32) & 0xff)] ^ t2[Int((word >> 40) & 0xff)]
                    ^ t1[Int((word >> 48) & 0xff)] ^ t0[Int(word >> 56)]
                i += 8
            }
            while i < n {
                crc = t0[Int((crc ^ UInt64(bytes[i])) & 0xff)] ^ (crc >> 8)
                i += 1
            }
        }
        value = crc
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var crc = CRC64()
        crc.update(bytes)
        return crc.value
    }
}
