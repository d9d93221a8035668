import CRocksDB
import Foundation
import NIOCore
import NIOEmbedded
import Protocol
import TestSupport
import Testing
@testable import Engines

/// Runs commands through one engine session, as the connection handler does.
struct EngineHarness {
    let engine: RocksDBEngine
    let session: any EngineSession

    init(_ engine: RocksDBEngine) {
        self.engine = engine
        self.session = engine.makeSession(eventLoop: EmbeddedEventLoop())
    }

    /// Executes without ending the burst: grouped writes stay pending.
    @discardableResult
    func execute(_ words: [String]) -> String {
        let args = words.map { ByteBuffer(string: $0) }
        let spec = CommandTable.lookup(args[0])!
        var reply = ReplyWriter(buffer: ByteBuffer())
        #expect(session.execute(spec, args, origin: RequestOrigin(client: 1, receiver: NoReceiver.shared, sequence: 0), reply: &reply) == .answered)
        return String(decoding: reply.buffer.readableBytesView, as: UTF8.self)
    }

    /// Executes and ends the burst, as a single request would.
    @discardableResult
    func run(_ words: String...) -> String { run(words) }

    @discardableResult
    func run(_ words: [String]) -> String {
        let reply = execute(words)
        #expect(session.endOfBurst() == nil)
        return reply
    }
}

/// Runs `body` with a fresh engine's session (for a store's typed API) and a harness running
/// commands on the same session; removes everything afterwards.
func withSession(_ body: (RocksDBSession, EngineHarness) throws -> Void) throws {
    let directory = TemporaryDirectory()
    defer { directory.remove() }
    let engine = try openEngine(directory.path)
    defer { engine.shutdown() }
    let harness = EngineHarness(engine)
    try body(harness.session as! RocksDBSession, harness)
}

func openEngine(_ directory: String, identity: String = "murmur") throws -> RocksDBEngine {
    // Tests only need a stable token; FNV-1a (`testToken`) keeps this target free of the Ring module.
    try RocksDBEngine(options: RocksDBOptions(directory: directory), keyHashIdentity: identity) { testToken($0) }
}

