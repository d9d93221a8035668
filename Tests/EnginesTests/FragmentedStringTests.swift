import Foundation
import NIOCore
import TestSupport
import Testing
@testable import Engines

/// Big bitmaps in fragments (issue 20): SETBIT touches one fragment and a small record, the
/// value reads back whole everywhere, sparse bitmaps store only their set fragments, and a
/// replaced or deleted bitmap's fragments are reclaimed.
@Suite(.timeLimit(.minutes(2)))
struct FragmentedStringTests {
    func fragments(_ engine: RocksDBEngine) -> [Int] {
        let iterator = RocksIterator(engine.database, .subkeys, scan: true)
        iterator.seekToFirst()
        var sizes: [Int] = []
        while iterator.isValid { sizes.append(iterator.value.count); iterator.next() }
        return sizes
    }

    @Test func setbitOnABigBitmapWritesOneFragment() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let engine = try openEngine(directory.path)
        defer { engine.shutdown() }
        let h = EngineHarness(engine)
        let size = RocksDBStorage.fragmentSize
        // Small bitmaps stay plain strings.
        #expect(h.run("SETBIT", "small", "100", "1") == ":0\r\n")
        #expect(fragments(engine).isEmpty)
        // Growing past one fragment converts the value once; later SETBITs write one fragment.
        #expect(h.run("SETBIT", "big", "8000000", "1") == ":0\r\n")
        #expect(fragments(engine).count == 1)
        #expect(h.run("STRLEN", "big") == ":1000001\r\n")
        #expect(h.run("SETBIT", "big", "7", "1") == ":0\r\n")
        #expect(h.run("SETBIT", "big", "7", "1") == ":1\r\n")
        #expect(fragments(engine) == [size, size])  // each SETBIT wrote one fragment of 4 KiB
        #expect(h.run("GETBIT", "big", "7") == ":1\r\n")
        #expect(h.run("GETBIT", "big", "8000000") == ":1\r\n")
        #expect(h.run("GETBIT", "big", "8000001") == ":0\r\n")
        #expect(h.run("GETBIT", "big", "99999999") == ":0\r\n")
        #expect(h.run("BITCOUNT", "big") == ":2\r\n")
        #expect(h.run("BITPOS", "big", "1", "1") == ":8000000\r\n")
        // Clearing a fragment's last bit drops the fragment.
        #expect(h.run("SETBIT", "big", "7", "0") == ":1\r\n")
        #expect(fragments(engine).count == 1)
        #expect(h.run("TYPE", "big") == "+string\r\n")
        #expect(h.run("OBJECT", "ENCODING", "big") == "$3\r\nraw\r\n")
        // The whole value reads back through GET, GETRANGE, MGET and DUMP.
        let get = h.run("GET", "big")
        #expect(get.hasPrefix("$1000001\r\n"))
        #expect(h.run("GETRANGE", "big", "1000000", "-1").hasPrefix("$1\r\n"))
        #expect(h.run("BITCOUNT", "big", "999999", "-1") == ":1\r\n")
        #expect(h.run("MGET", "small", "big").contains("$1000001\r\n"))
        #expect(h.run("MGET", "big").hasPrefix("*1\r\n$1000001\r\n"))
        #expect(h.run("DUMP", "big").hasPrefix("$"))
        // A sparse bitmap: two set bits 4 GB apart cost two fragments.
        #expect(h.run("SETBIT", "sparse", "4294967295", "1") == ":0\r\n")
        #expect(h.run("SETBIT", "sparse", "0", "1") == ":0\r\n")
        #expect(h.run("STRLEN", "sparse") == ":536870912\r\n")
        #expect(fragments(engine).count == 3)
        #expect(h.run("GETBIT", "sparse", "4294967295") == ":1\r\n")
        // EXPIRE and APPEND keep working; APPEND stores a plain string again.
        #expect(h.run("EXPIRE", "big", "1000") == ":1\r\n")
        // EXPIRE rewrites only the record's header: the value stays in fragments.
        let session = h.session as! RocksDBSession
        let record = try session.storage.readStoredRecord(ByteBuffer(string: "big"), now: WallClock.nowMillis())
        #expect(record?.meta.fragmented == true && record!.stored.count < 100, "\(record?.stored.count ?? -1) bytes")
        #expect(h.run("GETBIT", "big", "8000000") == ":1\r\n")
        #expect(h.run("APPEND", "big", "x") == ":1000002\r\n")
        #expect(h.run("GETBIT", "big", "8000000") == ":1\r\n")
        // The TTL survives APPEND (any value up to 1000: a slow machine may cross a second here).
        let ttl = Int(h.run("TTL", "big").dropFirst().prefix { $0.isNumber || $0 == "-" }) ?? -1
        #expect(ttl > 0 && ttl <= 1000, "TTL \(ttl)")
        // Replaced and deleted bitmaps leave their fragments to the orphan sweep.
        h.run("DEL", "sparse")
        var reclaimed = 0
        for _ in 0..<3 { reclaimed += engine.sweepOrphanedElements(limit: 100) }
        #expect(reclaimed == 2)
        #expect(fragments(engine).isEmpty)
    }

    /// A fragmented bitmap survives a restart and a WRONGTYPE check still applies to others.
    @Test func fragmentsSurviveReopen() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        do {
            let engine = try openEngine(directory.path)
            let h = EngineHarness(engine)
            h.run("SETBIT", "big", "100000", "1")
            h.run("HSET", "hash", "f", "v")
            #expect(h.run("SETBIT", "hash", "100000", "1").hasPrefix("-WRONGTYPE"))
            engine.shutdown()
        }
        let engine = try openEngine(directory.path)
        defer { engine.shutdown() }
        let h = EngineHarness(engine)
        #expect(h.run("GETBIT", "big", "100000") == ":1\r\n")
        #expect(h.run("BITCOUNT", "big") == ":1\r\n")
        #expect(h.run("HGET", "hash", "f") == "$1\r\nv\r\n")
    }
}
