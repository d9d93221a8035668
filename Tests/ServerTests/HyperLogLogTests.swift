import Foundation
import TestSupport
import Testing

/// PFADD, PFCOUNT and PFMERGE on the RocksDB engine against a real redis-server, comparing not
/// only the replies but the stored value itself (GET): the sparse and dense encodings, the
/// promotion between them and the cached cardinality must be Redis's bytes (issue 20).
@Suite(.serialized, .timeLimit(.minutes(3)))
struct HyperLogLogTests {
    @Test func scriptMatchesRedis() throws {
        let harness = try DifferentialHarness()
        defer { harness.stop() }
        var script: [[String]] = [
            ["PFADD", "h"], ["GET", "h"], ["PFCOUNT", "h"], ["GET", "h"], ["PFADD", "h"], ["PFADD", "h", "a", "b", "c"], ["PFADD", "h", "a"],
            ["GET", "h"], ["PFCOUNT", "h"], ["GET", "h"], ["PFCOUNT", "h", "none"], ["PFCOUNT", "none"], ["PFCOUNT", "none", "none2"],
            ["SET", "s", "not an hll"], ["PFADD", "s", "x"], ["PFCOUNT", "s"], ["PFMERGE", "d", "s"], ["LPUSH", "l", "x"], ["PFADD", "l", "x"],
            ["PFCOUNT", "h", "l"], ["PFMERGE", "d", "h", "none"], ["GET", "d"], ["PFCOUNT", "d"], ["PFMERGE", "d2"], ["GET", "d2"],
            ["SET", "e", "x", "EX", "1000"], ["DEL", "e"], ["PFADD", "e", "q"], ["EXPIRE", "e", "1000"], ["PFADD", "e", "r"], ["TTL", "e"],
            ["PFADD"], ["PFCOUNT"], ["PFMERGE"],
        ]
        // Grow one HLL past the sparse limit into dense, checking the bytes on the way.
        for i in stride(from: 0, to: 4_000, by: 8) {
            script.append(["PFADD", "big"] + (i..<(i + 8)).map { "element:\($0)" })
            script.append(["STRLEN", "big"])
            if i % 200 == 0 { script.append(["PFCOUNT", "big"]) }
        }
        script += [["GET", "big"], ["PFMERGE", "h", "big"], ["GET", "h"], ["PFCOUNT", "h", "big", "d"], ["PFMERGE", "new", "h", "d"], ["GET", "new"]]
        let differences = try harness.run(script: script)
        #expect(differences.isEmpty, "\(differences.prefix(5).joined(separator: "\n"))")
    }

    /// PFDEBUG's four subcommands and errors, and PFSELFTEST, against Redis: GETREG and TODENSE
    /// store a sparse HLL as dense (GET compares the bytes), DECODE prints the sparse opcodes.
    @Test func pfdebugAndPfselftestMatchRedis() throws {
        let harness = try DifferentialHarness()
        defer { harness.stop() }
        let script: [[String]] = [
            ["PFDEBUG", "ENCODING", "none"], ["PFDEBUG", "NOPE", "none"], ["PFDEBUG", "GETREG"], ["PFDEBUG", "GETREG", "a", "b"],
            ["SET", "s", "not an hll"], ["PFDEBUG", "ENCODING", "s"], ["LPUSH", "l", "x"], ["PFDEBUG", "DECODE", "l"],
            ["PFADD", "h", "a", "b", "c"], ["PFDEBUG", "nope", "h"], ["PFDEBUG", "encoding", "h"], ["PFDEBUG", "DECODE", "h"],
            ["PFADD", "h2", "x", "y"], ["PFDEBUG", "TODENSE", "h2"], ["GET", "h2"], ["PFDEBUG", "TODENSE", "h2"],
            ["PFDEBUG", "ENCODING", "h2"], ["PFDEBUG", "DECODE", "h2"], ["PFCOUNT", "h2"],
            ["PFDEBUG", "GETREG", "h"], ["GET", "h"], ["PFDEBUG", "ENCODING", "h"], ["PFADD", "h", "d"], ["PFCOUNT", "h"],
            ["PFADD", "e", "q"], ["EXPIRE", "e", "1000"], ["PFDEBUG", "TODENSE", "e"], ["TTL", "e"],
            ["PFSELFTEST"], ["PFSELFTEST", "x"],
        ]
        let differences = try harness.run(script: script)
        #expect(differences.isEmpty, "\(differences.prefix(5).joined(separator: "\n"))")
    }

    /// Seeded random elements into a few HLLs, merges and counts, with every value compared
    /// byte for byte after each command.
    @Test func randomSequencesMatchRedisByteForByte() throws {
        let harness = try DifferentialHarness()
        defer { harness.stop() }
        let keys = ["ha", "hb", "hc"]
        let differences = try harness.run(random: 400, seed: DifferentialHarness.seed("hll"), probes: keys.map { ["GET", $0] }) { g in
            let key = g.pick(keys)
            switch g.next() % 10 {
            case 0: return ["PFCOUNT"] + (0..<Int(g.next() % 3 + 1)).map { _ in g.pick(keys) }
            case 1: return ["PFMERGE", key] + (0..<Int(g.next() % 3)).map { _ in g.pick(keys) }
            case 2: return ["DEL", key]
            default:
                let n = Int(g.next() % 60) + 1
                let base = g.next() % 5_000
                return ["PFADD", key] + (0..<n).map { "e\(base + UInt64($0) * (g.next() % 7 + 1))" }
            }
        }
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }
}
