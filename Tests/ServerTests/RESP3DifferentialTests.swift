import Foundation
import TestSupport
import Testing

/// Every scripted differential table again, with both connections switched to RESP3 (HELLO 3):
/// doubles, maps, sets and nulls must be Redis 7.0's, byte for byte (issue 20).
@Suite(.serialized, .timeLimit(.minutes(3)))
struct RESP3DifferentialTests {
    static let scripts: [(String, [[String]])] = [
        ("strings", StringCommandTests.script), ("hashes", HashCommandTests.script), ("lists", ListCommandTests.script),
        ("sets", SetCommandTests.script), ("sorted sets", SortedSetCommandTests.script), ("bitmaps", BitmapCommandTests.script),
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
            ["ZRANDMEMBER", "z1", "-2"], ["ZRANDMEMBER", "none", "1", "WITHSCORES"], ["ZRANDMEMBER", "none"],
            ["ZADD", "bz", "2", "a", "3", "b"], ["BZPOPMIN", "bz", "0"], ["BZPOPMAX", "bz", "0"], ["BZPOPMIN", "bz", "0.01"],
            ["ZADD", "bz", "inf", "top", "-inf", "bottom"], ["BZMPOP", "0", "1", "bz", "MIN", "COUNT", "5"], ["ZSCORE", "none", "m"],
            ["HGETALL", "none"], ["SMEMBERS", "none"], ["SPOP", "none", "2"], ["SRANDMEMBER", "none", "2"], ["GET", "none"],
            ["LPOP", "none"], ["LPOP", "none", "2"], ["BLPOP", "none", "0.01"], ["LMPOP", "1", "none", "LEFT"],
            ["ZADD", "zi", "1", "x"], ["ZINCRBY", "zi", "inf", "x"], ["ZSCORE", "zi", "x"], ["ZRANGE", "zi", "0", "-1", "WITHSCORES"],
            ["SADD", "s1", "a"], ["SPOP", "s1", "5"], ["SINTER", "none", "s1"], ["SUNION", "none"], ["SDIFF", "none"],
        ])
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }
}
