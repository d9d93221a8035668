import Foundation
import Protocol
import TestSupport
import Testing

/// Every scripted differential table again, with both connections switched to RESP3 (HELLO 3):
/// doubles, maps, sets and nulls must be Redis 7.0's, byte for byte (issue 20).
@Suite(.serialized, .timeLimit(.minutes(3)))
struct RESP3DifferentialTests {
    static let scripts: [(String, [[String]])] = [
        ("strings", StringCommandTests.script), ("hashes", HashCommandTests.script), ("lists", ListCommandTests.script),
        ("sets", SetCommandTests.script), ("sorted sets", SortedSetCommandTests.script), ("bitmaps", BitmapCommandTests.script),
        ("geo", GeoCommandTests.script),
        ("keyspace", MoveAndScanTests.setup + MoveAndScanTests.script), ("sort", SortCommandTests.script),
        ("transactions", TransactionTests.script),
    ]

    @Test(arguments: scripts.indices)
    func scriptMatchesRedisInRESP3(_ index: Int) throws {
        let (name, script) = Self.scripts[index]
        let harness = try DifferentialHarness(resp3: true)
        defer { harness.stop() }
        let differences = try harness.run(script: script)
        #expect(differences.isEmpty, "\(name): \(differences.count) differences\n\(differences.prefix(40).joined(separator: "\n"))")
    }

    /// Replies whose RESP3 shape differs and that no table above pins down: random picks of a
    /// one-element collection (so the pick is certain), blocking pops that find an element,
    /// nulls, empty maps and sets.
    @Test func randomPicksPopsAndNullsMatchRedisInRESP3() throws {
        let harness = try DifferentialHarness(resp3: true)
        defer { harness.stop() }
        let differences = try harness.run(script: [
            ["HSET", "h1", "f", "v"], ["HRANDFIELD", "h1", "1", "WITHVALUES"], ["HRANDFIELD", "h1", "-3", "WITHVALUES"],
            ["HRANDFIELD", "h1", "2"], ["HRANDFIELD", "h1"], ["HRANDFIELD", "none", "2", "WITHVALUES"], ["HRANDFIELD", "none"],
            ["ZADD", "z1", "1.5", "m"], ["ZRANDMEMBER", "z1", "1", "WITHSCORES"], ["ZRANDMEMBER", "z1", "-3", "WITHSCORES"],
            ["ZRANDMEMBER", "z1", "-2"], ["ZADD", "z3", "1", "a", "3", "c", "2", "b", "2", "bb"], ["ZRANDMEMBER", "z3", "4", "WITHSCORES"], ["ZRANDMEMBER", "z3", "100"], ["ZRANDMEMBER", "none", "1", "WITHSCORES"], ["ZRANDMEMBER", "none"],
            ["ZADD", "bz", "2", "a", "3", "b"], ["BZPOPMIN", "bz", "0"], ["BZPOPMAX", "bz", "0"], ["BZPOPMIN", "bz", "0.01"],
            ["ZADD", "bz", "inf", "top", "-inf", "bottom"], ["BZMPOP", "0", "1", "bz", "MIN", "COUNT", "5"], ["ZSCORE", "none", "m"],
            ["HGETALL", "none"], ["SMEMBERS", "none"], ["SPOP", "none", "2"], ["SRANDMEMBER", "none", "2"], ["GET", "none"],
            ["LPOP", "none"], ["LPOP", "none", "2"], ["BLPOP", "none", "0.01"], ["LMPOP", "1", "none", "LEFT"],
            ["ZADD", "zi", "1", "x"], ["ZINCRBY", "zi", "inf", "x"], ["ZSCORE", "zi", "x"], ["ZRANGE", "zi", "0", "-1", "WITHSCORES"],
            ["SADD", "s1", "a"], ["SPOP", "s1", "5"], ["SINTER", "none", "s1"], ["SUNION", "none"], ["SDIFF", "none"],
        ])
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }

