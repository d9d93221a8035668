import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Dynamis started exactly as Dynomite's own cluster tooling starts Dynomite (`test/dyno_cluster.py`,
/// `test/cluster_generator.py`): one loopback address per node from 127.0.1.1 up, the same ports
/// on each (clients 8102, peers 8101, stats 22222, each node's redis-server 1212), a YAML config
/// with the tooling's defaults and every key it writes (`secure_server_option: datacenter` with
/// `pem_key_file`, `data_store: 0`, `datastore_connections: 1`, peer connection counts that
/// are 0 for racks of one node, integer tokens spread evenly from a random offset), launched as
/// `dynomite -o LOG -c YML -v6`. Then Dynomite's functional comparison (`test/func_test.py`):
/// the same commands to the cluster and to a standalone redis-server, every reply compared (#21).
@Suite(.serialized, .timeLimit(.minutes(6)))
struct DynomiteToolingClusterTests {
    struct Spec {
        let ip: String
        let dc: String
        let rack: String
        let token: UInt32
        let localConnections: Int
        let remoteConnections: Int
        var seed: String { "\(ip):8101:\(rack):\(dc):\(token)" }
    }

    /// A running cluster: nodes and their redis-servers, a standalone redis-server, all by pid.
    final class Launched {
        let directory = TemporaryDirectory("dyno-tooling")
        var processes: [ChildProcess] = []
        var specs: [Spec] = []
        var standaloneIP = ""

        func stop() {
            for process in processes { _ = process.stop(signal: SIGKILL) }
            directory.remove()
        }
    }

    /// The tooling's layout: its request file (DCs of racks with node counts) to specs, one
    /// address each after the standalone redis's.
    static func specs(_ request: [(dc: String, racks: [(String, Int)])], firstIP: Int, base: String, seed: UInt64) -> [Spec] {
        var g = SplitMix64(seed: seed)
        let total = request.flatMap(\.racks).map(\.1).reduce(0, +)
        var ip = firstIP
        var out: [Spec] = []
        for (dc, racks) in request {
            let dcCount = racks.map(\.1).reduce(0, +)
            for (rack, count) in racks {
                // pick_tokens: evenly spaced from a random offset, modulo 2^32.
                let offset = g.next() % (1 << 32)
                let stride = (UInt64(1) << 32) / UInt64(count)
                for i in 0..<count {
                    let token = UInt32((offset + UInt64(i) * stride) % (1 << 32))
                    out.append(Spec(ip: "\(base).\(ip)", dc: dc, rack: rack, token: token, localConnections: count - 1,
                                    remoteConnections: total - dcCount))
                    ip += 1
                }
            }
        }
        return out
    }

    /// The YAML `yaml.dump(..., default_flow_style=False)` writes for a node: keys sorted,
    /// Dynomite's defaults included.
    static func config(_ spec: Spec, seeds: [String]) -> String {
        var lines = ["dyn_o_mite:"]
        lines.append("  data_store: 0")
        lines.append("  datacenter: \(spec.dc)")
        lines.append("  datastore_connections: 1")
        lines.append("  dyn_listen: \(spec.ip):8101")
        lines.append("  dyn_seeds:")
        for seed in seeds where seed != spec.seed { lines.append("  - \(seed)") }
        lines.append("  listen: \(spec.ip):8102")
        lines.append("  local_peer_connections: \(spec.localConnections)")
        lines.append("  pem_key_file: conf/dynomite.pem")
        lines.append("  rack: \(spec.rack)")
        lines.append("  remote_peer_connections: \(spec.remoteConnections)")
        lines.append("  secure_server_option: datacenter")
        lines.append("  servers:")
        lines.append("  - \(spec.ip):1212:0")
        lines.append("  stats_listen: \(spec.ip):22222")
        lines.append("  tokens: \(spec.token)")
        return lines.joined(separator: "\n") + "\n"
    }

    static func redis(_ ip: String, in directory: String) throws -> ChildProcess {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return try ChildProcess(executable: "/usr/bin/redis-server",
                                arguments: ["--port", "1212", "--bind", ip, "--save", "", "--appendonly", "no", "--dir", directory],
                                logPath: directory + "/redis.log")
    }