@Suite(.timeLimit(.minutes(2)))
struct RocksDBEngineTests {
    @Test func wrongTypeOnEveryStringCommand() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let engine = try openEngine(directory.path)
        defer { engine.shutdown() }
        let harness = EngineHarness(engine)
        // Plant a hash-typed record the way the collection types will store one.
        let session = harness.session as! RocksDBSession
        session.storage.encodeKey(ByteBuffer(string: "h"))
        var record: [UInt8] = [Metadata.formatVersion, ValueType.hash.rawValue]
        record += [UInt8](repeating: 0, count: 16) + [0, 0, 0, 0, 0, 0, 0, 1] + [0, 0, 0, 0, 0, 0, 0, 3]
        try engine.database.put(.metadata, key: session.storage.keyScratch, value: record)
        let wrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
        for command in [["GET", "h"], ["GETSET", "h", "v"], ["GETDEL", "h"], ["GETEX", "h"], ["APPEND", "h", "x"],
                        ["STRLEN", "h"], ["GETRANGE", "h", "0", "1"], ["SETRANGE", "h", "0", "x"], ["INCR", "h"],
                        ["INCRBYFLOAT", "h", "1"], ["SET", "h", "v", "GET"]] {
            #expect(harness.execute(command) == wrongType, "\(command)")
        }
        #expect(harness.run("TYPE", "h") == "+hash\r\n")
        #expect(harness.run("MGET", "h") == "*1\r\n$-1\r\n")
        #expect(harness.run("EXISTS", "h") == ":1\r\n")
        #expect(harness.run("EXPIRE", "h", "100") == ":1\r\n")
        // TTL rounds to the nearest second: a slow machine may read 99 (never more than 100).
        #expect([":100\r\n", ":99\r\n"].contains(harness.run("TTL", "h")))
        // Overwriting with a string replaces the whole key in O(1): only metadata is written.
        #expect(harness.run("SET", "h", "now-a-string") == "+OK\r\n")
        #expect(harness.run("GET", "h") == "$12\r\nnow-a-string\r\n")
        #expect(harness.run("TTL", "h") == ":-1\r\n")
    }

    /// Grouped writes are invisible to other connections and not durable until the burst ends;
    /// the same connection reads its own writes at once.
    @Test func groupedWritesCommitAtEndOfBurst() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let engine = try openEngine(directory.path)
        defer { engine.shutdown() }
        let writer = EngineHarness(engine)
        let reader = EngineHarness(engine)
        #expect(writer.execute(["SET", "g", "1"]) == "+OK\r\n")
        #expect(writer.execute(["MSET", "g2", "2", "g3", "3"]) == "+OK\r\n")
        #expect(reader.run("GET", "g") == "$-1\r\n")
        #expect(writer.execute(["GET", "g"]) == "$1\r\n1\r\n")  // commits the group first
        #expect(reader.run("MGET", "g", "g2", "g3") == "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n")
        #expect(writer.execute(["SETEX", "g4", "100", "4"]) == "+OK\r\n")
        #expect(reader.run("EXISTS", "g4") == ":0\r\n")
        #expect(writer.session.hasPendingWrites)
        #expect(writer.session.endOfBurst() == nil)
        #expect(!writer.session.hasPendingWrites)
        #expect(reader.run("EXISTS", "g4") == ":1\r\n")
        #expect(writer.session.failure == nil)
    }

    @Test func expiredKeysVanishAtOnceAndTheSweepReclaimsThem() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let engine = try openEngine(directory.path)
        defer { engine.shutdown() }
        let harness = EngineHarness(engine)
        for i in 0..<50 { harness.run("SET", "temp\(i)", "x", "PX", "30") }
        harness.run("SET", "kept", "y")
        usleep(100_000)
        #expect(harness.run("GET", "temp7") == "$-1\r\n")
        #expect(harness.run("DBSIZE") == ":1\r\n")
        let session = harness.session as! RocksDBSession
        session.storage.encodeKey(ByteBuffer(string: "temp8"))
        #expect(try engine.database.get(.metadata, key: session.storage.keyScratch) != nil)  // still on disk
        var reclaimed = 0
        for _ in 0..<3 { reclaimed += engine.sweepExpired(limit: 1000) }
        #expect(reclaimed >= 49)  // temp7 may already have gone through a read
        #expect(try engine.database.get(.metadata, key: session.storage.keyScratch) == nil)
        #expect(harness.run("GET", "kept") == "$1\r\ny\r\n")
    }

    @Test func dataSurvivesReopenAndTheHashIdentityIsChecked() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        do {
            let engine = try openEngine(directory.path)
            let harness = EngineHarness(engine)
            harness.run("SET", "persisted", "yes")
            harness.run("SET", "ttl", "x", "EX", "500")
            engine.shutdown()
        }
        let engine = try openEngine(directory.path)
        let harness = EngineHarness(engine)
        #expect(harness.run("GET", "persisted") == "$3\r\nyes\r\n")
        // The expiry survived the reopen (which may take a second or more on a loaded machine).
        let ttl = Int(harness.run("TTL", "ttl").dropFirst().prefix { $0.isNumber || $0 == "-" }) ?? -1
        #expect(ttl > 400 && ttl <= 500, "TTL \(ttl)")
        engine.shutdown()
        #expect(throws: RocksDBError.self) { try openEngine(directory.path, identity: "crc32a") }
    }

    @Test func flushallRemovesEverything() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let engine = try openEngine(directory.path)
        defer { engine.shutdown() }
        let harness = EngineHarness(engine)
        for i in 0..<200 { harness.run("SET", "f\(i)", "v") }
        #expect(harness.run("DBSIZE") == ":200\r\n")
        #expect(harness.run("FLUSHALL") == "+OK\r\n")
        #expect(harness.run("DBSIZE") == ":0\r\n")
        #expect(harness.run("GET", "f1") == "$-1\r\n")
        harness.run("SET", "after", "1")
        #expect(harness.run("DBSIZE") == ":1\r\n")
    }

    /// Sessions on different threads doing read-modify-writes on the same keys lose nothing.
    @Test func concurrentReadModifyWritesAreAtomic() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let engine = try openEngine(directory.path)
        defer { engine.shutdown() }
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            let harness = EngineHarness(engine)
            for i in 0..<2000 {
                harness.run("INCR", "n")
                if i % 10 == 0 { harness.run("INCRBYFLOAT", "f", "0.5") }
                // Blind writes to the same key race with the increments without breaking them.
                if i % 100 == 0 { _ = harness.execute(["SET", "other", "x"]) }
            }
            #expect(harness.session.endOfBurst() == nil)
        }
        let harness = EngineHarness(engine)
        #expect(harness.run("GET", "n") == "$5\r\n16000\r\n")
        #expect(harness.run("GET", "f") == "$3\r\n800\r\n")
    }
}

/// The RocksDB engine answers synchronously: nothing may arrive here.
final class NoReceiver: ReplyReceiver, @unchecked Sendable {  // stateless
    static let shared = NoReceiver()
    func receive(_ reply: Result<ByteBuffer, EngineError>, for sequence: Int) {
        Issue.record("the RocksDB engine answered asynchronously")
    }
}

