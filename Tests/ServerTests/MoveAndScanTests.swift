import Foundation
import TestSupport
import Testing

/// RENAME, RENAMENX, COPY and the collection SCANs on the RocksDB engine.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct MoveAndScanTests {
    static let setup: [[String]] = [
        ["SET", "s", "v"], ["EXPIRE", "s", "100"], ["HSET", "h", "f", "1", "g", "2"], ["RPUSH", "l", "a", "b", "c"],
        ["SADD", "st", "x", "y"], ["ZADD", "z", "1", "a", "2.5", "b"],
    ]
    static let script: [[String]] = [
        ["RENAME", "s", "s2"], ["GET", "s2"], ["TTL", "s2"], ["EXISTS", "s"], ["RENAME", "nokey", "x"], ["RENAMENX", "nokey", "x"],
        ["RENAME", "h", "h2"], ["HGETALL", "h2"], ["TYPE", "h"], ["RENAME", "l", "l2"], ["LRANGE", "l2", "0", "-1"],
        ["RENAME", "st", "st2"], ["SMEMBERS", "st2"], ["RENAME", "z", "z2"], ["ZRANGE", "z2", "0", "-1", "WITHSCORES"],
        ["RENAMENX", "s2", "h2"], ["RENAMENX", "s2", "fresh"], ["GET", "fresh"], ["RENAME", "h2", "h2"], ["RENAMENX", "h2", "h2"],
        ["RENAME", "fresh", "l2"], ["TYPE", "l2"], ["GET", "l2"],
        ["COPY", "h2", "hc"], ["HGETALL", "hc"], ["HSET", "hc", "f", "changed"], ["HGET", "h2", "f"], ["COPY", "h2", "hc"],
        ["COPY", "h2", "hc", "REPLACE"], ["HGET", "hc", "f"], ["COPY", "z2", "zc"], ["ZRANGE", "zc", "0", "-1", "WITHSCORES"],
        ["COPY", "st2", "stc"], ["SMEMBERS", "stc"], ["COPY", "nokey", "x"], ["COPY", "h2", "h2"], ["COPY", "h2", "x", "DB", "0"], ["HLEN", "x"], ["COPY", "h2", "y", "BOGUS"], ["DBSIZE"],
    ]

    @Test func renameAndCopyMatchRedis() throws {
        let harness = try DifferentialHarness()
        defer { harness.stop() }
        let differences = try harness.run(script: Self.setup + Self.script)
        #expect(differences.isEmpty, "\(differences.count) differences:\n\(differences.joined(separator: "\n"))")
        // Dynamis has only database 0, so COPY to another database is refused (Redis has 16).
        #expect(try harness.dynamisClient.command("COPY", "h2", "other", "DB", "1") == .error("ERR DB index is out of range"))
    }

    /// For small collections Redis and Dynamis both return everything at once with cursor 0;
    /// element order is Redis's to choose, so the elements are compared as sets.
    @Test func collectionScansReturnTheSameElements() throws {
        let harness = try DifferentialHarness()
        defer { harness.stop() }
        for command in Self.setup + [["HSET", "h", "other", "3"], ["SADD", "st", "xyz"], ["ZADD", "z", "-1", "zz"]] {
            _ = try harness.compare(command.map { Array($0.utf8) })
        }
        for command in [["HSCAN", "h", "0"], ["SSCAN", "st", "0"], ["ZSCAN", "z", "0"], ["HSCAN", "h", "0", "MATCH", "o*"],
                        ["ZSCAN", "nokey", "0"], ["HSCAN", "s", "0"]] {
            let expected = try harness.redisClient.command(command)
            let actual = try harness.dynamisClient.command(command)
            guard case .array(let e?) = expected, case .array(let a?) = actual, e.count == 2, a.count == 2,
                  case .array(let eItems?) = e[1], case .array(let aItems?) = a[1] else {
                #expect(expected == actual, "\(command)")
                continue
            }
            #expect(a[0] == .bulk(Array("0".utf8)), "\(command)")
            let group = command[0] == "SSCAN" ? 1 : 2
            func pairs(_ items: [RESPValue]) -> [String] {
                stride(from: 0, to: items.count, by: group).map { items[$0..<($0 + group)].map(\.description).joined(separator: " ") }.sorted()
            }
            #expect(pairs(eItems) == pairs(aItems), "\(command)")
        }
    }

    /// Large collections page by offset until cursor 0, returning every element once.
    @Test func largeCollectionScansPage() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let client = try node.client()
        var args = ["HSET", "big"]
        for i in 0..<2000 { args += ["f\(i)", "v"] }
        #expect(try client.command(args) == .integer(2000))
        var cursor = "0"
        var seen: [String] = []
        var pages = 0
        repeat {
            guard case .array(let page?) = try client.command("HSCAN", "big", cursor, "COUNT", "300"),
                  let next = page[0].string, case .array(let items?) = page[1] else { Issue.record("HSCAN"); return }
            seen += stride(from: 0, to: items.count, by: 2).compactMap { items[$0].string }
            cursor = next
            pages += 1
        } while cursor != "0" && pages < 100
        #expect(pages == 7)
        #expect(Set(seen).count == 2000 && seen.count == 2000)
    }
}
