import Foundation
import TestSupport
import Testing

/// Sorted sets on the RocksDB engine, compared with a real redis-server.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct SortedSetCommandTests {
    static let script: [[String]] = [
        ["ZADD", "z", "1", "one", "2", "two", "3", "three"], ["ZADD", "z", "1e400", "x"], ["ZINCRBY", "z", "-1e400", "x"], ["ZUNIONSTORE", "zu", "1", "z", "WEIGHTS", "1e400"], ["ZRANGEBYSCORE", "z", "1e400", "1e401"], ["ZADD", "z", "1.5", "one", "4", "four"], ["ZCARD", "z"],
        ["ZRANGE", "z", "0", "-1", "WITHSCORES"], ["ZSCORE", "z", "one"], ["ZSCORE", "z", "nope"], ["ZSCORE", "nokey", "a"],
        ["ZMSCORE", "z", "one", "nope", "four"], ["ZADD", "z", "NX", "9", "one", "5", "five"], ["ZADD", "z", "XX", "9", "one", "6", "six"],
        ["ZADD", "z", "GT", "1", "one"], ["ZADD", "z", "GT", "CH", "10", "one"], ["ZADD", "z", "LT", "CH", "0.5", "one", "1", "new"],
        ["ZADD", "z", "INCR", "2.5", "two"], ["ZADD", "z", "INCR", "NX", "1", "two"], ["ZADD", "z", "XX", "INCR", "1", "missing"],
        ["ZADD", "z", "NX", "XX", "1", "a"], ["ZADD", "z", "GT", "LT", "1", "a"], ["ZADD", "z", "INCR", "1", "a", "2", "b"],
        ["ZADD", "z", "1"], ["ZADD", "z", "abc", "m"], ["ZADD", "z", "nan", "m"], ["ZADD", "z", "inf", "top", "-inf", "bottom"],
        ["ZADD", "z", "1.1", "decimal", "-0.0", "negzero", "1e-5", "tiny"], ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        ["ZINCRBY", "z", "1", "two"], ["ZINCRBY", "z", "x", "two"], ["ZINCRBY", "z", "5", "brand"], ["ZINCRBY", "z", "-inf", "top"],
        ["ZRANK", "z", "two"], ["ZREVRANK", "z", "two"], ["ZRANK", "z", "nope"], ["ZRANK", "nokey", "a"],
        ["ZCOUNT", "z", "1", "3"], ["ZCOUNT", "z", "(1", "(3"], ["ZCOUNT", "z", "-inf", "+inf"], ["ZCOUNT", "z", "x", "1"],
        ["ZRANGE", "z", "1", "3"], ["ZRANGE", "z", "-3", "-1", "WITHSCORES"], ["ZRANGE", "z", "5", "2"], ["ZRANGE", "z", "0", "100"],
        ["ZRANGE", "z", "0", "2", "REV"], ["ZRANGE", "z", "(1", "3", "BYSCORE"], ["ZRANGE", "z", "3", "(1", "BYSCORE", "REV", "WITHSCORES"],
        ["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "2"], ["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "2", "-1"],
        ["ZRANGE", "z", "0", "-1", "LIMIT", "1", "2"], ["ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES"], ["ZRANGE", "z", "0", "1", "BOGUS"],
        ["ZRANGE", "z", "a", "b"], ["ZRANGE", "z", "x", "y", "BYSCORE"], ["ZRANGE", "nokey", "0", "-1"],
        ["ZRANGEBYSCORE", "z", "2", "+inf", "WITHSCORES", "LIMIT", "0", "3"], ["ZREVRANGEBYSCORE", "z", "+inf", "2"],
        ["ZRANGEBYSCORE", "z", "2", "1"], ["ZREVRANGE", "z", "0", "1", "WITHSCORES"], ["ZRANGEBYSCORE", "z", "1", "2", "REV"],
        ["ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e"], ["ZRANGEBYLEX", "lex", "[b", "(d"], ["ZRANGEBYLEX", "lex", "-", "+", "LIMIT", "1", "2"],
        ["ZREVRANGEBYLEX", "lex", "+", "[c"], ["ZLEXCOUNT", "lex", "(a", "[e"], ["ZLEXCOUNT", "lex", "a", "e"], ["ZRANGEBYLEX", "lex", "b", "d"],
        ["ZRANGE", "lex", "[b", "[d", "BYLEX", "REV"], ["ZREMRANGEBYLEX", "lex", "[a", "(c"], ["ZRANGE", "lex", "0", "-1"],
        ["ZREMRANGEBYRANK", "z", "0", "1"], ["ZREMRANGEBYSCORE", "z", "(4", "+inf"], ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        ["ZREMRANGEBYSCORE", "z", "x", "1"], ["ZREMRANGEBYRANK", "nokey", "0", "1"],
        ["ZPOPMIN", "z"], ["ZPOPMAX", "z", "2"], ["ZPOPMIN", "z", "0"], ["ZPOPMIN", "z", "-1"], ["ZPOPMIN", "nokey"], ["ZPOPMAX", "z", "100"],
        ["EXISTS", "z"], ["ZREM", "lex", "c", "c", "zz"], ["ZREM", "nokey", "a"], ["ZCARD", "lex"],
        // Types and lifetimes
        ["SET", "str", "v"], ["ZADD", "str", "1", "m"], ["ZRANGE", "str", "0", "-1"], ["ZSCORE", "str", "m"], ["ZADD", "t", "1", "m"],
        ["TYPE", "t"], ["LPUSH", "t", "x"], ["EXPIRE", "t", "-1"], ["ZCARD", "t"], ["ZADD", "t", "2", "n"], ["ZRANGE", "t", "0", "-1", "WITHSCORES"],
        ["ZADD"], ["ZADD", "t"], ["ZRANGE", "t", "0"],
        // Set operations
        ["ZADD", "za", "1", "a", "2", "b", "3", "c"], ["ZADD", "zb", "10", "b", "20", "c", "30", "d"], ["SADD", "plain", "a", "d", "e"],
        ["ZUNION", "2", "za", "zb", "WITHSCORES"], ["ZINTER", "2", "za", "zb", "WITHSCORES"], ["ZDIFF", "2", "za", "zb", "WITHSCORES"],
        ["ZUNION", "3", "za", "zb", "plain", "WITHSCORES"], ["ZINTER", "2", "za", "plain"], ["ZDIFF", "2", "zb", "plain"],
        ["ZUNION", "2", "za", "zb", "WEIGHTS", "2", "0.5", "WITHSCORES"], ["ZUNION", "2", "za", "zb", "AGGREGATE", "MAX", "WITHSCORES"],
        ["ZINTER", "2", "za", "zb", "AGGREGATE", "MIN", "WEIGHTS", "1", "-1", "WITHSCORES"], ["ZUNION", "2", "za", "nokey", "WITHSCORES"],
        ["ZINTER", "2", "za", "nokey"], ["ZUNION", "0", "za"], ["ZUNION", "3", "za", "zb"], ["ZUNION", "2", "za", "str"],
        ["ZUNION", "2", "za", "zb", "WEIGHTS", "1"], ["ZUNION", "2", "za", "zb", "WEIGHTS", "1", "x"], ["ZUNION", "2", "za", "zb", "AGGREGATE", "AVG"],
        ["ZDIFF", "2", "za", "zb", "WEIGHTS", "1", "1"], ["ZUNION", "1", "za", "BOGUS"], ["ZUNION", "x", "za"],
        ["ZUNIONSTORE", "dst", "2", "za", "zb"], ["ZRANGE", "dst", "0", "-1", "WITHSCORES"], ["ZINTERSTORE", "dst", "2", "za", "zb", "WEIGHTS", "2", "3"],
        ["ZRANGE", "dst", "0", "-1", "WITHSCORES"], ["ZDIFFSTORE", "dst", "2", "za", "zb"], ["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        ["ZINTERSTORE", "dst", "2", "za", "nokey"], ["EXISTS", "dst"], ["ZUNIONSTORE", "str", "1", "za"], ["TYPE", "str"],
        ["ZUNIONSTORE", "dst", "2", "za", "zb", "WITHSCORES"], ["ZINTERCARD", "2", "za", "zb"], ["ZINTERCARD", "2", "za", "zb", "LIMIT", "1"],
        ["ZINTERCARD", "0", "za"], ["ZINTERCARD", "3", "za"], ["ZINTERCARD", "1", "za", "LIMIT", "-1"], ["ZINTERCARD", "1", "za", "WITHSCORES"],
        ["ZADD", "zinf", "inf", "x", "-inf", "y"], ["ZUNION", "2", "zinf", "zinf", "WEIGHTS", "1", "-1", "WITHSCORES"],
        ["ZUNION", "1", "zinf", "WEIGHTS", "0", "WITHSCORES"],
        ["ZRANGESTORE", "rs", "za", "0", "1"], ["ZRANGE", "rs", "0", "-1", "WITHSCORES"], ["ZRANGESTORE", "rs", "zb", "(10", "+inf", "BYSCORE"],
        ["ZRANGE", "rs", "0", "-1", "WITHSCORES"], ["ZRANGESTORE", "rs", "zb", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "0", "2"],
        ["ZRANGE", "rs", "0", "-1", "WITHSCORES"], ["ZRANGESTORE", "rs", "nokey", "0", "-1"], ["EXISTS", "rs"],
        ["ZRANGESTORE", "rs", "za", "0", "1", "WITHSCORES"], ["ZRANGESTORE", "rs", "str", "0", "1"],
        ["ZMPOP", "2", "nokey", "za", "MIN"], ["ZMPOP", "2", "nokey", "zb", "MAX", "COUNT", "2"], ["ZMPOP", "1", "nokey", "MIN"],
        ["ZMPOP", "0", "za", "MIN"], ["ZMPOP", "1", "za", "MIDDLE"], ["ZMPOP", "1", "za", "MIN", "COUNT", "0"], ["ZMPOP", "1", "str", "MIN"],
        ["ZRANGE", "za", "0", "-1", "WITHSCORES"], ["ZRANDMEMBER", "nokey"], ["ZRANDMEMBER", "nokey", "3"], ["ZRANDMEMBER", "za", "0"],
        ["ZRANDMEMBER", "za", "1", "BOGUS"], ["ZRANDMEMBER", "za", "-9223372036854775808", "WITHSCORES"], ["HRANDFIELD", "nokey"], ["HRANDFIELD", "nokey", "2", "WITHVALUES"], ["HRANDFIELD", "nokey", "-9223372036854775808"],
    ]

    @Test func scriptedSortedSetCommandsMatchRedis() throws {
        let harness = try DifferentialHarness()
        defer { harness.stop() }
        let differences = try harness.run(script: Self.script)
        #expect(differences.isEmpty, "\(differences.count) differences:\n\(differences.joined(separator: "\n"))")
    }

    @Test func randomSortedSetSequencesMatchRedis() throws {
        let seed = DifferentialHarness.seed("SortedSetCommandTests")
        let harness = try DifferentialHarness()
        defer { harness.stop() }
        let keys = ["z1", "z2"]
        let members = ["a", "b", "c", "d", ""]
        let scores = ["0", "1", "-1", "2.5", "1e3", "-0", "inf", "-inf", "0.1"]
        let bounds = ["-inf", "+inf", "0", "(0", "1", "(2.5", "100"]
        let ranks = ["0", "1", "-1", "2", "-3", "10"]
        let differences = try harness.run(random: 2000, seed: seed, probes: [["ZRANGE", "z1", "0", "-1", "WITHSCORES"], ["ZRANGE", "z2", "0", "-1", "WITHSCORES"], ["DBSIZE"]]) { g in
            let key = g.pick(keys)
            let command: [String]
            switch g.next() % 12 {
            case 0, 1, 2:
                let flags = g.chance(30) ? [g.pick(["NX", "XX", "GT", "LT", "CH"])] : []
                command = ["ZADD", key] + flags + (0...(g.next() % 2)).flatMap { _ in [g.pick(scores), g.pick(members)] }
            case 3: command = ["ZINCRBY", key, g.pick(["1", "-2", "0.5"]), g.pick(members)]
            case 4: command = ["ZREM", key, g.pick(members), g.pick(members)]
            case 5: command = ["ZRANGE", key, g.pick(ranks), g.pick(ranks)] + (g.chance(50) ? ["WITHSCORES"] : [])
            case 6:
                let limit = g.chance(40) ? ["LIMIT", g.pick(["0", "1", "2"]), g.pick(["1", "2", "-1"])] : []
                command = g.pick([
                    ["ZRANGEBYSCORE", key, g.pick(bounds), g.pick(bounds), "WITHSCORES"] + limit,
                    ["ZREVRANGEBYSCORE", key, g.pick(bounds), g.pick(bounds), "WITHSCORES"] + limit,
                    ["ZRANGE", key, g.pick(bounds), g.pick(bounds), "BYSCORE", "REV"] + limit,
                    ["ZREVRANGE", key, g.pick(ranks), g.pick(ranks), "WITHSCORES"],
                ])
            case 7: command = [g.pick(["ZRANK", "ZREVRANK", "ZSCORE"]), key, g.pick(members)]
            case 8: command = ["ZCOUNT", key, g.pick(bounds), g.pick(bounds)]
            case 9: command = [g.pick(["ZPOPMIN", "ZPOPMAX"]), key] + (g.chance(50) ? [g.pick(["1", "2"])] : [])
            case 10: command = [g.pick(["ZREMRANGEBYRANK", "ZREMRANGEBYSCORE"]), key] + (g.chance(50) ? [g.pick(ranks), g.pick(ranks)] : [g.pick(bounds), g.pick(bounds)])
            default: command = g.pick([["DEL", key], ["ZCARD", key], ["SET", key, "v"], ["EXPIRE", key, "-1"],
                                        [g.pick(["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]), key, "2", "z1", "z2"],
                                        [g.pick(["ZUNION", "ZINTER", "ZDIFF"]), "2", "z1", "z2", "WITHSCORES"]])
            }
            return command
        }
        #expect(differences.isEmpty, "seed \(seed):\n\(differences.joined(separator: "\n"))")
    }

    /// ZRANDMEMBER and HRANDFIELD are random: elements come from the collection, distinct for a
    /// positive count, exactly |count| for a negative one, with their scores or values.
    @Test func randomElementsComeFromTheCollection() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let client = try node.client()
        _ = try client.command(["ZADD", "z"] + (0..<10).flatMap { ["\($0)", "m\($0)"] })
        _ = try client.command(["HSET", "h"] + (0..<10).flatMap { ["f\($0)", "v\($0)"] })
        guard case .array(let members?) = try client.command("ZRANDMEMBER", "z", "4", "WITHSCORES") else { Issue.record("ZRANDMEMBER"); return }
        #expect(members.count == 8)
        for pair in stride(from: 0, to: 8, by: 2) {
            let member = members[pair].string ?? "", score = members[pair + 1].string ?? ""
            #expect(member == "m" + score)
        }
        #expect(Set(stride(from: 0, to: 8, by: 2).map { members[$0].string ?? "" }).count == 4)
        guard case .array(let repeats?) = try client.command("ZRANDMEMBER", "z", "-25") else { Issue.record("ZRANDMEMBER -25"); return }
        #expect(repeats.count == 25)
        guard case .array(let fields?) = try client.command("HRANDFIELD", "h", "20", "WITHVALUES") else { Issue.record("HRANDFIELD"); return }
        #expect(fields.count == 20)  // all 10 fields, each with its value
        for pair in stride(from: 0, to: 20, by: 2) {
            #expect((fields[pair].string ?? "").dropFirst() == (fields[pair + 1].string ?? "").dropFirst())
        }
        guard case .bulk(let one?) = try client.command("HRANDFIELD", "h") else { Issue.record("HRANDFIELD one"); return }
        #expect(String(decoding: one, as: UTF8.self).hasPrefix("f"))
    }

    /// A sorted set used as a priority queue from both ends: each pop (and each peek with
    /// ZRANGE/ZREVRANGE) starts at the set's pop hint (the last member popped from that end),
    /// and members added below (or above) it, or moved there by ZINCRBY, must still come out
    /// first. Checked against a model, 3,000 steps.
    @Test func popsFromBothEndsSeeMembersAddedBeyondTheLastPop() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let client = try node.client()
        var model: [String: Double] = [:]
        var g = SplitMix64(seed: DifferentialHarness.seed("SortedSetPopHints"))
        func ordered() -> [(String, Double)] { model.sorted { $0.value != $1.value ? $0.value < $1.value : $0.key < $1.key } }
        for step in 0..<3_000 {
            let roll = g.next() % 10
            if roll < 4 || model.isEmpty {
                let member = "m\(g.next() % 500)"
                let score = Double(Int(g.next() % 2_001) - 1_000)
                _ = try client.command("ZADD", "q", "\(score)", member)
                model[member] = score
            } else if roll < 5 {
                let member = ordered()[Int(g.next() % UInt64(model.count))].0
                let delta = Double(Int(g.next() % 801) - 400)
                _ = try client.command("ZINCRBY", "q", "\(delta)", member)
                model[member]! += delta
            } else if roll == 7 {
                // Peeks at both ends walk from the hints too.
                let sorted = ordered().map(\.0)
                #expect(try client.command("ZRANGE", "q", "0", "1") == .array(sorted.prefix(2).map { .bulk(Array($0.utf8)) }), "step \(step) head")
                #expect(try client.command("ZRANGE", "q", "-2", "-1") == .array(sorted.suffix(2).map { .bulk(Array($0.utf8)) }), "step \(step) tail")
                #expect(try client.command("ZREVRANGE", "q", "0", "0") == .array(sorted.suffix(1).map { .bulk(Array($0.utf8)) }), "step \(step) rev")
            } else {
                let max = roll >= 8
                let count = Int(g.next() % 3) + 1
                // The three ways to pop: ZPOPMIN/MAX, ZMPOP and the blocking forms (which
                // answer at once when the set has members).
                let form = g.next() % 3
                var expected = ordered()
                if max { expected.reverse() }
                expected = Array(expected.prefix(form == 2 ? 1 : count))
                for (member, _) in expected { model[member] = nil }
                var got: [String] = []
                switch form {
                case 0:
                    guard case .array(let items?) = try client.command(max ? "ZPOPMAX" : "ZPOPMIN", "q", "\(count)") else { Issue.record("step \(step)"); return }
                    got = stride(from: 0, to: items.count, by: 2).map { items[$0].string ?? "?" }
                case 1:
                    guard case .array(let reply?) = try client.command("ZMPOP", "1", "q", max ? "MAX" : "MIN", "COUNT", "\(count)"), reply.count == 2,
                          case .array(let pairs?) = reply[1] else { Issue.record("step \(step) ZMPOP"); return }
                    got = pairs.compactMap { pair in if case .array(let p?) = pair { p[0].string } else { nil } }
                default:
                    guard case .array(let reply?) = try client.command(max ? "BZPOPMAX" : "BZPOPMIN", "q", "1"), reply.count == 3 else {
                        Issue.record("step \(step) BZPOP"); return
                    }
                    got = [reply[1].string ?? "?"]
                }
                #expect(got == expected.map(\.0), "step \(step) form \(form) \(max ? "max" : "min") \(count)")
                if got != expected.map(\.0) { return }
            }
        }
        #expect(try client.command("ZCARD", "q") == .integer(model.count))
    }
}
