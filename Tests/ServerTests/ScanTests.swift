import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// KEYS, SCAN and RANDOMKEY on the RocksDB engine.
@Suite(.timeLimit(.minutes(2)))
struct ScanTests {
    static func fill(_ client: RESPTestClient) throws -> Set<String> {
        var batch: [UInt8] = []
        var all = Set<String>()
        for i in 0..<600 {
            let key = "user:\(i)"
            batch += RESPTestClient.encode([Array("SET".utf8), Array(key.utf8), Array("v".utf8)])
            all.insert(key)
        }
        for i in 0..<200 {
            batch += RESPTestClient.encode([Array("HSET".utf8), Array("h:\(i)".utf8), Array("f".utf8), Array("v".utf8)])
            batch += RESPTestClient.encode([Array("SADD".utf8), Array("s:\(i)".utf8), Array("m".utf8)])
            all.insert("h:\(i)")
            all.insert("s:\(i)")
        }
        try client.sendRaw(batch)
        for _ in 0..<1000 { _ = try client.readRawReply() }
        return all
    }

    /// Pages through with SCAN; returns every key seen (with repeats) and the page count.
    static func scanAll(_ client: RESPTestClient, from cursor: String = "0", extra: [String] = [], maxPages: Int = 10_000,
                        stopAfter: Int = .max) throws -> (keys: [String], pages: Int, cursor: String) {
        var cursor = cursor
        var keys: [String] = []
        var pages = 0
        repeat {
            guard case .array(let page?) = try client.command(["SCAN", cursor] + extra), page.count == 2,
                  let next = page[0].string, case .array(let found?) = page[1] else {
                Issue.record("malformed SCAN reply")
                break
            }
            keys += found.compactMap(\.string)
            cursor = next
            pages += 1
        } while cursor != "0" && pages < maxPages && pages < stopAfter
        return (keys, pages, cursor)
    }