    static func launch(_ specs: [Spec], standaloneIP: String) throws -> Launched {
        let launched = Launched()
        launched.specs = specs
        launched.standaloneIP = standaloneIP
        let root = launched.directory.path
        do {
            launched.processes.append(try redis(standaloneIP, in: root + "/standalone"))
            let seeds = specs.map(\.seed)
            try FileManager.default.createDirectory(atPath: root + "/conf", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: root + "/logs", withIntermediateDirectories: true)
            for spec in specs {
                launched.processes.append(try redis(spec.ip, in: root + "/redis-\(spec.ip)"))
                let file = root + "/conf/\(spec.dc):\(spec.rack):\(spec.token).yml"
                try config(spec, seeds: seeds).write(toFile: file, atomically: true, encoding: .utf8)
                launched.processes.append(try ChildProcess(executable: DynamisBinary.path,
                                                           arguments: ["-o", root + "/logs/dynomite_\(spec.ip).log", "-c", file, "-v6"],
                                                           logPath: root + "/logs/stdout_\(spec.ip).log", workingDirectory: root))
            }
            // Every node runs in the cluster's directory, as the tooling runs them: nodes in front
            // of redis-server share its ./data, and their files must not collide.
            guard waitForPort(1212, host: standaloneIP, seconds: 20) else { throw TestClientError("standalone redis-server did not start") }
            for spec in specs {
                guard waitForPort(8102, host: spec.ip, seconds: 30), waitForPort(22222, host: spec.ip, seconds: 30) else {
                    let log = (try? String(contentsOfFile: root + "/logs/dynomite_\(spec.ip).log", encoding: .utf8)) ?? ""
                    let output = (try? String(contentsOfFile: root + "/logs/stdout_\(spec.ip).log", encoding: .utf8)) ?? ""
                    throw TestClientError("node \(spec.ip) did not start: \(log.suffix(2_000))\n\(output.suffix(2_000))")
                }
            }
            // Every node has linked to every peer before the comparison starts.
            for spec in specs {
                let deadline = Date().addingTimeInterval(30)
                while true {
                    let body = (try? httpRequest(port: 22222, host: spec.ip, path: "/cluster_describe").body) ?? ""
                    if body.contains("NORMAL"), !body.contains("DOWN") { break }
                    if Date() > deadline { throw TestClientError("node \(spec.ip) did not connect to its peers: \(body.prefix(1_000))") }
                    usleep(100_000)
                }
            }
        } catch {
            launched.stop()
            throw error
        }
        return launched
    }

    /// One side of the comparison: commands through the node a group picked.
    final class Compare {
        let redis: RESPTestClient
        let nodes: [RESPTestClient]
        var differences: [String] = []
        var node: RESPTestClient
        var sortBeforeCompare = false

        init(redis: RESPTestClient, nodes: [RESPTestClient]) {
            self.redis = redis
            self.nodes = nodes
            self.node = nodes[0]
        }

        @discardableResult
        func verify(_ args: [String]) throws -> [UInt8] {
            let bytes = args.map { Array($0.utf8) }
            let expected = try redis.rawCommand(bytes)
            let actual = try node.rawCommand(bytes)
            var equal = expected == actual
            if !equal, sortBeforeCompare, let a = DifferentialHarness.sortedElements(expected, groupSize: 1),
               let b = DifferentialHarness.sortedElements(actual, groupSize: 1) {
                equal = a == b
            }
            if !equal, differences.count < 10 {
                differences.append("\(args.prefix(4).joined(separator: " ").prefix(80))\n  redis:   \(String(decoding: expected.prefix(120), as: UTF8.self).debugDescription)\n  dynamis: \(String(decoding: actual.prefix(120), as: UTF8.self).debugDescription)")
            }
            return actual
        }
    }