@Suite(.timeLimit(.minutes(2)))
struct ElementReclamationTests {
    func elementCount(_ engine: RocksDBEngine, _ family: ColumnFamily = .subkeys) -> Int {
        let iterator = RocksIterator(engine.database, family, scan: true)
        iterator.seekToFirst()
        var count = 0
        while iterator.isValid { count += 1; iterator.next() }
        return count
    }

    /// Elements of deleted, replaced and expired hashes are reclaimed by the sweep; live
    /// hashes keep theirs.
    @Test func orphanedElementsAreReclaimedLiveOnesKept() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let engine = try openEngine(directory.path)
        defer { engine.shutdown() }
        let harness = EngineHarness(engine)
        for name in ["deleted", "replaced", "expired", "recreated", "live"] {
            for i in 0..<50 { harness.run("HSET", name, "f\(i)", "v") }
        }
        #expect(elementCount(engine) == 250)
        harness.run("DEL", "deleted")
        harness.run("SET", "replaced", "now a string")
        harness.run("PEXPIRE", "expired", "1")
        harness.run("DEL", "recreated")
        harness.run("HSET", "recreated", "new", "1")  // a new generation under the same name
        usleep(20_000)
        harness.run("GET", "expired")
        var reclaimed = 0
        for _ in 0..<3 { reclaimed += engine.sweepOrphanedElements(limit: 100) }
        #expect(reclaimed == 4)
        #expect(elementCount(engine) == 51)  // live's 50 and recreated's 1
        #expect(harness.run("HLEN", "live") == ":50\r\n")
        #expect(harness.run("HGET", "recreated", "new") == "$1\r\n1\r\n")
        #expect(engine.statistics().first { $0.name == "rocksdb_reclaimed_element_groups" }?.value == 4)
    }

    /// A deleted or replaced sorted set leaves its score index as well as its members; both
    /// come back, including an index whose members an earlier build already reclaimed.
    @Test func sortedSetScoreIndexesAreReclaimed() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let engine = try openEngine(directory.path)
        defer { engine.shutdown() }
        let harness = EngineHarness(engine)
        for name in ["deleted", "replaced", "live"] {
            for i in 0..<40 { harness.run("ZADD", name, "\(i)", "m\(i)") }
        }
        #expect(elementCount(engine, .zscore) == 120)
        harness.run("DEL", "deleted")
        harness.run("SET", "replaced", "now a string")
        // An orphaned index with no elements left (what builds before this sweep left behind).
        harness.run("ZADD", "orphan", "1", "a", "2", "b")
        let prefix = try #require(firstKey(engine, .subkeys, containing: Array("orphan".utf8)))
        try engine.database.deleteRange(.subkeys, from: prefix, to: KeyEncoding.successor(of: prefix[...]))
        harness.run("DEL", "orphan")
        #expect(elementCount(engine, .zscore) == 122)
        for _ in 0..<3 { engine.sweepOrphanedElements(limit: 100) }
        #expect(elementCount(engine, .zscore) == 40)
        #expect(elementCount(engine, .subkeys) == 40)
        #expect(harness.run("ZRANGE", "live", "0", "1") == "*2\r\n$2\r\nm0\r\n$2\r\nm1\r\n")
    }

    /// The background sweep is paced: after a finished walk it leaves a family alone for a
    /// while (deletion markers make every walk cost), then walks it again.
    @Test func pacedSweepsRestBetweenWalks() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let engine = try openEngine(directory.path)
        defer { engine.shutdown() }
        let harness = EngineHarness(engine)
        harness.run("HSET", "first", "f", "v")
        harness.run("DEL", "first")
        let start = ContinuousClock.now
        #expect(engine.sweepOrphanedElements(limit: 100, pacedAt: start) == 1)
        harness.run("HSET", "second", "f", "v")
        harness.run("DEL", "second")
        #expect(engine.sweepOrphanedElements(limit: 100, pacedAt: start + .milliseconds(500)) == 0)
        #expect(elementCount(engine) == 1)
        #expect(engine.sweepOrphanedElements(limit: 100, pacedAt: start + .seconds(3600)) == 1)
        #expect(elementCount(engine) == 0)
    }

    /// The (key, generation) prefix of the first record in `family` whose key contains `name`.
    func firstKey(_ engine: RocksDBEngine, _ family: ColumnFamily, containing name: [UInt8]) -> [UInt8]? {
        let iterator = RocksIterator(engine.database, family, scan: true)
        iterator.seekToFirst()
        while iterator.isValid {
            if let (prefix, _, _) = KeyEncoding.splitSubkey(iterator.key),
               prefix.firstRange(of: name) != nil { return Array(prefix) }
            iterator.next()
        }
        return nil
    }
}
