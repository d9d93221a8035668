import Foundation
import TestSupport
import Testing

/// Every string and keyspace command's replies and errors, compared with a real redis-server.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct StringCommandTests {
    static let far = "4102444800"  // 2100-01-01, seconds
    static let farMs = "4102444800000"

    static let script: [[String]] = [
        // GET / SET and SET's options
        ["GET", "s"], ["SET", "s", "v"], ["GET", "s"], ["SET", "s", ""], ["GET", "s"], ["STRLEN", "s"],
        ["SET", "s", "v2", "NX"], ["SET", "new", "v", "NX"], ["SET", "s", "v3", "XX"], ["SET", "missing", "v", "XX"],
        ["SET", "s", "v4", "GET"], ["SET", "absent1", "v", "GET"], ["SET", "s", "v5", "NX", "GET"],
        ["SET", "s", "x", "NX", "XX"], ["SET", "s", "x", "EX"], ["SET", "s", "x", "EX", "0"],
        ["SET", "s", "x", "EX", "-5"], ["SET", "s", "x", "EX", "abc"], ["SET", "s", "x", "PX", "1.5"],
        ["SET", "s", "x", "EX", "10", "PX", "100"], ["SET", "s", "x", "EX", "100", "EX", "200"], ["TTL", "s"],
        ["SET", "s", "x", "KEEPTTL"], ["TTL", "s"], ["SET", "s", "x", "KEEPTTL", "EX", "5"],
        ["SET", "s", "x"], ["TTL", "s"], ["SET", "s", "y", "EXAT", far], ["EXPIRETIME", "s"],
        ["SET", "s", "y", "PXAT", farMs], ["PEXPIRETIME", "s"], ["SET", "s", "y", "EXAT", "1"], ["GET", "s"],
        ["SET", "s", "y", "EX", "9223372036854775807"], ["SET", "s", "y", "PX", "9223372036854775807"],
        ["SET", "s", "z", "BOGUS"], ["SET", "s", "z", "ex", "100", "get"], ["SET", "s"],
        // SETNX / SETEX / PSETEX / GETSET / GETDEL / GETEX
        ["SETNX", "nx", "1"], ["SETNX", "nx", "2"], ["GET", "nx"],
        ["SETEX", "se", "100", "v"], ["TTL", "se"], ["SETEX", "se", "0", "v"], ["SETEX", "se", "-1", "v"],
        ["SETEX", "se", "x", "v"], ["PSETEX", "pse", "100000", "v"], ["PTTL", "pse"], ["PSETEX", "pse", "0", "v"],
        ["GETSET", "gs", "a"], ["GETSET", "gs", "b"], ["GET", "gs"], ["GETDEL", "gs"], ["GETDEL", "gs"], ["EXISTS", "gs"],
        ["SET", "ge", "v"], ["GETEX", "ge"], ["GETEX", "ge", "EX", "100"], ["TTL", "ge"], ["GETEX", "ge", "PERSIST"],
        ["TTL", "ge"], ["GETEX", "ge", "PX", "0"], ["GETEX", "ge", "EX", "10", "PX", "10"], ["GETEX", "ge", "BOGUS"],
        ["GETEX", "nokey", "EX", "0"], ["GETEX", "ge", "EXAT", "1"], ["EXISTS", "ge"], ["GETEX", "ge", "PERSIST", "EX", "10"],
        // MGET / MSET / MSETNX
        ["MSET", "m1", "1", "m2", "2"], ["MGET", "m1", "m2", "m3"], ["MSET", "m1"], ["MSET", "m1", "1", "m2"],
        ["MSETNX", "m3", "3", "m4", "4"], ["MSETNX", "m4", "x", "m5", "5"], ["MGET", "m3", "m4", "m5"],
        ["MSETNX", "d", "1", "d", "2"], ["GET", "d"],
        // APPEND / STRLEN / GETRANGE / SETRANGE
        ["APPEND", "ap", "Hello"], ["APPEND", "ap", " World"], ["GET", "ap"], ["STRLEN", "ap"], ["STRLEN", "none"],
        ["GETRANGE", "ap", "0", "4"], ["GETRANGE", "ap", "-5", "-1"], ["GETRANGE", "ap", "-1", "-5"],
        ["GETRANGE", "ap", "5", "3"], ["GETRANGE", "ap", "0", "100"], ["GETRANGE", "ap", "-100", "2"],
        ["GETRANGE", "none", "0", "1"], ["GETRANGE", "ap", "a", "1"], ["SUBSTR", "ap", "1", "3"],
        ["SETRANGE", "sr", "5", "abc"], ["GET", "sr"], ["SETRANGE", "sr", "0", "X"], ["GET", "sr"],
        ["SETRANGE", "sr", "-1", "x"], ["SETRANGE", "empty", "3", ""], ["EXISTS", "empty"], ["SETRANGE", "sr", "2", ""],
        ["SETRANGE", "sr", "536870911", "xx"], ["SETRANGE", "sr", "x", "a"],
        // INCR family
        ["INCR", "c"], ["INCR", "c"], ["DECR", "c"], ["INCRBY", "c", "10"], ["DECRBY", "c", "3"], ["INCRBY", "c", "x"],
        ["INCRBY", "c", "1.5"], ["SET", "c", "9223372036854775806"], ["INCR", "c"], ["INCR", "c"],
        ["SET", "c", "-9223372036854775808"], ["DECR", "c"], ["DECRBY", "c", "-9223372036854775808"],
        ["SET", "c", " 1"], ["INCR", "c"], ["SET", "c", "01"], ["INCR", "c"], ["SET", "c", "abc"], ["INCR", "c"],
        ["SET", "t", "5"], ["EXPIRE", "t", "100"], ["INCR", "t"], ["TTL", "t"],
        ["INCRBYFLOAT", "f", "1.1"], ["INCRBYFLOAT", "f", "2.2"], ["INCRBYFLOAT", "f", "-3.3"], ["GET", "f"],
        ["INCRBYFLOAT", "f", "1e10"], ["INCRBYFLOAT", "f", "abc"], ["INCRBYFLOAT", "f", ""], ["INCRBYFLOAT", "f", " 1"],
        ["INCRBYFLOAT", "f", "inf"], ["INCRBYFLOAT", "f", "nan"], ["INCRBYFLOAT", "f", "0x10"], ["INCRBYFLOAT", "f", "1e400"],
        ["SET", "f", "3.0000000000000001"], ["INCRBYFLOAT", "f", "0"], ["SET", "f", "10"], ["INCRBYFLOAT", "f", "-10"],
        ["SET", "f", "1.5e3"], ["INCRBYFLOAT", "f", "0.25"], ["INCRBYFLOAT", "f", "-0.1"],
        // Keyspace
        ["DEL", "m1", "m2", "zz", "m1"], ["UNLINK", "m3"], ["EXISTS", "m4", "m4", "zz"], ["TYPE", "m4"], ["TYPE", "zz"],
        ["TOUCH", "m4", "zz"], ["SET", "e", "v"], ["TTL", "e"], ["PTTL", "e"], ["EXPIRETIME", "e"], ["TTL", "zz"],
        ["EXPIRE", "e", "100"], ["TTL", "e"], ["EXPIRE", "e", "50", "NX"], ["EXPIRE", "e", "50", "XX"], ["TTL", "e"],
        ["EXPIRE", "e", "40", "GT"], ["EXPIRE", "e", "400", "GT"], ["TTL", "e"], ["EXPIRE", "e", "500", "LT"],
        ["EXPIRE", "e", "100", "LT"], ["TTL", "e"], ["EXPIRE", "e", "1", "NX", "XX"], ["EXPIRE", "e", "1", "GT", "LT"],
        ["EXPIRE", "e", "1", "FOO"], ["EXPIRE", "e", "abc"], ["EXPIRE", "e", "9223372036854775807"],
        ["PERSIST", "e"], ["PERSIST", "e"], ["EXPIRE", "e", "10", "XX"], ["EXPIRE", "e", "10", "GT"],
        ["EXPIRE", "e", "10", "LT"], ["TTL", "e"], ["PEXPIRE", "e", "100000"], ["PTTL", "e"],
        ["EXPIREAT", "e", far], ["EXPIRETIME", "e"], ["PEXPIREAT", "e", farMs], ["PEXPIRETIME", "e"],
        ["EXPIRE", "e", "-1"], ["EXISTS", "e"], ["EXPIRE", "nokey", "10"], ["PERSIST", "nokey"],
        ["SET", "e2", "v"], ["EXPIREAT", "e2", "0"], ["GET", "e2"], ["PEXPIRE", "e2", "-9223372036854775808"],
        ["DBSIZE"], ["FLUSHALL", "BOGUS"], ["FLUSHALL"], ["DBSIZE"], ["GET", "m4"], ["FLUSHDB", "ASYNC"],
        // Arity and unknown commands
        ["GET"], ["GET", "a", "b"], ["MGET"], ["DEL"], ["EXPIRE", "k"], ["NOSUCHCOMMAND", "a", "b"], ["PING"],
        ["PING", "hi"], ["ECHO", "x"], ["SELECT", "0"], ["SELECT", "x"],
    ]

    @Test func scriptedCommandsMatchRedis() throws {
        let harness = try DifferentialHarness()
        defer { harness.stop() }
        let differences = try harness.run(script: Self.script)
        #expect(differences.isEmpty, "\(differences.count) differences:\n\(differences.joined(separator: "\n"))")
    }

    @Test func binaryKeysAndValuesMatchRedis() throws {
        let harness = try DifferentialHarness()
        defer { harness.stop() }
        let binaryKey: [UInt8] = [0, 255, 13, 10, 0x7b, 0x7d]
        let binaryValue: [UInt8] = Array(0...255)
        var differences: [String] = []
        for command: [[UInt8]] in [
            [Array("SET".utf8), binaryKey, binaryValue], [Array("GET".utf8), binaryKey],
            [Array("APPEND".utf8), binaryKey, [0, 0]], [Array("STRLEN".utf8), binaryKey],
            [Array("GETRANGE".utf8), binaryKey, Array("250".utf8), Array("-1".utf8)],
            [Array("SET".utf8), [], []], [Array("GET".utf8), []], [Array("EXISTS".utf8), [], binaryKey],
        ] {
            if let difference = try harness.compare(command) { differences.append(difference) }
        }
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }
}