    /// OBJECT ENCODING for every type on both sides of Redis 7.0's thresholds: integers and
    /// strings of 44 and 45 bytes, hashes of 512 and 513 fields and sorted sets of 128 and 129
    /// members, a hash value and a member of 65 bytes, sets of 512 and 513 integers and a set
    /// with one non-integer; a missing key and a wrong arity.
    @Test func objectEncodingMatchesRedis() throws {
        let harness = try DifferentialHarness(resp3: false)
        defer { harness.stop() }
        var script: [[String]] = [
            ["SET", "i", "12345"], ["SET", "neg", "-7"], ["SET", "lead", "012"], ["SET", "big", "99999999999999999999"],
            ["SET", "e44", String(repeating: "x", count: 44)], ["SET", "r45", String(repeating: "x", count: 45)],
            ["SETBIT", "bits", "100000", "1"], ["RPUSH", "l", "a"],
        ]
        script.append(["HSET", "h512"] + (0..<512).flatMap { ["f\($0)", "v"] })
        script.append(["HSET", "h513"] + (0..<513).flatMap { ["f\($0)", "v"] })
        script.append(["HSET", "hlong", "f", String(repeating: "v", count: 65)])
        script.append(["ZADD", "zlong", "1", String(repeating: "m", count: 65)])
        script.append(["ZADD", "z128"] + (0..<128).flatMap { ["\($0)", "m\($0)"] })
        script.append(["ZADD", "z129"] + (0..<129).flatMap { ["\($0)", "m\($0)"] })
        script.append(["SADD", "s512"] + (0..<512).map { "\($0)" })
        script.append(["SADD", "s513"] + (0..<513).map { "\($0)" })
        script.append(["SADD", "sx", "1", "2", "x"])
        for key in ["i", "neg", "lead", "big", "e44", "r45", "bits", "l", "h512", "h513", "hlong", "zlong", "z128", "z129", "s512", "s513", "sx", "none"] {
            script.append(["OBJECT", "ENCODING", key])
        }
        script.append(["OBJECT", "ENCODING"])
        script.append(["OBJECT", "ENCODING", "i", "extra"])
        let differences = try harness.run(script: script)
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }

    /// Error texts Redis 7.0 words its own way, OBJECT FREQ without an LFU policy, CLIENT
    /// NO-EVICT's argument, and LCS in all its forms; in RESP2 and RESP3.
    @Test(arguments: [false, true])
    func errorTextsAndLCSMatchRedis(resp3: Bool) throws {
        let harness = try DifferentialHarness(resp3: resp3)
        defer { harness.stop() }
        let differences = try harness.run(script: [
            ["LPOP"], ["LPOP", "a", "1", "2"], ["RPOP"], ["RPOP", "a", "1", "2"], ["LPOP", "a", "-1"], ["LPOP", "a", "x"],
            ["ZINTERCARD", "0", "a"], ["ZINTERCARD", "-1", "a"], ["ZINTERCARD", "2", "a"], ["ZINTERCARD", "1", "a", "LIMIT", "-1"], ["ZINTERCARD", "1", "a", "LIMIT", "x"],
            ["ZINTERCARD", "x", "a"], ["ZINTERCARD", "1", "a", "FOO", "1"], ["ZINTERCARD", "1", "a", "LIMIT"],
            ["SINTERCARD", "0", "a"], ["SINTERCARD", "-1", "a"], ["SINTERCARD", "2", "a"], ["SINTERCARD", "1", "a", "LIMIT", "-1"], ["SINTERCARD", "x", "a"],
            ["SINTERCARD", "1", "a", "LIMIT", "x"], ["SINTERCARD", "1", "a", "BAR", "1"],
            ["LMPOP", "0", "a", "LEFT"], ["LMPOP", "-1", "a", "LEFT"], ["LMPOP", "2", "a", "LEFT"], ["LMPOP", "1", "a", "UP"], ["LMPOP", "1", "a", "LEFT", "COUNT", "0"],
            ["LMPOP", "1", "a", "LEFT", "COUNT", "-1"], ["LMPOP", "x", "a", "LEFT"], ["LMPOP", "1", "a", "LEFT", "COUNT"], ["LMPOP", "1", "a", "LEFT", "FOO", "1"],
            ["ZMPOP", "0", "a", "MIN"], ["ZMPOP", "-1", "a", "MIN"], ["ZMPOP", "2", "a", "MIN"], ["ZMPOP", "1", "a", "UP"], ["ZMPOP", "1", "a", "MIN", "COUNT", "0"],
            ["ZMPOP", "1", "a", "MIN", "COUNT", "-1"], ["ZMPOP", "x", "a", "MIN"], ["ZMPOP", "1", "a", "MIN", "COUNT", "1", "COUNT", "2"],
            ["BLMPOP", "0", "0", "a", "LEFT"], ["BZMPOP", "0", "0", "a", "MIN"], ["BLMPOP", "-1", "1", "a", "LEFT"],
            ["HSET", "h", "f", "v"], ["HRANDFIELD", "h", "-9223372036854775808"], 
            ["HRANDFIELD", "h", "9223372036854775807"], ["HRANDFIELD", "h", "x"], ["ZADD", "z", "1", "m"], ["ZRANDMEMBER", "z", "-9223372036854775808"],
            ["SADD", "s", "m"], ["SRANDMEMBER", "s", "-9223372036854775808"], ["SPOP", "s", "-1"],
            ["OBJECT", "FREQ", "h"], ["OBJECT", "HELP"], ["OBJECT", "FOO", "h"], ["OBJECT", "IDLETIME", "nope"],
            ["CLIENT", "NO-EVICT", "on"], ["CLIENT", "NO-EVICT", "maybe"], ["LCS", "a", "b"],
            ["CLIENT", "KILL", "127.0.0.1:1"], ["CLIENT", "KILL", "ID", "99999"], ["CLIENT", "KILL", "ID", "0"], ["CLIENT", "KILL", "ID", "x"],
            ["CLIENT", "KILL", "TYPE", "foo"], ["CLIENT", "KILL", "TYPE", "pubsub"], ["CLIENT", "KILL", "USER", "bob"], ["CLIENT", "KILL", "FOO", "bar"],
            ["CLIENT", "KILL", "ADDR", "1.2.3.4:5", "SKIPME", "maybe"], ["CLIENT", "KILL", "ID"], ["CLIENT", "KILL"],
            ["CLIENT", "UNBLOCK", "99999"], ["CLIENT", "UNBLOCK", "x"], ["CLIENT", "UNBLOCK", "1", "FOO"], ["CLIENT", "UNBLOCK", "1", "error"],
            ["CLIENT", "PAUSE", "x"], ["CLIENT", "PAUSE", "-1"], ["CLIENT", "PAUSE", "10", "FOO"], ["CLIENT", "PAUSE", "0"], ["CLIENT", "PAUSE", "0", "write"],
            ["CLIENT", "UNPAUSE"], ["CLIENT", "UNPAUSE", "x"],
            ["SET", "k1", "ohmytext"], ["SET", "k2", "mynewtext"], ["LCS", "k1", "k2"], ["LCS", "k1", "k2", "LEN"],
            ["LCS", "k1", "k2", "IDX"], ["LCS", "k1", "k2", "IDX", "MINMATCHLEN", "4"], ["LCS", "k1", "k2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"],
            ["LCS", "k1", "k2", "IDX", "WITHMATCHLEN"], ["LCS", "k1", "k2", "LEN", "IDX"], ["LCS", "k1", "k2", "FOO"], ["LCS", "k1", "k2", "MINMATCHLEN"],
            ["LCS", "k1", "k2", "MINMATCHLEN", "x"], ["LCS", "k1", "k2", "IDX", "MINMATCHLEN", "-5"], ["LCS", "k1", "none"], ["LCS", "none", "none", "IDX"],
            ["LCS", "k1", "h"], ["LCS", "h", "k1", "FOO"], ["LCS", "k1"], ["SET", "k3", "aaaa"], ["SET", "k4", "aa"], ["LCS", "k3", "k4", "IDX", "WITHMATCHLEN"],
            ["SET", "k5", "abcdefghijabcdefghij"], ["SET", "k6", "xbcdxghijyyyabcdzz"], ["LCS", "k5", "k6"], ["LCS", "k5", "k6", "IDX", "WITHMATCHLEN"],
            ["SETBIT", "bb", "1", "1"], ["BITFIELD_RO", "bb", "GET", "u2", "0"],
        ])
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }

