import Foundation
import TestSupport
import Testing

/// Sets on the RocksDB engine, compared with a real redis-server.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct SetCommandTests {
    static let script: [[String]] = [
        ["SADD", "s", "a", "b", "c"], ["SADD", "s", "a", "d", "d"], ["SCARD", "s"], ["SMEMBERS", "s"], ["SISMEMBER", "s", "a"],
        ["SISMEMBER", "s", "zz"], ["SISMEMBER", "nokey", "a"], ["SMISMEMBER", "s", "a", "zz", "d"], ["SMISMEMBER", "nokey", "a"],
        ["SREM", "s", "a", "zz", "a"], ["SREM", "nokey", "a"], ["SCARD", "nokey"], ["SMEMBERS", "nokey"],
        ["SADD", "t", "b", "c", "e"], ["SINTER", "s", "t"], ["SUNION", "s", "t"], ["SDIFF", "s", "t"], ["SDIFF", "t", "s", "nokey"],
        ["SINTER", "s", "nokey"], ["SUNION", "nokey"], ["SINTERSTORE", "i", "s", "t"], ["SMEMBERS", "i"],
        ["SUNIONSTORE", "u", "s", "t"], ["SCARD", "u"], ["SDIFFSTORE", "d", "s", "t"], ["SMEMBERS", "d"],
        ["SINTERSTORE", "i", "s", "nokey"], ["EXISTS", "i"], ["SET", "str", "x"], ["SUNIONSTORE", "str", "s"], ["TYPE", "str"],
        ["SINTERCARD", "2", "s", "t"], ["SINTERCARD", "2", "s", "t", "LIMIT", "1"], ["SINTERCARD", "0", "s"],
        ["SINTERCARD", "3", "s"], ["SINTERCARD", "1", "s", "LIMIT", "-1"], ["SINTERCARD", "1", "s", "BOGUS"],
        ["SMOVE", "s", "t", "b"], ["SMOVE", "s", "t", "zz"], ["SMOVE", "nokey", "t", "b"], ["SMOVE", "t", "fresh", "e"],
        ["SMEMBERS", "fresh"], ["SMOVE", "t", "t", "c"], ["SMOVE", "t", "t", "zz"], ["SMOVE", "t", "str", "c"],
        ["SADD", "str", "x"], ["SMEMBERS", "str"], ["SINTER", "s", "str"], ["SCARD", "str"], ["GET", "s"],
        ["SPOP", "nokey"], ["SPOP", "nokey", "3"], ["SPOP", "s", "-1"], ["SPOP", "s", "0"], ["SRANDMEMBER", "nokey"],
        ["SRANDMEMBER", "nokey", "5"], ["SRANDMEMBER", "s", "0"], ["SADD", "one", "only"], ["SPOP", "one"], ["EXISTS", "one"],
        ["SADD", "one", "x"], ["SRANDMEMBER", "one"], ["SRANDMEMBER", "one", "-3"], ["SRANDMEMBER", "one", "5"],
        ["SRANDMEMBER", "one", "-9223372036854775808"],
        ["SADD", "e", "a"], ["EXPIRE", "e", "-1"], ["SISMEMBER", "e", "a"], ["SADD", "e", "b"], ["SMEMBERS", "e"],
        ["DEL", "t"], ["SMEMBERS", "t"], ["SADD"], ["SADD", "s"], ["SMOVE", "a", "b"],
    ]

    @Test func scriptedSetCommandsMatchRedis() throws {
        let harness = try DifferentialHarness()
        defer { harness.stop() }
        let differences = try harness.run(script: Self.script)
        #expect(differences.isEmpty, "\(differences.count) differences:\n\(differences.joined(separator: "\n"))")
    }

    @Test func randomSetSequencesMatchRedis() throws {
        let seed = DifferentialHarness.seed("SetCommandTests")
        let harness = try DifferentialHarness()
        defer { harness.stop() }
        let keys = ["s1", "s2", "s3", "str"]
        let members = ["a", "b", "c", "d", "", "\u{1}\u{2}"]
        let differences = try harness.run(random: 2000, seed: seed, probes: keys.map({ ["SMEMBERS", $0] }) + [["DBSIZE"]]) { g in
            let command: [String]
            switch g.next() % 12 {
            case 0, 1, 2: command = ["SADD", g.pick(keys)] + (0...(g.next() % 3)).map { _ in g.pick(members) }
            case 3: command = ["SREM", g.pick(keys), g.pick(members), g.pick(members)]
            case 4: command = ["SMOVE", g.pick(keys), g.pick(keys), g.pick(members)]
            case 5: command = [g.pick(["SINTER", "SUNION", "SDIFF"]), g.pick(keys), g.pick(keys)]
            case 6: command = [g.pick(["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]), g.pick(keys), g.pick(keys), g.pick(keys)]
            case 7: command = ["SISMEMBER", g.pick(keys), g.pick(members)]
            case 8: command = ["SCARD", g.pick(keys)]
            case 9: command = ["SINTERCARD", "2", g.pick(keys), g.pick(keys)]
            case 10: command = g.pick([["SET", "str", "v"], ["DEL", g.pick(keys)], ["EXPIRE", g.pick(keys), "-1"]])
            default: command = ["SMISMEMBER", g.pick(keys), g.pick(members), g.pick(members)]
            }
            return command
        }
        #expect(differences.isEmpty, "seed \(seed):\n\(differences.joined(separator: "\n"))")
    }

    /// SPOP and SRANDMEMBER are random: their members must come from the set, SPOP must
    /// remove what it returns, and counts must follow Redis's rules.
    @Test func randomMembersComeFromTheSet() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let client = try node.client()
        let all = Set((0..<20).map { "m\($0)" })
        #expect(try client.command(["SADD", "r"] + all.sorted()) == .integer(20))
        guard case .array(let distinct?) = try client.command("SRANDMEMBER", "r", "5") else { Issue.record("SRANDMEMBER"); return }
        let picked = distinct.compactMap(\.string)
        #expect(picked.count == 5 && Set(picked).count == 5 && Set(picked).isSubset(of: all))
        guard case .array(let repeated?) = try client.command("SRANDMEMBER", "r", "-50") else { Issue.record("SRANDMEMBER -50"); return }
        #expect(repeated.count == 50 && Set(repeated.compactMap(\.string)).isSubset(of: all))
        guard case .array(let popped?) = try client.command("SPOP", "r", "7") else { Issue.record("SPOP 7"); return }
        let gone = Set(popped.compactMap(\.string))
        #expect(gone.count == 7 && gone.isSubset(of: all))
        #expect(try client.command("SCARD", "r") == .integer(13))
        for member in gone { #expect(try client.command("SISMEMBER", "r", member) == .integer(0)) }
        guard case .bulk(let one?) = try client.command("SPOP", "r") else { Issue.record("SPOP"); return }
        #expect(all.contains(String(decoding: one, as: UTF8.self)))
        #expect(try client.command("SCARD", "r") == .integer(12))
        guard case .array(let rest?) = try client.command("SPOP", "r", "100") else { Issue.record("SPOP 100"); return }
        #expect(rest.count == 12)
        #expect(try client.command("EXISTS", "r") == .integer(0))
    }

    /// Picks with repeats whose reply would be huge get an error (Redis 7.0 builds the reply and
    /// dies of memory); the node goes on serving.
    @Test func hugeRepeatedPicksGetAnError() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let client = try node.client()
        let tooLarge = RESPValue.error("ERR count is too large: the reply would exceed 512 MB")
        #expect(try client.command("SADD", "s", "a", "b") == .integer(2))
        #expect(try client.command("HSET", "h", "f", "v") == .integer(1))
        #expect(try client.command("ZADD", "z", "1", "m") == .integer(1))
        #expect(try client.command("SRANDMEMBER", "s", "-9223372036854775807") == tooLarge)
        #expect(try client.command("HRANDFIELD", "h", "-9223372036854775807", "WITHVALUES") == tooLarge)
        #expect(try client.command("ZRANDMEMBER", "z", "-100000000") == tooLarge)
        // Few picks, big members: the limit is on the reply's bytes.
        let big = String(repeating: "x", count: 4 << 20)
        #expect(try client.command("SADD", "big", big) == .integer(1))
        #expect(try client.command("SRANDMEMBER", "big", "-130") == tooLarge)
        guard case .array(let fine?) = try client.command("SRANDMEMBER", "big", "-3") else { Issue.record("SRANDMEMBER -3"); return }
        #expect(fine.count == 3 && fine.allSatisfy { $0.string == big })
        #expect(try client.command("SCARD", "s") == .integer(2))
    }
}
