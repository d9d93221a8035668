import Foundation
import TestSupport
import Testing

/// Lists on the RocksDB engine, compared with a real redis-server.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ListCommandTests {
    static let script: [[String]] = [
        ["LPUSH", "l", "a", "b", "c"], ["RPUSH", "l", "x", "y"], ["LRANGE", "l", "0", "-1"], ["LLEN", "l"], ["LLEN", "nokey"],
        ["LINDEX", "l", "0"], ["LINDEX", "l", "-1"], ["LINDEX", "l", "99"], ["LINDEX", "l", "x"], ["LINDEX", "nokey", "0"],
        ["LRANGE", "l", "1", "2"], ["LRANGE", "l", "-2", "-1"], ["LRANGE", "l", "3", "1"], ["LRANGE", "l", "-100", "100"],
        ["LRANGE", "l", "10", "20"], ["LRANGE", "nokey", "0", "-1"], ["LRANGE", "l", "a", "1"],
        ["LPUSHX", "nokey", "a"], ["RPUSHX", "nokey", "a"], ["LPUSHX", "l", "p"], ["RPUSHX", "l", "q"], ["LRANGE", "l", "0", "-1"],
        ["LPOP", "l"], ["RPOP", "l"], ["LPOP", "l", "2"], ["RPOP", "l", "0"], ["LPOP", "l", "-1"], ["LPOP", "nokey"],
        ["LPOP", "nokey", "2"], ["RPOP", "l", "100"], ["EXISTS", "l"],
        ["RPUSH", "m", "1", "2", "3", "2", "1", "2"], ["LSET", "m", "0", "one"], ["LSET", "m", "-1", "last"], ["LSET", "m", "10", "x"],
        ["LSET", "nokey", "0", "x"], ["LRANGE", "m", "0", "-1"], ["LREM", "m", "1", "2"], ["LRANGE", "m", "0", "-1"],
        ["LREM", "m", "-1", "2"], ["LRANGE", "m", "0", "-1"], ["LREM", "m", "0", "zz"], ["LREM", "nokey", "0", "a"],
        ["LINSERT", "m", "BEFORE", "3", "b3"], ["LINSERT", "m", "AFTER", "3", "a3"], ["LINSERT", "m", "AFTER", "zz", "q"],
        ["LINSERT", "nokey", "BEFORE", "a", "b"], ["LINSERT", "m", "MIDDLE", "3", "x"], ["LRANGE", "m", "0", "-1"],
        ["RPUSH", "p", "a", "b", "c", "b", "a", "b"], ["LPOS", "p", "b"], ["LPOS", "p", "b", "RANK", "2"], ["LPOS", "p", "b", "RANK", "-1"],
        ["LPOS", "p", "b", "COUNT", "0"], ["LPOS", "p", "b", "COUNT", "2", "RANK", "-1"], ["LPOS", "p", "b", "MAXLEN", "2"],
        ["LPOS", "p", "zz"], ["LPOS", "p", "zz", "COUNT", "1"], ["LPOS", "p", "b", "RANK", "0"], ["LPOS", "p", "b", "COUNT", "-1"],
        ["LPOS", "p", "b", "MAXLEN", "-1"], ["LPOS", "p", "b", "BOGUS", "1"], ["LPOS", "nokey", "a"],
        ["LTRIM", "p", "1", "-2"], ["LRANGE", "p", "0", "-1"], ["LTRIM", "p", "5", "10"], ["EXISTS", "p"], ["LTRIM", "nokey", "0", "1"],
        ["RPUSH", "src", "1", "2", "3"], ["LMOVE", "src", "dst", "LEFT", "RIGHT"], ["LMOVE", "src", "dst", "RIGHT", "LEFT"],
        ["LRANGE", "dst", "0", "-1"], ["LMOVE", "src", "src", "LEFT", "RIGHT"], ["LRANGE", "src", "0", "-1"],
        ["RPOPLPUSH", "src", "dst"], ["RPOPLPUSH", "src", "dst"], ["EXISTS", "src"], ["RPOPLPUSH", "nokey", "dst"],
        ["LMOVE", "dst", "dst", "UP", "LEFT"], ["LRANGE", "dst", "0", "-1"],
        ["LMPOP", "2", "nokey", "dst", "LEFT"], ["LMPOP", "2", "nokey", "dst", "RIGHT", "COUNT", "2"], ["LMPOP", "1", "nokey", "LEFT"],
        ["LMPOP", "0", "dst", "LEFT"], ["LMPOP", "1", "dst", "SIDEWAYS"], ["LMPOP", "1", "dst", "LEFT", "COUNT", "0"],
        // Types
        ["SET", "str", "v"], ["LPUSH", "str", "a"], ["LRANGE", "str", "0", "-1"], ["LPOP", "str"], ["LMOVE", "dst", "str", "LEFT", "LEFT"],
        ["RPUSH", "typed", "a"], ["TYPE", "typed"], ["GET", "typed"], ["HSET", "typed", "f", "v"], ["SADD", "typed", "m"],
        ["EXPIRE", "typed", "-1"], ["LLEN", "typed"], ["RPUSH", "typed", "b"], ["LRANGE", "typed", "0", "-1"], ["LPUSH", "l"],
    ]

    @Test func scriptedListCommandsMatchRedis() throws {
        let harness = try DifferentialHarness()
        defer { harness.stop() }
        let differences = try harness.run(script: Self.script)
        #expect(differences.isEmpty, "\(differences.count) differences:\n\(differences.joined(separator: "\n"))")
    }

    @Test func randomListSequencesMatchRedis() throws {
        let seed = DifferentialHarness.seed("ListCommandTests")
        let harness = try DifferentialHarness()
        defer { harness.stop() }
        let keys = ["l1", "l2", "str"]
        let values = ["a", "b", "c", "", "1"]
        let indices = ["0", "1", "-1", "-2", "2", "5", "-10"]
        let differences = try harness.run(random: 2000, seed: seed, probes: [["LRANGE", "l1", "0", "-1"], ["LRANGE", "l2", "0", "-1"], ["GET", "str"], ["DBSIZE"]]) { g in
            let key = g.pick(keys)
            let command: [String]
            switch g.next() % 13 {
            case 0, 1: command = [g.pick(["LPUSH", "RPUSH"]), key] + (0...(g.next() % 3)).map { _ in g.pick(values) }
            case 2: command = [g.pick(["LPOP", "RPOP"]), key] + (g.chance(50) ? [g.pick(["1", "2", "0"])] : [])
            case 3: command = ["LRANGE", key, g.pick(indices), g.pick(indices)]
            case 4: command = ["LINDEX", key, g.pick(indices)]
            case 5: command = ["LSET", key, g.pick(indices), g.pick(values)]
            case 6: command = ["LTRIM", key, g.pick(indices), g.pick(indices)]
            case 7: command = ["LREM", key, g.pick(["0", "1", "-1", "2"]), g.pick(values)]
            case 8: command = ["LINSERT", key, g.pick(["BEFORE", "AFTER"]), g.pick(values), g.pick(values)]
            case 9: command = ["LMOVE", key, g.pick(keys), g.pick(["LEFT", "RIGHT"]), g.pick(["LEFT", "RIGHT"])]
            case 10: command = ["LPOS", key, g.pick(values)] + (g.chance(50) ? ["RANK", g.pick(["1", "-1", "2"])] : [])
            case 11: command = g.pick([["SET", "str", "v"], ["DEL", key], [g.pick(["LPUSHX", "RPUSHX"]), key, "x"]])
            default: command = ["LLEN", key]
            }
            return command
        }
        #expect(differences.isEmpty, "seed \(seed):\n\(differences.joined(separator: "\n"))")
    }
}
