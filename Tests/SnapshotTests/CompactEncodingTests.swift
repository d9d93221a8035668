import Snapshot
import Testing

/// Compact encodings older or newer Redis versions write (ziplists from Redis ≤ 6.2, the set
/// listpack from 7.2), built here byte by byte from the format description, since the local
/// redis-server (7.0) writes neither.
@Suite("Compact RDB encodings")
struct CompactEncodingTests {
    static func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xff) } }
    static func le16(_ v: Int) -> [UInt8] { (0..<2).map { UInt8((v >> (8 * $0)) & 0xff) } }

    /// A ziplist from already-encoded entries (encoding header + data, no prevlen).
    static func ziplist(_ entries: [[UInt8]]) -> [UInt8] {
        var body: [UInt8] = []
        var previous = 0
        var tail = 10
        for entry in entries {
            tail = 10 + body.count
            let prevlen: [UInt8] = previous < 254 ? [UInt8(previous)] : [0xfe] + le32(previous)
            body += prevlen + entry
            previous = prevlen.count + entry.count
        }
        let total = 10 + body.count + 1
        return le32(total) + le32(tail) + le16(entries.count) + body + [0xff]
    }

    /// A listpack from encoded entries (encoding + data), adding each back-length.
    static func listpack(_ entries: [[UInt8]]) -> [UInt8] {
        var body: [UInt8] = []
        for entry in entries {
            body += entry
            let n = entry.count
            // Back-length: 7-bit groups, most significant first, high bit set on all but the last.
            if n < 128 { body.append(UInt8(n)) } else { body += [UInt8(n >> 7), UInt8(n & 127) | 128] }
        }
        let total = 6 + body.count + 1
        return le32(total) + le16(entries.count) + body + [0xff]
    }

    /// A length-prefixed RDB string (raw, short lengths only).
    static func rdbString(_ bytes: [UInt8]) -> [UInt8] {
        precondition(bytes.count < 16384)
        return bytes.count < 64 ? [UInt8(bytes.count)] + bytes : [0x40 | UInt8(bytes.count >> 8), UInt8(bytes.count & 0xff)] + bytes
    }

    /// A DUMP payload of `type` + `body` stamped with `version`.
    static func payload(_ type: UInt8, _ body: [UInt8], version: Int) -> [UInt8] {
        var p = [type] + body + le16(version)
        let crc = p.withUnsafeBytes { CRC64.checksum($0) }
        p += (0..<8).map { UInt8((crc >> (8 * UInt64($0))) & 0xff) }
        return p
    }

    static func s(_ text: String) -> [UInt8] { Array(text.utf8) }

    let zipEntries: [[UInt8]] = [
        [0x01] + Array("a".utf8),                    // 6-bit string
        [0xfd],                                      // immediate 12
        [0xf1],                                      // immediate 0
        [0xfe, 0xfb],                                // int8 -5
        [0xc0] + le16(-300 & 0xffff),                // int16
        [0xf0, 0xa0, 0x86, 0x01],                    // int24 100000
        [0xd0] + le32(-2_000_000_000 & 0xffff_ffff), // int32
        [0xe0] + le32(0) + le32(1),                  // int64 2^32
        [0x40, 100] + [UInt8](repeating: 0x7a, count: 100),  // 14-bit string length
    ]
    let zipValues: [[UInt8]] = ["a", "12", "0", "-5", "-300", "100000", "-2000000000", "4294967296"].map { Array($0.utf8) }
        + [[UInt8](repeating: 0x7a, count: 100)]

    @Test func listZiplistAndQuicklist() throws {
        let blob = Self.ziplist(zipEntries)
        let v9 = try DumpPayload.decode(Self.payload(10, Self.rdbString(blob), version: 9))
        #expect(v9 == .list(zipValues))
        // Quicklist (RDB type 14): two ziplist nodes.
        let half = Self.ziplist(Array(zipEntries.prefix(4)))
        let rest = Self.ziplist(Array(zipEntries.dropFirst(4)))
        let quick = try DumpPayload.decode(Self.payload(14, [2] + Self.rdbString(half) + Self.rdbString(rest), version: 9))
        #expect(quick == .list(zipValues))
    }

    @Test func hashAndSortedSetZiplists() throws {
        let hash = Self.ziplist([[0x01] + Self.s("f"), [0xfd], [0x02] + Self.s("g2"), [0x02] + Self.s("vv")])
        #expect(try DumpPayload.decode(Self.payload(13, Self.rdbString(hash), version: 9))
                == .hash([RDBField(field: Self.s("f"), value: Self.s("12")), RDBField(field: Self.s("g2"), value: Self.s("vv"))]))
        let zset = Self.ziplist([[0x01] + Self.s("a"), [0xf2], [0x01] + Self.s("b"), [0x03] + Self.s("2.5"), [0x01] + Self.s("c"), [0x04] + Self.s("-inf")])
        #expect(try DumpPayload.decode(Self.payload(12, Self.rdbString(zset), version: 9))
                == .zset([RDBScoredMember(member: Self.s("a"), score: 1), RDBScoredMember(member: Self.s("b"), score: 2.5),
                          RDBScoredMember(member: Self.s("c"), score: -.infinity)]))
    }

    @Test func redis72SetListpackAndQuicklist2() throws {
        let entries: [[UInt8]] = [
            [0x05],                                           // 7-bit uint
            [0x82] + Self.s("ab"),                            // 6-bit string
            [0xdf, 0x9c],                                     // 13-bit int -100
            [0xf1] + Self.le16(1000),                         // int16
            [0xf2, 0x60, 0x79, 0xfe],                         // int24 -100000
            [0xf3] + Self.le32(70000),                        // int32
            [0xf4] + Self.le32(0) + Self.le32(2),             // int64 2^33
            [0xe0, 200] + [UInt8](repeating: 0x71, count: 200),  // 12-bit string, two-byte back-length
        ]
        let values: [[UInt8]] = ["5", "ab", "-100", "1000", "-100000", "70000", "8589934592"].map { Array($0.utf8) }
            + [[UInt8](repeating: 0x71, count: 200)]
        let blob = Self.listpack(entries)
        #expect(try DumpPayload.decode(Self.payload(20, Self.rdbString(blob), version: 11)) == .set(values))
        // Quicklist 2 (type 18): a PLAIN node holding one raw element, then a PACKED listpack.
        let q2 = [2, 1] + Self.rdbString(Self.s("plain")) + [2] + Self.rdbString(blob)
        #expect(try DumpPayload.decode(Self.payload(18, q2, version: 10)) == .list([Self.s("plain")] + values))
        // Version 12 (Redis 7.4) is refused like Redis refuses a newer payload.
        #expect(throws: DumpPayload.Failure.self) { try DumpPayload.decode(Self.payload(20, Self.rdbString(blob), version: 12)) }
    }

    @Test func malformedCompactBlobsAreBadDataNotCrashes() {
        var blob = Self.ziplist(zipEntries)
        blob[8] = 50  // the declared entry count no longer matches
        #expect(throws: DumpPayload.Failure.self) { try DumpPayload.decode(Self.payload(10, Self.rdbString(blob), version: 9)) }
        let truncated = Array(Self.listpack([[0x82] + Self.s("ab")]).dropLast(2))
        #expect(throws: DumpPayload.Failure.self) { try DumpPayload.decode(Self.payload(20, Self.rdbString(truncated), version: 11)) }
        #expect(throws: DumpPayload.Failure.self) { try DumpPayload.decode(Self.payload(11, Self.rdbString([4, 0, 0, 0, 9, 0, 0, 0]), version: 9)) }
        #expect(throws: DumpPayload.Failure.self) { try DumpPayload.decode(Self.payload(15, Self.rdbString([1]), version: 9)) }
    }
}