    @Test func scanReturnsEveryKeyOnceInPages() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let client = try node.client()
        let all = try Self.fill(client)
        let (keys, pages, _) = try Self.scanAll(client, extra: ["COUNT", "17"])
        #expect(Set(keys) == all)
        #expect(keys.count == all.count)  // no key twice
        #expect(pages >= all.count / 20)
        let (matched, _, _) = try Self.scanAll(client, extra: ["MATCH", "user:1?", "COUNT", "50"])
        #expect(Set(matched) == Set((10..<20).map { "user:\($0)" }))
        let (hashes, _, _) = try Self.scanAll(client, extra: ["TYPE", "hash", "COUNT", "100"])
        #expect(Set(hashes) == Set((0..<200).map { "h:\($0)" }))
        #expect(try client.command("SCAN", "abc") == .error("ERR invalid cursor"))
        #expect(try client.command("SCAN", "0", "COUNT", "0") == .error("ERR syntax error"))
        #expect(try client.command("SCAN", "0", "BOGUS", "1") == .error("ERR syntax error"))
        guard case .bulk(let random?) = try client.command("RANDOMKEY") else { Issue.record("RANDOMKEY"); return }
        #expect(all.contains(String(decoding: random, as: UTF8.self)))
    }

    /// A cursor is a position in the token ring, not server memory: it survives a restart.
    @Test func cursorsSurviveARestart() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let all = try Self.fill(node.client())
        let (first, _, cursor) = try Self.scanAll(node.client(), extra: ["COUNT", "100"], stopAfter: 3)
        #expect(cursor != "0")
        #expect(node.stop() == 0)
        try node.restart()
        let (rest, _, end) = try Self.scanAll(node.client(), from: cursor, extra: ["COUNT", "100"])
        #expect(end == "0")
        #expect(Set(first + rest) == all)
        #expect((first + rest).count == all.count)
    }

    @Test func keysMatchesRedis() throws {
        let harness = try DifferentialHarness()
        defer { harness.stop() }
        var differences: [String] = []
        for command in [["MSET", "a1", "1", "a2", "2", "b1", "3", "{x}", "4"], ["HSET", "ah", "f", "v"], ["SADD", "as", "m"],
                        ["KEYS", "*"], ["KEYS", "a*"], ["KEYS", "?1"], ["KEYS", "[ab]1"], ["KEYS", "\\{x\\}"], ["KEYS", "zz*"],
                        ["RANDOMKEY"], ["FLUSHALL"], ["RANDOMKEY"], ["KEYS", "*"]] where command[0] != "RANDOMKEY" || command.count == 1 {
            if command[0] == "RANDOMKEY" {
                let reply = try harness.dynamisClient.command("RANDOMKEY")
                _ = try harness.redisClient.command("RANDOMKEY")
                if case .bulk(nil) = reply { continue }
                guard case .bulk(let key?) = reply, ["a1", "a2", "b1", "{x}", "ah", "as"].contains(String(decoding: key, as: UTF8.self)) else {
                    differences.append("RANDOMKEY gave \(reply)")
                    continue
                }
                continue
            }
            if let difference = try harness.compare(command.map { Array($0.utf8) }) { differences.append(difference) }
        }
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }

    /// CVE-2022-36021's pattern (Redis's "pattern matching long nested loops") against every
    /// pattern use: each answers, and a second client is served right after. The matcher's step
    /// bound is proven in GlobMatchTests; here a node that wedged would fail the reads.
    @Test func pathologicalPatternsAnswer() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let client = try node.client()
        let long = String(repeating: "a", count: 60)
        let hostile = String(repeating: "a*", count: 18) + "b"
        #expect(try client.command("SET", long, "1") == .simple("OK"))
        #expect(try client.command("HSET", "h", long, "1") == .integer(1))
        #expect(try client.command("SADD", "s", long) == .integer(1))
        #expect(try client.command("ZADD", "z", "1", long) == .integer(1))
        #expect(try client.command("KEYS", hostile) == .array([]))
        #expect(try client.command("KEYS", String(repeating: "a*", count: 18) + "a") == .array([.bulk(Array(long.utf8))]))
        #expect(try client.command("SCAN", "0", "MATCH", hostile, "COUNT", "1000") == .array([.bulk(Array("0".utf8)), .array([])]))
        for (command, key) in [("HSCAN", "h"), ("SSCAN", "s"), ("ZSCAN", "z")] {
            #expect(try client.command(command, key, "0", "MATCH", hostile) == .array([.bulk(Array("0".utf8)), .array([])]))
        }
        let other = try node.client()
        #expect(try other.command("PING") == .simple("PONG"))
    }

    /// The empty key: Redis's matcher never matches it, but KEYS * and MATCH * skip the matcher.
    @Test func emptyKeyMatchesRedis() throws {
        let harness = try DifferentialHarness()
        defer { harness.stop() }
        var differences: [String] = []
        for command in [["SET", "", "1"], ["SET", "k", "2"], ["HSET", "h", "", "1", "f", "2"],
                        ["KEYS", "*"], ["KEYS", "**"], ["KEYS", "*?"], ["KEYS", "?"], ["KEYS", ""],
                        ["HSCAN", "h", "0", "MATCH", "*"], ["HSCAN", "h", "0", "MATCH", "**"], ["HSCAN", "h", "0", "MATCH", "[^x]"]] {
            if let difference = try harness.compare(command.map { Array($0.utf8) }) { differences.append(difference) }
        }
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
        // SCAN's order is the server's own: compare what each returns as a set.
        for pattern in ["*", "**", "?"] {
            let command = ["SCAN", "0", "MATCH", pattern, "COUNT", "100"]
            guard case .array(let expected?) = try harness.redisClient.command(command), case .array(let keys?) = expected[1],
                  case .array(let actual?) = try harness.dynamisClient.command(command), case .array(let found?) = actual[1] else {
                Issue.record("malformed SCAN reply")
                continue
            }
            #expect(Set(found.compactMap(\.string)) == Set(keys.compactMap(\.string)), "SCAN MATCH \(pattern)")
        }
    }
}
