import Foundation
import TestSupport
import Testing

/// Thousands of random string and keyspace commands, edge values included, sent to redis-server
/// and to Dynamis; every reply must be identical. The seed is printed so a failure reproduces
/// (set DYNAMIS_DIFF_SEED to replay it).
@Suite(.serialized, .timeLimit(.minutes(5)))
struct RandomDifferentialTests {
    static let keys = ["a", "b", "c", "{t}1", "{t}2", "k:long:\(String(repeating: "x", count: 40))", ""]
    static let values: [[UInt8]] = [
        [], Array("0".utf8), Array("1".utf8), Array("-1".utf8), Array("42".utf8), Array("9223372036854775807".utf8),
        Array("-9223372036854775808".utf8), Array("3.14".utf8), Array("-0.5".utf8), Array("1e3".utf8),
        Array("abc".utf8), Array(" 7".utf8), Array("007".utf8), [0, 1, 2, 255, 13, 10], Array("hello world".utf8),
        Array(repeating: 0x61, count: 300),
    ]
    static let integers = ["0", "1", "-1", "2", "5", "100", "-100", "9223372036854775807", "-9223372036854775808",
                           "abc", "1.5", "", "3"]
    static let floats = ["0", "1.5", "-2.25", "1e5", "-1e-5", "inf", "-inf", "nan", "abc", "0.1", "", "10"]
    static let ttls = ["100", "1000", "0", "-1", "abc", "99999"]

    static func command(_ g: inout SplitMix64) -> [[UInt8]] {
        func key() -> [UInt8] { Array(g.pick(keys).utf8) }
        func value() -> [UInt8] { g.pick(values) }
        func word(_ s: String) -> [UInt8] { Array(s.utf8) }
        let name = g.pick([
            "GET", "SET", "SET", "SET", "SETNX", "SETEX", "PSETEX", "GETSET", "GETDEL", "GETEX", "MGET", "MSET",
            "MSETNX", "APPEND", "STRLEN", "GETRANGE", "SETRANGE", "INCR", "DECR", "INCRBY", "DECRBY", "INCRBYFLOAT",
            "DEL", "UNLINK", "EXISTS", "TYPE", "EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT", "TTL", "PTTL",
            "EXPIRETIME", "PEXPIRETIME", "PERSIST", "TOUCH", "DBSIZE",
        ])
        var args = [word(name)]
        switch name {
        case "GET", "GETDEL", "STRLEN", "INCR", "DECR", "TYPE", "TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME", "PERSIST":
            args.append(key())
        case "SET":
            args += [key(), value()]
            var options: [[String]] = [["NX"], ["XX"], ["GET"], ["KEEPTTL"], ["EX", g.pick(ttls)], ["PX", g.pick(["100000", "0", "-5"])],
                                       ["EXAT", g.pick(["1", "4102444800"])], ["PXAT", g.pick(["1", "4102444800000"])]]
            let count = Int(g.next() % 3)
            for _ in 0..<count {
                let i = Int(g.next() % UInt64(options.count))
                args += options.remove(at: i).map(word)
            }
        case "SETNX", "GETSET", "APPEND":
            args += [key(), value()]
        case "SETEX": args += [key(), word(g.pick(ttls)), value()]
        case "PSETEX": args += [key(), word(g.pick(["100000", "0", "abc"])), value()]
        case "GETEX":
            args.append(key())
            if g.chance(70) {
                args += g.pick([["EX", g.pick(ttls)], ["PX", "100000"], ["EXAT", "4102444800"], ["PXAT", "1"], ["PERSIST"], ["BOGUS"]]).map(word)
            }
        case "MGET", "DEL", "UNLINK", "EXISTS", "TOUCH":
            for _ in 0...(g.next() % 3) { args.append(key()) }
        case "MSET", "MSETNX":
            for _ in 0...(g.next() % 2) { args += [key(), value()] }
            if g.chance(5) { args.removeLast() }
        case "GETRANGE": args += [key(), word(g.pick(integers)), word(g.pick(integers))]
        case "SETRANGE": args += [key(), word(g.pick(["0", "1", "3", "-1", "x"])), value()]
        case "INCRBY", "DECRBY": args += [key(), word(g.pick(integers))]
        case "INCRBYFLOAT": args += [key(), word(g.pick(floats))]
        case "EXPIRE", "PEXPIRE":
            args += [key(), word(g.pick(name == "EXPIRE" ? ttls : ["100000", "0", "-1", "5000000"]))]
            if g.chance(40) { args.append(word(g.pick(["NX", "XX", "GT", "LT", "BAD"]))) }
        case "EXPIREAT", "PEXPIREAT":
            args += [key(), word(g.pick(name == "EXPIREAT" ? ["1", "4102444800", "4102444900"] : ["1", "4102444800000"]))]
            if g.chance(40) { args.append(word(g.pick(["NX", "XX", "GT", "LT"]))) }
        default: break
        }
        return args
    }

    @Test func randomSequencesMatchRedis() throws {
        let seed = ProcessInfo.processInfo.environment["DYNAMIS_DIFF_SEED"].flatMap { UInt64($0) }
            ?? UInt64.random(in: 1...UInt64.max)
        print("RandomDifferentialTests seed: \(seed) (replay with DYNAMIS_DIFF_SEED=\(seed))")
        var g = SplitMix64(seed: seed)
        let harness = try DifferentialHarness()
        defer { harness.stop() }
        var differences: [String] = []
        // After every command the whole visible state is compared too, so a command whose reply
        // matched but whose effect did not is caught where it happens.
        let probe = [Array("MGET".utf8)] + Self.keys.map { Array($0.utf8) }
        for i in 0..<4000 where differences.count < 5 {
            let args = Self.command(&g)
            if let difference = try harness.compare(args) { differences.append("#\(i): \(difference)") }
            if let difference = try harness.compare(probe) ?? harness.compare("DBSIZE") {
                let shown = args.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
                differences.append("state differs after #\(i) \(shown): \(difference)")
                break
            }
        }
        #expect(differences.isEmpty, "seed \(seed):\n\(differences.joined(separator: "\n"))")
    }
}
