import Foundation
import NIOCore
import TestSupport
import Testing
@testable import Engines

/// The keyspace store's typed API (keys of any type) on a real RocksDB, without commands or
/// replies; the differential tests against redis-server keep DEL, EXISTS, TYPE and the EXPIRE
/// and TTL families' replies.
@Suite(.timeLimit(.minutes(2)))
struct KeyspaceStoreTests {
    func buffer(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    @Test func existenceTypeAndDeletionOfEveryType() throws {
        try withSession { session, harness throws in
            let keys = session.keyspace
            harness.run("SET", "s", "v")
            harness.run("RPUSH", "l", "a", "b")
            harness.run("HSET", "h", "f", "v")
            harness.run("SADD", "set", "m")
            harness.run("ZADD", "z", "1", "m")
            let names = ["s", "l", "h", "set", "z"]
            #expect(try names.map { try keys.type(of: buffer($0)) } == [.string, .list, .hash, .set, .zset])
            #expect(try keys.type(of: buffer("none")) == nil)
            #expect(try keys.count(["s", "s", "none", "z"].map(buffer)) == 3, "a key named twice counts twice")
            #expect(try keys.delete(["s", "s", "l", "none"].map(buffer)) == 2, "a key named twice is deleted once")
            #expect(try keys.count(names.map(buffer)) == 3)
            #expect(harness.run("LRANGE", "l", "0", "-1") == "*0\r\n")
            // An expired key is removed by DEL but not counted.
            harness.run("SET", "gone", "v", "PX", "1")
            usleep(5_000)
            #expect(try keys.delete([buffer("gone")]) == 0)
            #expect(try session.storage.readMetadataRecord(buffer("gone")) == nil, "the expired record is gone too")
        }
    }

    @Test func expiryUnderEachCondition() throws {
        try withSession { session, harness throws in
            let keys = session.keyspace
            let key = buffer("k")
            let now = Int(WallClock.nowMillis())
            typealias C = KeyspaceStore.ExpiryConditions
            #expect(try keys.expire(key, at: now + 10_000, C()) == false, "a missing key")
            harness.run("SET", "k", "v")
            #expect(try keys.expiry(of: key, now: Int64(now)) == 0)
            #expect(try keys.expire(key, at: now + 10_000, C(xx: true)) == false, "XX: no expiry yet")
            #expect(try keys.expire(key, at: now + 10_000, C(gt: true)) == false, "GT: no expiry is infinite")
            #expect(try keys.expire(key, at: now + 10_000, C(lt: true)) == true, "LT: anything is below infinite")
            #expect(try keys.expiry(of: key, now: Int64(now)) == Int64(now + 10_000))
            #expect(try keys.expire(key, at: now + 20_000, C(nx: true)) == false, "NX: it has one")
            #expect(try keys.expire(key, at: now + 5_000, C(gt: true)) == false)
            #expect(try keys.expire(key, at: now + 20_000, C(xx: true, gt: true)) == true)
            #expect(try keys.expire(key, at: now + 30_000, C(lt: true)) == false)
            #expect(try keys.expiry(of: key, now: Int64(now)) == Int64(now + 20_000))
            #expect(try keys.persist(key) == true)
            #expect(try keys.persist(key) == false, "no expiry left to remove")
            #expect(try keys.expiry(of: key, now: Int64(now)) == 0)
            #expect(harness.run("GET", "k") == "$1\r\nv\r\n", "expiry changes keep the value")
            // A time not after now deletes the key.
            #expect(try keys.expire(key, at: now - 1, C()) == true)
            #expect(try keys.type(of: key) == nil)
            #expect(try session.storage.readMetadataRecord(key) == nil)
        }
    }

    @Test func expiryKeepsACollectionWhole() throws {
        try withSession { session, harness throws in
            harness.run("ZADD", "z", "1", "a", "2", "b")
            let at = Int(WallClock.nowMillis()) + 100_000
            #expect(try session.keyspace.expire(buffer("z"), at: at, .init()) == true)
            #expect(harness.run("ZRANGE", "z", "0", "-1", "WITHSCORES") == "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n")
            #expect(try session.keyspace.expiry(of: buffer("z"), now: WallClock.nowMillis()) == Int64(at))
        }
    }

    @Test func theWholeKeyspaceWalksCountsPicksAndFlushes() throws {
        try withSession { session, harness throws in
            let keys = session.keyspace
            #expect(keys.randomKey() == nil && keys.size() == 0)
            for i in 0..<50 { harness.run("SET", "k\(i)", "v") }
            harness.run("RPUSH", "list", "x")
            harness.run("SET", "expired", "v", "PX", "1")
            usleep(5_000)
            // A walk in pages: each page ends after a whole token's keys, resumes at the next.
            var seen: [String: ValueType] = [:]
            var next: UInt32? = 0
            var pages = 0
            while let from = next {
                var visited = 0
                next = keys.walk(fromToken: from) { key, type in
                    #expect(seen.updateValue(type, forKey: String(decoding: key, as: UTF8.self)) == nil, "a key seen twice")
                    visited += 1
                    return visited < 7
                }
                pages += 1
            }
            #expect(seen.count == 51 && seen["list"] == .list && seen["k3"] == .string && seen["expired"] == nil)
            #expect(pages >= 8, "pages of about seven keys: \(pages)")
            #expect(keys.size() == 51)
            let picked = try #require(keys.randomKey())
            #expect(seen[String(decoding: picked, as: UTF8.self)] != nil)
            try keys.flush()
            #expect(keys.size() == 0 && keys.randomKey() == nil)
            #expect(harness.run("LRANGE", "list", "0", "-1") == "*0\r\n")
        }
    }
}
