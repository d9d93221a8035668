import Foundation
import NIOCore
import Protocol
import TestSupport
import Testing
@testable import Engines

/// Anti-entropy's reads (DYNAMIS.DIGEST, DYNAMIS.KEYVERSIONS): two copies that hold the same
/// versions digest the same whatever order their writes came in, one differing key changes
/// exactly its own segment, and key lists page through any number of keys.
@Suite(.timeLimit(.minutes(2)))
struct RangeDigestTests {
    /// Two engines in temporary directories.
    func withEngines(_ body: (EngineHarness, EngineHarness) throws -> Void) throws {
        let a = TemporaryDirectory("digest-a"), b = TemporaryDirectory("digest-b")
        defer { a.remove(); b.remove() }
        let first = try openEngine(a.path), second = try openEngine(b.path)
        defer { first.shutdown(); second.shutdown() }
        try body(EngineHarness(first), EngineHarness(second))
    }

    func stamped(_ harness: EngineHarness, _ version: UInt64, _ words: [String]) {
        harness.session.version = version
        defer { harness.session.version = 0 }
        let reply = harness.run(words)
        #expect(!reply.hasPrefix("-"), "\(words): \(reply)")
    }

    /// Every segment's digest over the whole token space, 1,024 segments a request.
    func digests(_ harness: EngineHarness) -> [UInt64] {
        var all: [UInt64] = []
        for chunk in stride(from: 0, to: TokenSegments.count, by: 1024) {
            let first = TokenSegments.tokens(of: chunk).lowerBound, last = TokenSegments.tokens(of: chunk + 1023).upperBound
            let bytes = raw(harness, ["DYNAMIS.DIGEST", String(first), String(last)].map { Array($0.utf8) })
            // *2\r\n$8192\r\n<8,192 bytes>\r\n:<keys>\r\n
            let header = "*2\r\n$8192\r\n".utf8.count
            #expect(bytes.starts(with: Array("*2\r\n$8192\r\n".utf8)))
            guard bytes.count >= header + 8192 else { return [] }
            for i in 0..<1024 {
                all.append(bytes[(header + i * 8)..<(header + i * 8 + 8)].reduce(0) { $0 << 8 | UInt64($1) })
            }
        }
        return all
    }

    /// Writes as a coordinator would, each write with its own version: (version, command).
    func workload() -> [(UInt64, [String])] {
        var random = SplitMix64(seed: 7)
        var writes: [(UInt64, [String])] = []
        for i in 0..<600 {
            let n = random.next() % 200
            let version = UInt64(1_700_000_000_000 + i) << 22 | 1
            switch i % 5 {
            case 0: writes.append((version, ["SET", "s\(n)", "v\(i)"]))
            case 1: writes.append((version, ["HSET", "h\(n)", "f\(i % 7)", "v"]))
            case 2: writes.append((version, ["SADD", "t\(n)", "m\(i % 11)"]))
            case 3: writes.append((version, ["SET", "x\(n)", "v", "PXAT", "4102444800000"]))
            default: writes.append((version, ["DEL", "s\(n)"]))
            }
        }
        return writes
    }

    @Test func equalCopiesDigestEquallyAndOneKeyChangesItsSegmentOnly() throws {
        try withEngines { a, b in
            let writes = workload()
            // Whole-value writes only (SET, DEL with versions) may arrive in any order on a
            // replica; collections are written in order, as their coordinator sends them.
            for (version, words) in writes { stamped(a, version, words) }
            let reordered = writes.filter { $0.1[0] == "SET" || $0.1[0] == "DEL" }.reversed() + writes.filter { $0.1[0] != "SET" && $0.1[0] != "DEL" }
            for (version, words) in reordered { stamped(b, version, words) }
            let left = digests(a), right = digests(b)
            #expect(left.count == TokenSegments.count)
            let equal = left == right
            #expect(equal, "\(left.indices.filter { left[$0] != right[$0] }.count) segments differ")
            for segment in left.indices.filter({ left[$0] != right[$0] }).prefix(3) {
                let range = TokenSegments.tokens(of: segment)
                let args = ["DYNAMIS.KEYVERSIONS", String(range.lowerBound), String(range.upperBound)].map { Array($0.utf8) }
                Issue.record("segment \(segment): a \(RESPParse.array(raw(a, args)).map { String(decoding: $0 ?? [], as: UTF8.self) }) b \(RESPParse.array(raw(b, args)).map { String(decoding: $0 ?? [], as: UTF8.self) })")
            }
            #expect(left.contains { $0 != 0 })

            // One key newer on one copy: its segment, and only it, differs.
            stamped(b, UInt64(1_800_000_000_000) << 22 | 2, ["SET", "s1", "changed"])
            let changed = digests(b)
            let differing = left.indices.filter { left[$0] != changed[$0] }
            #expect(differing.count == 1, "\(differing.count) differ")
            let token = "s1".utf8.withContiguousStorageIfAvailable { testToken(UnsafeRawBufferPointer($0)) }!
            let onlyItsOwn = differing == [TokenSegments.of(token)]
            #expect(onlyItsOwn, "\(differing)")

            // Its segment's key lists show the newer version on b.
            let range = TokenSegments.tokens(of: differing[0])
            let onA = a.run("DYNAMIS.KEYVERSIONS", String(range.lowerBound), String(range.upperBound))
            let onB = b.run("DYNAMIS.KEYVERSIONS", String(range.lowerBound), String(range.upperBound))
            #expect(onA != onB)
            #expect(onB.contains("$2\r\ns1\r\n$\(String(UInt64(1_800_000_000_000) << 22 | 2).count)\r\n\(UInt64(1_800_000_000_000) << 22 | 2)\r\n"))
        }
    }

