import Foundation
import TestSupport
import Testing

/// SORT and SORT_RO on the RocksDB engine, compared with a real redis-server.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct SortCommandTests {
    static let script: [[String]] = [
        ["RPUSH", "nums", "3", "10", "-2", "1.5", "inf", " 7", "", "3"], ["SORT", "nums"], ["SORT", "nums", "DESC"],
        ["SORT", "nums", "LIMIT", "1", "3"], ["SORT", "nums", "LIMIT", "-5", "2"], ["SORT", "nums", "LIMIT", "6", "100"],
        ["SORT", "nums", "LIMIT", "20", "2"], ["SORT", "nums", "LIMIT", "0", "0"], ["SORT", "nums", "LIMIT", "2", "-1"],
        ["SORT", "nums", "LIMIT", "x", "1"], ["SORT", "nums", "LIMIT", "1"], ["SORT", "nums", "ALPHA"],
        ["SORT", "nums", "ALPHA", "DESC", "LIMIT", "0", "3"],
        ["RPUSH", "words", "pear", "apple", "fig", "Apple", "banana"], ["SORT", "words"], ["SORT", "words", "ALPHA"],
        ["SORT", "words", "alpha", "desc"], ["SORT_RO", "words", "ALPHA"],
        // BY with string keys and hash fields; GET # and patterns; missing lookups.
        ["MSET", "w_pear", "3", "w_apple", "1", "w_fig", "2", "w_banana", "5", "n_pear", "P", "n_fig", "F"],
        ["HSET", "h_pear", "rank", "30", "name", "Pear"], ["HSET", "h_apple", "rank", "10"], ["HSET", "h_banana", "rank", "x"],
        ["SORT", "words", "BY", "w_*"], ["SORT", "words", "BY", "w_*", "DESC"], ["SORT", "words", "BY", "w_*", "GET", "#", "GET", "n_*"],
        ["SORT", "words", "BY", "h_*->rank", "ALPHA"], ["SORT", "words", "BY", "h_*->rank"],
        ["SORT", "words", "BY", "w_*", "GET", "h_*->name", "GET", "h_*->nofield", "GET", "nostar", "GET", "h_*->"],
        ["SORT", "words", "BY", "missing_*", "ALPHA"], ["SORT", "words", "BY", "n_*", "ALPHA"],
        // Lookups of another type read as missing: a field of a string, a hash as a string.
        ["SORT", "words", "BY", "w_*", "GET", "w_*->x", "GET", "h_*"], ["SORT", "words", "BY", "h_*", "ALPHA"],
        // BY without '*' keeps the list or zset order, LIMIT and DESC applied to it.
        ["SORT", "words", "BY", "nosort"], ["SORT", "words", "BY", "nosort", "DESC"], ["SORT", "words", "BY", "nosort", "LIMIT", "1", "2"],
        ["SORT", "words", "BY", "nosort", "DESC", "LIMIT", "1", "2"],
        ["ZADD", "z", "3", "c", "1", "a", "2", "b", "2", "bb"], ["SORT", "z", "BY", "nosort"], ["SORT", "z", "BY", "nosort", "DESC", "LIMIT", "0", "2"],
        ["SORT", "z", "ALPHA", "DESC"], ["SORT", "z"],
        ["ZADD", "zn", "5", "10", "1", "20", "3", "3"], ["SORT", "zn"], ["SORT", "zn", "BY", "nosort", "GET", "#"],
        // Sets: sorted output is deterministic; STORE of an unsorted set is forced to ALPHA.
        ["SADD", "s", "5", "1", "4", "20"], ["SORT", "s"], ["SORT", "s", "DESC", "LIMIT", "0", "2"], ["SORT", "s", "ALPHA"],
        ["SORT", "s", "BY", "nosort", "STORE", "sorted"], ["LRANGE", "sorted", "0", "-1"], ["TYPE", "sorted"],
        // STORE replaces any type, stores "" for missing lookups, and deletes on an empty result.
        ["SET", "dest", "x"], ["SORT", "words", "ALPHA", "STORE", "dest"], ["TYPE", "dest"], ["LRANGE", "dest", "0", "-1"],
        ["SORT", "words", "BY", "w_*", "GET", "n_*", "STORE", "dest2"], ["LRANGE", "dest2", "0", "-1"],
        ["SORT", "nokey", "STORE", "dest2"], ["EXISTS", "dest2"], ["SORT", "nokey"], ["SORT", "nokey", "ALPHA", "LIMIT", "0", "5"],
        ["SORT", "nums", "LIMIT", "0", "2", "STORE", "nums"], ["LRANGE", "nums", "0", "-1"],
        // Errors.
        ["SORT", "words"], ["RPUSH", "bad", "1", "two"], ["SORT", "bad"], ["SORT", "bad", "ALPHA"], ["SET", "str", "v"],
        ["SORT", "str"], ["HSET", "hash", "f", "v"], ["SORT", "hash"], ["SORT", "words", "BOGUS"], ["SORT", "words", "BY"],
        ["SORT", "words", "GET"], ["SORT", "words", "STORE"], ["SORT_RO", "words", "ALPHA", "STORE", "x"], ["SORT"], ["SORT_RO"],
        ["RPUSH", "nan", "nan"], ["SORT", "nan"], ["RPUSH", "big", "1e400"], ["SORT", "big"],
    ]

    @Test func scriptedSortMatchesRedis() throws {
        let harness = try DifferentialHarness()
        defer { harness.stop() }
        let differences = try harness.run(script: Self.script)
        #expect(differences.isEmpty, "\(differences.count) differences:\n\(differences.joined(separator: "\n"))")
    }

    @Test func randomSortsMatchRedis() throws {
        let seed = DifferentialHarness.seed("SortCommandTests")
        let harness = try DifferentialHarness()
        defer { harness.stop() }
        let values = ["1", "2", "10", "-3", "2.5", "a", "b", "B", "", "07", "inf"]
        let differences = try harness.run(random: 1500, seed: seed, probes: [["LRANGE", "out", "0", "-1"]]) { g in
            func pick(_ g: inout SplitMix64) -> String { values[Int(g.next() % UInt64(values.count))] }
            switch g.next() % 8 {
            case 0: return ["RPUSH", "l", pick(&g)]
            case 1: return ["ZADD", "z", String(Int(g.next() % 7)), pick(&g)]
            case 2: return ["SET", "w_\(pick(&g))", String(Int(g.next() % 5))]
            case 3: return ["LREM", "l", "0", pick(&g)]
            default:
                var command = ["SORT", g.next() % 2 == 0 ? "l" : "z"]
                let alpha = g.next() % 2 == 0
                if alpha { command.append("ALPHA") }
                // ALPHA BY with equal weights leaves Redis's order unspecified (an unstable
                // sort): BY weights only for numeric sorts, whose ties fall back to the element.
                if g.next() % 3 == 0 { command += ["BY", g.next() % 2 == 0 && !alpha ? "w_*" : "nosort"] }
                if g.next() % 3 == 0 { command += ["LIMIT", String(Int(g.next() % 5) - 1), String(Int(g.next() % 6) - 1)] }
                if g.next() % 2 == 0 { command.append("DESC") }
                if g.next() % 3 == 0 { command += ["GET", "#", "GET", "w_*"] }
                if g.next() % 4 == 0 { command += ["STORE", "out"] }
                return command
            }
        }
        #expect(differences.isEmpty, "seed \(seed): \(differences.count) differences:\n\(differences.prefix(20).joined(separator: "\n"))")
    }
}
