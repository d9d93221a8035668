import Foundation
import TestSupport
import Testing

/// Sends the same commands to a real redis-server and to a real dynamis process and compares
/// the raw reply bytes.
final class DifferentialHarness {
    let redis: RedisServer
    let dynamis: DynamisProcess
    /// With the Redis engine: the redis-server behind Dynamis.
    let backend: RedisServer?
    let redisClient: RESPTestClient
    let dynamisClient: RESPTestClient

    /// `redisEngine`: Dynamis runs the Redis engine in front of a second redis-server, instead
    /// of the embedded RocksDB engine.
    /// `resp3`: both connections switch to RESP3 with HELLO 3 first, so every reply is compared
    /// in RESP3's types (doubles, maps, sets, nulls).
    init(redisEngine: Bool = false, resp3: Bool = false) throws {
        redis = try RedisServer()
        backend = redisEngine ? try RedisServer() : nil
        dynamis = try backend.map { try DynamisProcess.inFront(of: $0) } ?? DynamisProcess()
        redisClient = try RESPTestClient(port: redis.port)
        dynamisClient = try dynamis.client()
        if resp3 {
            // The HELLO replies themselves differ (server ids, modules); what follows must not.
            _ = try redisClient.rawCommand([Array("HELLO".utf8), Array("3".utf8)])
            _ = try dynamisClient.rawCommand([Array("HELLO".utf8), Array("3".utf8)])
        }
    }

    func stop() {
        redis.stop()
        backend?.stop()
        dynamis.remove()
    }

    /// Commands whose integer replies depend on when each server ran them: compared within a
    /// tolerance (the two servers execute the same command a few milliseconds apart).
    static let clockDependent: [String: Int] = ["ttl": 1, "expiretime": 1, "pttl": 1500, "pexpiretime": 1500]

    /// Commands whose reply order Redis leaves unspecified: compared as sorted elements (pairs
    /// for HGETALL).
    static let unordered: [String: Int] = ["hgetall": 2, "hkeys": 1, "hvals": 1, "smembers": 1, "sinter": 1, "sunion": 1, "sdiff": 1, "keys": 1]

    static func sortedElements(_ raw: [UInt8], groupSize: Int) -> [String]? {
        var i = 0
        guard case .array(let items?)? = RESPReplyParser.decode(raw, &i) else { return nil }
        var groups: [String] = []
        var index = 0
        while index + groupSize <= items.count {
            groups.append(items[index..<(index + groupSize)].map(\.description).joined(separator: " "))
            index += groupSize
        }
        return groups.sorted()
    }

    /// Runs one command on both; returns a description of the difference, or nil.
    func compare(_ args: [[UInt8]]) throws -> String? {
        let expected = try redisClient.rawCommand(args)
        let actual = try dynamisClient.rawCommand(args)
        if expected == actual { return nil }
        let name = String(decoding: args[0], as: UTF8.self).lowercased()
        if let groupSize = Self.unordered[name], let a = Self.sortedElements(expected, groupSize: groupSize),
           let b = Self.sortedElements(actual, groupSize: groupSize), a == b {
            return nil
        }
        if let tolerance = Self.clockDependent[name] {
            var i = 0, j = 0
            if case .integer(let a)? = RESPReplyParser.decode(expected, &i),
               case .integer(let b)? = RESPReplyParser.decode(actual, &j),
               (a < 0) == (b < 0), abs(a - b) <= tolerance {
                return nil
            }
        }
        let shown = args.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
        return "\(shown)\n  redis:   \(String(decoding: expected, as: UTF8.self).debugDescription)\n  dynamis: \(String(decoding: actual, as: UTF8.self).debugDescription)"
    }

    func compare(_ args: String...) throws -> String? {
        try compare(args.map { Array($0.utf8) })
    }

    /// Runs a script on both servers; returns the differences.
    func run(script: [[String]]) throws -> [String] {
        var differences: [String] = []
        for command in script {
            if let difference = try compare(command.map { Array($0.utf8) }) { differences.append(difference) }
        }
        return differences
    }

    /// The seed of a random test: `DYNAMIS_DIFF_SEED` to replay one, else a fresh one; printed.
    static func seed(_ test: String) -> UInt64 {
        let seed = ProcessInfo.processInfo.environment["DYNAMIS_DIFF_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64.max)
        print("\(test) seed: \(seed) (replay with DYNAMIS_DIFF_SEED=\(seed))")
        return seed
    }

    /// Runs `count` generated commands on both servers, comparing each reply and then the
    /// `probes` (the visible state), so a command whose reply matched but whose effect did not
    /// is caught where it happens. Stops after five differences.
    func run(random count: Int, seed: UInt64, probes: [[String]], _ generate: (inout SplitMix64) -> [String]) throws -> [String] {
        var g = SplitMix64(seed: seed)
        var differences: [String] = []
        for i in 0..<count where differences.count < 5 {
            let command = generate(&g)
            if let difference = try compare(command.map { Array($0.utf8) }) { differences.append("#\(i): \(difference)") }
            for probe in probes {
                if let difference = try compare(probe.map { Array($0.utf8) }) {
                    differences.append("state differs after #\(i) \(command.joined(separator: " ")): \(difference)")
                    break
                }
            }
        }
        return differences
    }
}