    /// Seeded random strings over a small alphabet, so that matches and ties abound.
    @Test func randomLCSMatchesRedis() throws {
        let harness = try DifferentialHarness()
        defer { harness.stop() }
        let differences = try harness.run(random: 600, seed: DifferentialHarness.seed("lcs"), probes: []) { g in
            func text() -> String { String((0..<Int(g.next() % 14)).map { _ in g.pick(Array("abc")) }) }
            switch g.next() % 4 {
            case 0: return ["SET", "la", text()]
            case 1: return ["SET", "lb", text()]
            case 2: return ["LCS", "la", "lb"] + (g.chance(50) ? ["IDX"] : ["LEN"])
            default: return ["LCS", g.pick(["la", "lb"]), g.pick(["la", "lb"]), "IDX", "MINMATCHLEN", String(g.next() % 3), "WITHMATCHLEN"]
            }
        }
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }
}

/// Every command in the table with one argument too few (and, for fixed arities, one too
/// many) against redis-server 7.0: the arity error must be Redis's, word for word (issue 20).
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ArityDifferentialTests {
    @Test func everyCommandsArityErrorMatchesRedis() throws {
        let harness = try DifferentialHarness()
        defer { harness.stop() }
        var script: [[String]] = []
        for spec in CommandTable.all where spec.id != .refused && spec.id != .forwarded {
            let name = spec.text
            // Dynamis's own commands, and Dynomite's, have no redis-server counterpart.
            if name.hasPrefix("dynamis.") || name.hasPrefix("dyno_") { continue }
            let needed = abs(spec.arity)
            if needed >= 2 { script.append([name.uppercased()] + Array(repeating: "x", count: needed - 2)) }
            if spec.arity > 0 { script.append([name] + Array(repeating: "x", count: needed)) }
        }
        #expect(script.count > 200)
        let differences = try harness.run(script: script)
        #expect(differences.isEmpty, "\(differences.count) differences\n\(differences.prefix(20).joined(separator: "\n"))")
    }
}