    @Test func keyListsPageThroughARangeAndRefuseBadArguments() throws {
        try withEngines { a, _ in
            for i in 0..<1300 { stamped(a, UInt64(1_700_000_000_000 + i) << 22 | 1, ["SET", "k\(i)", "v"]) }
            var seen: Set<[UInt8]> = []
            var cursor: [UInt8]?
            var pages = 0
            repeat {
                var args = ["DYNAMIS.KEYVERSIONS", "0", String(UInt32.max)].map { Array($0.utf8) }
                if let cursor { args.append(cursor) }
                let parts = RESPParse.array(raw(a, args))
                #expect(parts.count % 2 == 1 && parts.count <= 1 + 2 * 512)
                cursor = parts.first ?? nil
                for i in stride(from: 1, to: parts.count, by: 2) { seen.insert(parts[i] ?? []) }
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 3)
            #expect(seen.count == 1300)
            #expect(a.run("DYNAMIS.KEYVERSIONS", "5", "4").hasPrefix("-ERR"))
            #expect(a.run("DYNAMIS.DIGEST", "0", String(UInt32.max)).hasPrefix("-ERR"))
            #expect(a.run("DYNAMIS.DIGEST", "x", "1").hasPrefix("-ERR"))
            #expect(a.run("DYNAMIS.DIGEST", "0", "100", "13").hasPrefix("-ERR"))
            // Refined buckets: a segment in 64 buckets of 20 bits, whose keys add up to the segment's.
            let segment = TokenSegments.tokens(of: TokenSegments.of(testToken(UnsafeRawBufferPointer(start: nil, count: 0))))
            let coarse = raw(a, ["DYNAMIS.DIGEST", String(segment.lowerBound), String(segment.upperBound)].map { Array($0.utf8) })
            let fine = raw(a, ["DYNAMIS.DIGEST", String(segment.lowerBound), String(segment.upperBound), "20"].map { Array($0.utf8) })
            #expect(fine.starts(with: Array("*2\r\n$512\r\n".utf8)))
            #expect(String(decoding: coarse.suffix(12), as: UTF8.self).split(separator: ":").last == String(decoding: fine.suffix(12), as: UTF8.self).split(separator: ":").last)
        }
    }

    /// Runs binary arguments and returns the reply's bytes.
    func raw(_ harness: EngineHarness, _ args: [[UInt8]]) -> [UInt8] {
        let buffers = args.map { ByteBuffer(bytes: $0) }
        var reply = ReplyWriter(buffer: ByteBuffer())
        _ = harness.session.execute(CommandTable.lookup(buffers[0])!, buffers,
                                    origin: RequestOrigin(client: 1, receiver: NoReceiver.shared, sequence: 0), reply: &reply)
        _ = harness.session.endOfBurst()
        return Array(reply.buffer.readableBytesView)
    }
}

/// The token `openEngine` gives a key (FNV-1a).
func testToken(_ key: UnsafeRawBufferPointer) -> UInt32 {
    var h: UInt32 = 2_166_136_261
    for b in key { h = (h ^ UInt32(b)) &* 16_777_619 }
    return h
}

/// A flat RESP2 array of bulk strings (nil for a null bulk), as the engine writes it.
enum RESPParse {
    static func array(_ reply: [UInt8]) -> [[UInt8]?] {
        var at = 0
        func line() -> String {
            var end = at
            while end + 1 < reply.count, !(reply[end] == 13 && reply[end + 1] == 10) { end += 1 }
            defer { at = end + 2 }
            return String(decoding: reply[at..<end], as: UTF8.self)
        }
        guard reply.first == UInt8(ascii: "*"), let count = Int(line().dropFirst()) else { return [] }
        var out: [[UInt8]?] = []
        for _ in 0..<count {
            guard let length = Int(line().dropFirst()), length >= 0 else { out.append(nil); continue }
            out.append(Array(reply[at..<(at + length)]))
            at += length + 2
        }
        return out
    }
}