    /// `func_test.py`'s comparison, each group through one node picked at random (a group's
    /// reads follow its own writes; at DC_ONE, across DCs only eventually), sizes as there
    /// except fewer keys, to keep the suite bounded.
    static func functionalComparison(_ c: Compare, _ g: inout SplitMix64) throws {
        func text(_ size: Int) -> String {
            let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
            return String((0..<size).map { _ in alphabet[Int(g.next() % UInt64(alphabet.count))] })
        }
        func pick() { c.node = c.nodes[Int(g.next() % UInt64(c.nodes.count))] }
        // Key/value, then extra-large payloads up to 5 MB.
        for (keys, payload) in [(200, 1024), (4, 5 * 1024 * 1024)] {
            pick()
            for i in 0..<keys { try c.verify(["SET", "KEY_VALUE_\(i)", text(i == 0 ? payload : Int(g.next() % UInt64(payload)) + 1)]) }
            for i in 0..<keys { try c.verify(["GET", "KEY_VALUE_\(i)"]) }
            let key = "KEY_VALUE_\(g.next() % UInt64(keys))"
            try c.verify(["APPEND", key, text(6)])
            try c.verify(["GET", key])
        }
        try c.verify(["EXPIRE", "KEY_VALUE_1", "1"])
        usleep(1_600_000)
        try c.verify(["EXISTS", "KEY_VALUE_1"])
        // Multi-key: MSET and MGET of up to 50 keys, split across owners.
        pick()
        for _ in 0..<30 {
            var pairs: [String] = []
            for _ in 0..<Int(g.next() % 50 + 1) { pairs += ["MULTIKEY_\(g.next() % 1000)", text(Int(g.next() % 10) + 1)] }
            try c.verify(["MSET"] + pairs)
            try c.verify(["MGET"] + (0..<Int(g.next() % 50 + 1)).map { _ in "MULTIKEY_\(g.next() % 1000)" })
        }
        // Hashes.
        pick()
        for k in 0..<4 {
            for f in 0..<50 { try c.verify(["HSET", "HASH_MAP_\(k)", "HASH_MAP_\(k)_field_\(f)", "\(g.next() % 10_000)"]) }
        }
        var hmset = ["HMSET", "HASH_MAP_1"]
        for _ in 0..<50 { hmset += ["HASH_MAP_1_field_\(g.next() % 100)", "\(g.next() % 10_000)"] }
        try c.verify(hmset)
        try c.verify(["HMGET", "HASH_MAP_2"] + (0..<5).map { _ in "HASH_MAP_2_field_\(g.next() % 100)" })
        try c.verify(["HINCRBY", "HASH_MAP_3", "HASH_MAP_3_field_7", "50"])
        try c.verify(["HDEL", "HASH_MAP_3", "HASH_MAP_3_field_7"])
        try c.verify(["HEXISTS", "HASH_MAP_3", "HASH_MAP_3_field_7"])
        try c.verify(["HLEN", "HASH_MAP_0"])
        c.sortBeforeCompare = true
        try c.verify(["HGETALL", "HASH_MAP_0"])
        try c.verify(["HKEYS", "HASH_MAP_1"])
        try c.verify(["HVALS", "HASH_MAP_2"])
        c.sortBeforeCompare = false
        // Scripts: loaded through one node, run on a key of any owner through another.
        pick()
        let body = "return redis.call('get', KEYS[1])"
        let sha = try c.verify(["SCRIPT", "LOAD", body])
        let hash = String(decoding: sha.dropFirst(4).dropLast(2), as: UTF8.self)
        try c.verify(["SCRIPT", "EXISTS", hash])
        for i in 0..<5 {
            pick()
            try c.verify(["SET", "SCRIPTS_key\(i)", "value1"])
            try c.verify(["EVALSHA", hash, "1", "SCRIPTS_key\(i)"])
        }
        try c.verify(["SCRIPT", "FLUSH"])
        pick()
        try c.verify(["EVALSHA", hash, "1", "SCRIPTS_key0"])
    }

    static func run(_ request: [(dc: String, racks: [(String, Int)])], base: String, consistency: String?) throws {
        let seed = DifferentialHarness.seed("dynomite tooling \(consistency ?? "DC_ONE")")
        let specs = Self.specs(request, firstIP: 2, base: base, seed: seed)
        let cluster = try launch(specs, standaloneIP: "\(base).1")
        defer { cluster.stop() }
        if let consistency {
            for spec in specs {
                for side in ["read", "write"] {
                    #expect(try httpRequest(port: 22222, host: spec.ip, path: "/set_consistency/\(side)/\(consistency)").status == 200)
                }
            }
        }
        let redis = try RESPTestClient(port: 1212, host: "\(base).1", timeoutSeconds: 30)
        let nodes = try specs.map { try RESPTestClient(port: 8102, host: $0.ip, timeoutSeconds: 30) }
        let compare = Compare(redis: redis, nodes: nodes)
        var g = SplitMix64(seed: seed)
        try functionalComparison(compare, &g)
        #expect(compare.differences.isEmpty, "\(compare.differences.joined(separator: "\n"))")
        // Each node's /info is JSON, as the tooling reads it after the comparison.
        for spec in specs {
            let (status, body) = try httpRequest(port: 22222, host: spec.ip, path: "/info")
            #expect(status == 200)
            #expect((try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] != nil, "\(spec.ip): \(body.prefix(200))")
        }
    }

    /// The tooling's own request file (`test/request.yaml`): dc1 with one rack of one node,
    /// dc2 with racks of 1, 2 and 4 nodes, at the default consistency (DC_ONE).
    @Test func requestYamlClusterAnswersLikeRedisAtDCOne() throws {
        try Self.run([("dc1", [("rack1", 1)]), ("dc2", [("rack1", 1), ("rack2", 2), ("rack3", 4)])], base: "127.0.1", consistency: nil)
    }

    /// Two DCs of three racks, switched to DC_SAFE_QUORUM through the admin port as the
    /// tooling's read-repair test does.
    @Test func twoDatacentersOfThreeRacksAnswerLikeRedisAtDCSafeQuorum() throws {
        try Self.run([("dc1", [("rack1", 1), ("rack2", 1), ("rack3", 1)]), ("dc2", [("rack1", 1), ("rack2", 1), ("rack3", 1)])],
                     base: "127.0.2", consistency: "dc_safe_quorum")
    }
}
