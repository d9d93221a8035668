import Foundation
import TestSupport
import Testing

/// SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO on the RocksDB engine, compared reply for reply
/// with a real redis-server (issue 20).
@Suite(.serialized, .timeLimit(.minutes(3)))
struct BitmapCommandTests {
    static let script: [[String]] = [
        // SETBIT / GETBIT and their argument errors
        ["SETBIT", "b", "7", "1"], ["SETBIT", "b", "7", "1"], ["SETBIT", "b", "7", "0"], ["GETBIT", "b", "7"],
        ["SETBIT", "b", "100", "1"], ["GET", "b"], ["STRLEN", "b"], ["GETBIT", "b", "100"], ["GETBIT", "b", "99"],
        ["GETBIT", "b", "100000"], ["GETBIT", "none", "0"], ["SETBIT", "b", "-1", "1"], ["SETBIT", "b", "x", "1"],
        ["SETBIT", "big", "8388607", "1"], ["STRLEN", "big"], ["BITCOUNT", "big"], ["BITPOS", "big", "1"], ["SETBIT", "b", "4294967296", "1"], ["GETBIT", "b", "4294967296"],
        ["SETBIT", "b", "1", "2"], ["SETBIT", "b", "1", "-1"], ["SETBIT", "b", "1", "01"], ["SETBIT", "b", "1", ""],
        ["SETBIT", "b", "1.5", "1"], ["GETBIT", "b", "-1"], ["SETBIT", "b"], ["GETBIT", "b"],
        ["SET", "str", "foobar"], ["GETBIT", "str", "1"], ["SETBIT", "str", "0", "1"], ["GET", "str"],
        ["HSET", "h", "f", "v"], ["SETBIT", "h", "0", "1"], ["GETBIT", "h", "0"], ["BITCOUNT", "h"], ["BITPOS", "h", "1"],
        ["SET", "ttl", "a", "EX", "1000"], ["SETBIT", "ttl", "9", "1"], ["TTL", "ttl"],
        // BITCOUNT: BYTE and BIT ranges, negatives, empty ranges, errors
        ["SET", "fb", "foobar"], ["BITCOUNT", "fb"], ["BITCOUNT", "fb", "0", "0"], ["BITCOUNT", "fb", "1", "1"],
        ["BITCOUNT", "fb", "1", "1", "BYTE"], ["BITCOUNT", "fb", "5", "30", "BIT"], ["BITCOUNT", "fb", "5", "30", "bit"],
        ["BITCOUNT", "fb", "-1", "-1"], ["BITCOUNT", "fb", "-2", "-1", "BIT"], ["BITCOUNT", "fb", "-1", "-3"],
        ["BITCOUNT", "fb", "3", "1"], ["BITCOUNT", "fb", "0", "100"], ["BITCOUNT", "fb", "-100", "100"],
        ["BITCOUNT", "fb", "0"], ["BITCOUNT", "fb", "a", "1"], ["BITCOUNT", "fb", "0", "1", "WORD"],
        ["BITCOUNT", "fb", "0", "1", "BIT", "x"], ["BITCOUNT", "none"], ["BITCOUNT", "none", "0"], ["BITCOUNT", "none", "a", "b"],
        ["BITCOUNT", "fb", "7", "9", "BIT"], ["BITCOUNT", "fb", "8", "15", "BIT"], ["BITCOUNT", "fb", "47", "47", "BIT"],
        ["SET", "empty", ""], ["BITCOUNT", "empty"], ["BITCOUNT", "empty", "0", "-1"], ["BITCOUNT", "empty", "0", "0", "BIT"],
        // BITPOS
        ["SET", "p", "\u{ff}\u{f0}\u{00}"], ["BITPOS", "p", "0"], ["BITPOS", "p", "1"], ["BITPOS", "p", "0", "2"],
        ["BITPOS", "p", "1", "2"], ["BITPOS", "p", "0", "0", "1"], ["BITPOS", "p", "1", "2", "-1", "BYTE"],
        ["BITPOS", "p", "1", "7", "15", "BIT"], ["BITPOS", "p", "0", "7", "15", "BIT"], ["BITPOS", "p", "0", "0", "11", "BIT"],
        ["BITPOS", "p", "1", "12", "23", "BIT"], ["BITPOS", "p", "0", "3", "2"], ["BITPOS", "p", "1", "-1"],
        ["BITPOS", "p", "2"], ["BITPOS", "p", "x"], ["BITPOS", "p", "1", "a"], ["BITPOS", "p", "1", "0", "b"],
        ["BITPOS", "p", "1", "0", "1", "WORD"], ["BITPOS", "p", "1", "0", "1", "BIT", "x"], ["BITPOS", "none", "0"],
        ["BITPOS", "none", "1"], ["BITPOS", "none", "1", "5", "10"], ["BITPOS", "empty", "0"], ["BITPOS", "empty", "1"],
        ["SET", "zeros", "\u{00}\u{00}"], ["BITOP", "NOT", "ones", "zeros"], ["GET", "ones"], ["BITPOS", "ones", "0"], ["BITPOS", "ones", "0", "0"], ["BITPOS", "ones", "0", "0", "-1"],
        ["BITPOS", "ones", "0", "0", "15", "BIT"], ["BITPOS", "ones", "0", "3", "9", "BIT"],
        // BITOP
        ["SET", "k1", "foobar"], ["SET", "k2", "abcdef"], ["SET", "k3", "ab"],
        ["BITOP", "AND", "dest", "k1", "k2"], ["GET", "dest"], ["BITOP", "or", "dest", "k1", "k3"], ["GET", "dest"],
        ["BITOP", "XOR", "dest", "k1", "k2", "k3"], ["GET", "dest"], ["BITOP", "NOT", "dest", "k3"], ["GET", "dest"],
        ["BITOP", "NOT", "dest", "k1", "k2"], ["BITOP", "NAND", "dest", "k1"], ["BITOP", "AND", "dest", "k1", "none"], ["GET", "dest"],
        ["BITOP", "AND", "dest", "none", "none2"], ["EXISTS", "dest"], ["BITOP", "OR", "dest", "k1", "h"],
        ["SET", "dest", "x", "EX", "1000"], ["BITOP", "OR", "dest", "k3"], ["TTL", "dest"], ["GET", "dest"],
        ["SADD", "setdest", "m"], ["BITOP", "OR", "setdest", "k3"], ["TYPE", "setdest"], ["BITOP", "AND", "dest"],
        ["BITOP", "NOT", "dest", "empty"], ["EXISTS", "dest"],
        // BITFIELD / BITFIELD_RO
        ["BITFIELD", "bf", "SET", "i8", "0", "100", "GET", "i8", "0"], ["BITFIELD", "bf", "INCRBY", "i8", "0", "100"],
        ["BITFIELD", "bf", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "100", "INCRBY", "i8", "0", "-300"],
        ["BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "-100", "INCRBY", "u4", "100", "1"], ["GET", "bf"],
        ["BITFIELD", "bf", "SET", "u8", "#1", "255", "INCRBY", "u8", "#1", "10", "GET", "u16", "0", "GET", "i16", "0"],
        ["BITFIELD", "bf", "OVERFLOW", "WRAP", "SET", "u8", "#2", "-1", "OVERFLOW", "SAT", "SET", "u8", "#3", "-1", "SET", "i4", "#10", "100"],
        ["BITFIELD", "bf", "SET", "i64", "64", "-9223372036854775808", "INCRBY", "i64", "64", "-1", "GET", "u63", "64"],
        ["BITFIELD", "bf", "OVERFLOW", "SAT", "INCRBY", "i64", "64", "-5", "INCRBY", "i64", "64", "9223372036854775807"],
        ["BITFIELD", "bf", "SET", "u63", "3", "9223372036854775807", "GET", "u63", "3", "GET", "i64", "3"], ["GET", "bf"],
        ["BITFIELD", "bf"], ["BITFIELD", "bf", "GET", "x8", "0"], ["BITFIELD", "bf", "GET", "i65", "0"], ["BITFIELD", "bf", "GET", "u64", "0"],
        ["BITFIELD", "bf", "GET", "i0", "0"], ["BITFIELD", "bf", "GET", "I8", "0"], ["BITFIELD", "bf", "GET", "i08", "0"],
        ["BITFIELD", "bf", "GET", "i8", "-1"], ["BITFIELD", "bf", "GET", "i8", "#-1"], ["BITFIELD", "bf", "GET", "i8", "x"],
        ["BITFIELD", "bf", "SET", "i8", "0", "a"], ["BITFIELD", "bf", "SET", "i8", "0"], ["BITFIELD", "bf", "GET", "i8"],
        ["BITFIELD", "bf", "FOO", "i8", "0"], ["BITFIELD", "bf", "OVERFLOW", "MAYBE", "GET", "i8", "0"], ["BITFIELD", "bf", "OVERFLOW"],
        ["BITFIELD", "bf", "GET", "i8", "0", "SET", "x8", "0", "1"], ["BITFIELD", "bf", "GET", "u8", "4294967288"],
        ["BITFIELD", "bf", "GET", "u8", "4294967296"], ["BITFIELD", "bf", "GET", "u8", "#536870911"], ["BITFIELD", "bf", "GET", "u8", "#536870912"],
        ["BITFIELD_RO", "bf", "GET", "i8", "0", "GET", "u4", "#3"], ["BITFIELD_RO", "bf", "SET", "i8", "0", "1"],
        ["BITFIELD_RO", "bf", "INCRBY", "i8", "0", "1"], ["BITFIELD_RO", "bf"], ["BITFIELD_RO", "nobf", "GET", "i8", "0"],
        ["BITFIELD", "nobf", "GET", "u8", "0"], ["EXISTS", "nobf"], ["BITFIELD", "h", "GET", "u8", "0"], ["BITFIELD", "h", "SET", "u8", "0", "1"],
        ["BITFIELD", "newbf", "OVERFLOW", "FAIL", "SET", "u2", "20", "9"], ["GET", "newbf"],
        ["SET", "bttl", "x", "EX", "1000"], ["BITFIELD", "bttl", "SET", "u8", "8", "65"], ["TTL", "bttl"], ["GET", "bttl"],
    ]

    @Test func scriptMatchesRedis() throws {
        let harness = try DifferentialHarness()
        defer { harness.stop() }
        let differences = try harness.run(script: Self.script)
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }

    /// Seeded random bit commands over a few keys, ranges both BYTE and BIT, with every key's
    /// value compared after each command.
    @Test func randomBitCommandsMatchRedis() throws {
        let harness = try DifferentialHarness()
        defer { harness.stop() }
        let keys = ["x", "y", "z"]
        let differences = try harness.run(random: 1_500, seed: DifferentialHarness.seed("bitmaps"), probes: keys.map { ["GET", $0] }) { g in
            func n(_ range: ClosedRange<Int>) -> String { String(Int(g.next() % UInt64(range.count)) + range.lowerBound) }
            let key = g.pick(keys)
            switch g.next() % 7 {
            case 0: return ["SETBIT", key, n(0...200), g.pick(["0", "1"])]
            case 1: return ["GETBIT", key, n(0...220)]
            case 2:
                if g.chance(20) { return ["BITCOUNT", key] }
                var command = ["BITCOUNT", key, n(-30...30), n(-30...30)]
                if g.chance(60) { command.append(g.pick(["BIT", "BYTE"])) }
                return command
            case 3:
                var command = ["BITPOS", key, g.pick(["0", "1"])]
                if g.chance(70) { command.append(n(-30...200)) }
                if command.count == 4, g.chance(70) { command.append(n(-30...200)) }
                if command.count == 5, g.chance(60) { command.append(g.pick(["BIT", "BYTE"])) }
                return command
            case 4:
                let op = g.pick(["AND", "OR", "XOR", "NOT"])
                return op == "NOT" ? ["BITOP", op, g.pick(keys), key] : ["BITOP", op, g.pick(keys), key, g.pick(keys)]
            case 5:
                var command = ["BITFIELD", key]
                for _ in 0..<Int(g.next() % 3 + 1) {
                    let type = g.pick(["i", "u"]) + (g.chance(20) ? g.pick(["64", "63", "1"]) : n(1...16))
                    let offset = g.chance(30) ? "#" + n(0...6) : n(0...90)
                    switch g.next() % 4 {
                    case 0: command += ["GET", type, offset]
                    case 1: command += ["SET", type, offset, n(-70_000...70_000)]
                    case 2: command += ["INCRBY", type, offset, g.chance(20) ? "9223372036854775807" : n(-300...300)]
                    default: command += ["OVERFLOW", g.pick(["WRAP", "SAT", "FAIL"])]
                    }
                }
                return command
            default: return g.chance(20) ? ["DEL", key] : ["SETBIT", key, n(0...40), "1"]
            }
        }
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }

    /// Bitmaps past one 4 KiB fragment (issue 20's fragmented layout): bits around fragment
    /// boundaries and far out, mixed with the string commands that read or rewrite the whole
    /// value, every value compared after each command.
    @Test func randomBigBitmapsMatchRedis() throws {
        let harness = try DifferentialHarness()
        defer { harness.stop() }
        let keys = ["bx", "by"]
        let differences = try harness.run(random: 400, seed: DifferentialHarness.seed("big bitmaps"),
                                          probes: keys.flatMap { [["STRLEN", $0], ["GET", $0]] }) { g in
            func n(_ range: ClosedRange<Int>) -> String { String(Int(g.next() % UInt64(range.count)) + range.lowerBound) }
            func bit() -> String {
                switch g.next() % 4 {
                case 0: return n(32_700...32_840)  // the first fragment boundary (byte 4096)
                case 1: return n(0...100)
                case 2: return n(65_500...65_600)
                default: return n(0...200_000)
                }
            }
            let key = g.pick(keys)
            switch g.next() % 10 {
            case 0, 1, 2, 3: return ["SETBIT", key, bit(), g.pick(["0", "1", "1"])]
            case 4: return ["GETBIT", key, bit()]
            case 5: return g.chance(50) ? ["BITCOUNT", key] : ["BITCOUNT", key, n(-9_000...9_000), n(-9_000...9_000), g.pick(["BYTE", "BIT"])]
            case 6: return ["BITPOS", key, g.pick(["0", "1"]), n(0...10_000)]
            case 7: return g.chance(50) ? ["APPEND", key, "tail"] : ["SETRANGE", key, n(0...20_000), "xyz"]
            case 8: return ["BITOP", g.pick(["AND", "OR", "XOR"]), g.pick(keys), "bx", "by"]
            default: return g.chance(30) ? ["DEL", key] : ["GETRANGE", key, n(4_090...4_100), n(4_095...4_200)]
            }
        }
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }
}
