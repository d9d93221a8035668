import Snapshot
import Testing

@Suite("RDB and JSON Lines codecs")
struct SnapshotCodecTests {
    let sample: [RDBEntry] = [
        RDBEntry(key: Array("s".utf8), value: .string(Array("hello".utf8))),
        RDBEntry(key: Array("n".utf8), value: .string(Array("-12345".utf8)), expireAtMillis: 4_102_444_800_000),
        RDBEntry(key: [0, 0xff, 0x0a], value: .string([0xde, 0xad, 0xbe, 0xef])),
        RDBEntry(key: Array("l".utf8), value: .list([Array("a".utf8), [], Array("007".utf8), [0x80]])),
        RDBEntry(key: Array("set".utf8), value: .set([Array("x".utf8), Array("1".utf8)])),
        RDBEntry(key: Array("h".utf8), value: .hash([RDBField(field: Array("f\"q".utf8), value: Array("v\n".utf8))])),
        RDBEntry(key: Array("z".utf8), value: .zset([RDBScoredMember(member: Array("a".utf8), score: 1.5),
                                                      RDBScoredMember(member: Array("b".utf8), score: -.infinity),
                                                      RDBScoredMember(member: Array("c".utf8), score: 1e300)])),
    ]

    @Test func crc64MatchesRedisSelfTestVector() {
        let crc = Array("123456789".utf8).withUnsafeBytes { CRC64.checksum($0) }
        #expect(crc == 0xe9c6_d914_c4b8_d9ca)
        // Slicing-by-8 and the byte loop agree across lengths that are not multiples of 8.
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var split = CRC64()
        split.update(Array(data[..<333]))
        split.update(Array(data[333...]))
        #expect(split.value == data.withUnsafeBytes { CRC64.checksum($0) })
    }

    @Test func lzfDecodesLiteralsAndOverlappingBackReferences() {
        // Literal "ab", then a back-reference of length 5 at distance 2: "ab" + "ababa".
        let compressed: [UInt8] = [0x01, UInt8(ascii: "a"), UInt8(ascii: "b"), 0x60, 0x01]
        let out = compressed.withUnsafeBytes { LZF.decompress($0, length: 7) }
        #expect(out.map { String(decoding: $0, as: UTF8.self) } == "abababa")
        // A reference before the start of the output is corrupt.
        #expect([UInt8]([0x60, 0x05]).withUnsafeBytes { LZF.decompress($0, length: 5) } == nil)
    }

    @Test func rdbFileRoundTrip() throws {
        var writer = RDBFileWriter(aux: [("redis-ver", "7.0.0")])
        for e in sample { writer.append(e) }
        writer.finish()
        let file = writer.drain()
        #expect(file.starts(with: Array("REDIS0009".utf8)))
        let back = try file.withUnsafeBytes { raw in
            var reader = try RDBFileReader(raw)
            var out: [RDBEntry] = []
            while let next = try reader.next() { out.append(next.entry) }
            return out
        }
        #expect(back.count == sample.count)
        for (a, b) in zip(back, sample) {
            #expect(a.key == b.key)
            #expect(a.expireAtMillis == b.expireAtMillis)
            if case .zset(let m) = a.value, case .zset(let n) = b.value {
                #expect(Set(m.map(\.member)) == Set(n.map(\.member)))
                #expect(m.count == n.count)
            } else {
                #expect(a.value == b.value)
            }
        }
    }

    @Test func dumpPayloadRoundTripAndChecks() throws {
        for e in sample {
            let payload = DumpPayload.encode(e.value)
            let back = try payload.withUnsafeBytes { try DumpPayload.decode($0) }
            #expect(back.count == e.value.count)
            var corrupt = payload
            corrupt[0] ^= 0x40
            #expect(throws: DumpPayload.Failure.self) { try corrupt.withUnsafeBytes { try DumpPayload.decode($0) } }
        }
    }

    @Test func corruptFilesAreRefusedWithAnOffset() {
        var writer = RDBFileWriter()
        for e in sample { writer.append(e) }
        writer.finish()
        let file = writer.drain()
        func read(_ bytes: [UInt8]) -> RDBError? {
            do {
                try bytes.withUnsafeBytes { raw in
                    var reader = try RDBFileReader(raw)
                    while try reader.next() != nil {}
                }
                return nil
            } catch let error as RDBError {
                return error
            } catch {
                return RDBError("unexpected \(error)", at: -1)
            }
        }
        #expect(read(file) == nil)
        let truncated = read(Array(file.dropLast(20)))
        #expect(truncated?.message.contains("truncated") == true)
        var flipped = file
        flipped[30] ^= 1
        #expect(read(flipped)?.message.contains("checksum mismatch") == true)
        // An unknown type byte, with the checksum made valid again so the parser meets it.
        var unknown = Array(file.prefix(9)) + [0xfe, 0x00, 0x42, 0x01, UInt8(ascii: "k"), 0xff]
        let crc = unknown.withUnsafeBytes { CRC64.checksum($0) }
        withUnsafeBytes(of: crc.littleEndian) { unknown.append(contentsOf: $0) }
        let error = read(unknown)
        #expect(error?.message.contains("unknown RDB value type 66") == true)
        #expect(error?.offset == 11)
        #expect(read(Array("REDIS0012".utf8) + [0xff] + [UInt8](repeating: 0, count: 8))?.message.contains("version 12") == true)
    }

    @Test func jsonLinesRoundTripIncludingBinary() throws {
        for e in sample {
            var line: [UInt8] = []
            JSONLines.encode(e, into: &line)
            #expect(line.last == UInt8(ascii: "\n"))
            let back = try line.dropLast().withUnsafeBytes { try JSONLines.decode($0, lineNumber: 1) }
            #expect(back == e)
        }
        let bad = Array(#"{"key":"k","type":"hash","value":[["f"]]}"#.utf8)
        #expect(throws: RDBError.self) { try bad.withUnsafeBytes { try JSONLines.decode($0, lineNumber: 7) } }
    }

    @Test func validationRefusesEmptyAndDuplicateCollections() {
        #expect(RDBObjectDecoder.validate(.set([])) != nil)
        #expect(RDBObjectDecoder.validate(.set([[1], [1]])) != nil)
        #expect(RDBObjectDecoder.validate(.hash([RDBField(field: [1], value: [2])])) == nil)
    }
}
