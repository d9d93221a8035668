import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The fault harness (issue 17): a 3-rack × 2-node RocksDB cluster, each node in its own network
/// namespace, under a set workload at DC_QUORUM, DC_SAFE_QUORUM and DC_ONE while faults cycle
/// (partitions of every shape, packet loss, kill -9, SIGSTOP); then heal, one repair pass on
/// every node, and a final read of every rack's copy. A Jepsen-style checker counts, per
/// consistency level, keys lost (acknowledged, missing from a copy), unexpected (present, never
/// written) and recovered (not acknowledged, present).
///
/// `FAULT_SEED`, `FAULT_SECONDS` (120) and `FAULT_INTERVAL` (15) set the run; the fault schedule
/// is a function of the seed, and the history of every write is saved under
/// `.build/fault-histories/`. `tools/fault-soak` runs it longer.
enum FaultHarness {
    /// One node: its namespace index, rack, token and process.
    final class Node {
        let index: Int
        let rack: Int
        let token: UInt32
        let address: String
        let directory: TemporaryDirectory
        let configPath: String
        var child: ChildProcess?
        var paused = false

        init(index: Int, rack: Int, token: UInt32, address: String, directory: TemporaryDirectory, configPath: String) {
            self.index = index
            self.rack = rack
            self.token = token
            self.address = address
            self.directory = directory
            self.configPath = configPath
        }
    }

    static let clientPort = 8102, peerPort = 8101, adminPort = 22222

    /// What became of one write.
    enum Outcome: String {
        case acknowledged, failed, unknown
    }

    /// Every write of one client, in order.
    final class History: @unchecked Sendable {  // each client appends to its own; read after they stopped
        var writes: [(key: String, outcome: Outcome, at: Double)] = []
    }

    struct Report: CustomStringConvertible {
        var level: String
        var attempted = 0, acknowledged = 0
        var lostBeforeRepair = 0
        var lost = 0, unexpected = 0, recovered = 0
        var description: String {
            "\(level): \(attempted) written, \(acknowledged) acknowledged; lost \(lostBeforeRepair) before repair, \(lost) after; unexpected \(unexpected); recovered \(recovered)"
        }
    }

    static func environment(_ name: String, _ fallback: Int) -> Int {
        ProcessInfo.processInfo.environment[name].flatMap(Int.init) ?? fallback
    }
}

extension ClusterTests {
@Suite(.timeLimit(.minutes(6)))
struct Faults {
    typealias F = FaultHarness

    @Test(.enabled(if: NetworkLab.unavailable == nil, "network namespaces are unavailable here: \(NetworkLab.unavailable ?? "")"))
    func noAcknowledgedWriteIsLostUnderPartitionsKillsAndPauses() throws {
        let seed = UInt64(F.environment("FAULT_SEED", Int(UInt32.random(in: 1...UInt32.max))))
        let seconds = F.environment("FAULT_SECONDS", 120), interval = F.environment("FAULT_INTERVAL", 15)
        let lab = try NetworkLab(hosts: 6)
        defer { lab.remove() }
        let nodes = try start(lab)
        defer {
            for node in nodes {
                if node.paused, let pid = node.child?.pid { kill(pid, SIGCONT) }
                _ = node.child?.stop(signal: SIGKILL)
                node.directory.remove()
            }
        }
        for node in nodes {
            try ClusterTestSupport.eventually("\(node.address) connected to its 5 peers", seconds: 30) {
                connectedPeers(node) == 5
            }
        }

        // The workload: two clients per level, each adding unique keys through the nodes in turn.
        let levels = ["DC_QUORUM", "DC_SAFE_QUORUM", "DC_ONE"]
        let stop = StopFlag(false)
        var histories: [(level: String, history: F.History)] = []
        let group = DispatchGroup()
        let started = Date()
        for (l, level) in levels.enumerated() {
            for c in 0..<2 {
                let history = F.History()
                histories.append((level, history))
                group.enter()
                let prefix = "fh:\(level):\(c):"
                let addresses = nodes.map(\.address)
                Thread.detachNewThread {
                    defer { group.leave() }
                    runClient(prefix: prefix, level: level, addresses: addresses, first: l * 2 + c, history: history,
                              started: started, stop: stop)
                }
            }
        }

        // The faults: one every `interval` s, active for two thirds of it, chosen by the seed.
        var random = SplitMix64(seed: seed)
        var faultLog: [String] = ["seed \(seed)"]
        let shapes = ["halves", "isolate", "bridge", "kill", "pause", "loss"]
        var order = shapes
        var slot = 0
        while Date().timeIntervalSince(started) + Double(interval) <= Double(seconds) {
            if slot % shapes.count == 0 { order = shuffled(shapes, &random) }
            let shape = order[slot % shapes.count]
            slot += 1
            let described = try inject(shape, lab: lab, nodes: nodes, random: &random)
            faultLog.append(String(format: "%.1f s: %@", Date().timeIntervalSince(started), described))
            Thread.sleep(forTimeInterval: Double(interval) * 2 / 3)
            try heal(lab: lab, nodes: nodes)
            faultLog.append(String(format: "%.1f s: healed", Date().timeIntervalSince(started)))
            Thread.sleep(forTimeInterval: Double(interval) / 3)
        }
        stop.store(true)
        group.wait()
        for node in nodes {
            try ClusterTestSupport.eventually("\(node.address) connected again", seconds: 30) { connectedPeers(node) == 5 }
        }

        // Before repair: what each rack's copy holds right after healing (hints replay meanwhile).
        var before: [String: [Set<String>]] = [:]
        for level in levels { before[level] = try copies(nodes, pattern: "fh:\(level):*") }

        // One repair pass on every node, all at once.
        for node in nodes {
            let asked = try httpRequest(port: F.adminPort, host: node.address, path: "/repair")
            #expect(asked.status == 200, "\(asked)")
        }
        for node in nodes {
            try ClusterTestSupport.eventually("\(node.address)'s repair pass finished", seconds: 120) {
                let body = try httpRequest(port: F.adminPort, host: node.address, path: "/repair/status").body
                let figures = (try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Int]) ?? [:]
                return (figures["repair_passes"] ?? 0) >= 1 && figures["repair_running"] == 0
            }
        }

        // The checker.
        var reports: [F.Report] = []
        for level in levels {
            let writes = histories.filter { $0.level == level }.flatMap { $0.history.writes }
            let attempted = Set(writes.map(\.key))
            let acknowledged = Set(writes.filter { $0.outcome == .acknowledged }.map(\.key))
            let after = try copies(nodes, pattern: "fh:\(level):*")
            var report = F.Report(level: level, attempted: attempted.count, acknowledged: acknowledged.count)
            report.lostBeforeRepair = before[level]!.reduce(Set<String>()) { $0.union(acknowledged.subtracting($1)) }.count
            report.lost = after.reduce(Set<String>()) { $0.union(acknowledged.subtracting($1)) }.count
            report.unexpected = after.reduce(Set<String>()) { $0.union($1.subtracting(attempted)) }.count
            report.recovered = after.reduce(Set<String>()) { $0.union($1.subtracting(acknowledged)) }.count
            reports.append(report)
        }
        let path = try save(seed: seed, histories: histories, faults: faultLog, reports: reports)
        print("fault harness (seed \(seed), \(seconds) s, history \(path)):\n" + faultLog.joined(separator: "\n") + "\n"
              + reports.map(\.description).joined(separator: "\n"))
        for report in reports {
            #expect(report.acknowledged > 100, "\(report)")
            #expect(report.lost == 0, "\(report) (seed \(seed), history \(path))")
            #expect(report.unexpected == 0, "\(report) (seed \(seed), history \(path))")
        }
        // Every shape ran (a run shorter than six intervals covers fewer), and the faults bit:
        // some writes were refused or went unanswered.
        if seconds >= 6 * interval {
            for shape in shapes { #expect(faultLog.contains { $0.contains(": \(shape)") }, "\(shape) never injected") }
            #expect(reports.contains { $0.attempted > $0.acknowledged }, "no write failed: the faults did not reach the cluster")
        }
    }

    // MARK: Cluster

    func start(_ lab: NetworkLab) throws -> [F.Node] {
        var nodes: [F.Node] = []
        for i in 0..<lab.hosts {
            let directory = TemporaryDirectory("fault-node")
            nodes.append(F.Node(index: i, rack: i / 2, token: i % 2 == 0 ? 0 : 1 << 31, address: lab.address(i),
                                directory: directory, configPath: directory.path + "/dynamis.yml"))
        }
        for node in nodes {
            let seeds = nodes.filter { $0 !== node }.map { "  - \($0.address):\(F.peerPort):rack\($0.rack):dc1:\($0.token)" }
            let lines = ["dyn_o_mite:",
                         "  listen: \(node.address):\(F.clientPort)",
                         "  dyn_listen: \(node.address):\(F.peerPort)",
                         "  stats_listen: \(node.address):\(F.adminPort)",
                         "  datacenter: dc1", "  rack: rack\(node.rack)", "  tokens: '\(node.token)'",
                         "  data_store: rocksdb", "  data_dir: \(node.directory.path)/data",
                         "  read_consistency: DC_QUORUM", "  write_consistency: DC_QUORUM",
                         "  timeout: 1000", "  anti_entropy_interval: 0", "  anti_entropy_throttle: 16777216",
                         "  dyn_seeds:"] + seeds
            try lines.joined(separator: "\n").write(toFile: node.configPath, atomically: true, encoding: .utf8)
            try launch(node, lab)
        }
        return nodes
    }

    func launch(_ node: F.Node, _ lab: NetworkLab) throws {
        // `ip netns exec` execs the command: the child's pid is the node's.
        let child = try ChildProcess(executable: "/usr/sbin/ip",
                                     arguments: ["netns", "exec", lab.namespace(node.index), DynamisBinary.path, "-c", node.configPath, "-v", "6"],
                                     logPath: node.directory.path + "/dynamis.log")
        node.child = child
        guard waitForPort(F.clientPort, host: node.address, seconds: 20, while: { child.isRunning }) else {
            throw TestClientError("node \(node.address) did not start: \(child.log.suffix(2000))")
        }
    }

    func connectedPeers(_ node: F.Node) -> Int {
        guard let body = try? httpRequest(port: F.adminPort, host: node.address, path: "/cluster_describe").body else { return -1 }
        return body.components(separatedBy: "\"NORMAL\"").count - 2  // every node but itself
    }

    // MARK: Faults

    func inject(_ shape: String, lab: NetworkLab, nodes: [F.Node], random: inout SplitMix64) throws -> String {
        let order = shuffled(Array(0..<nodes.count), &random)
        switch shape {
        case "halves":
            let groups = [Array(order[0..<3]).sorted(), Array(order[3...]).sorted()]
            try lab.partition(groups)
            return "halves \(groups)"
        case "isolate":
            try lab.partition([[order[0]], Array(order[1...]).sorted()])
            return "isolate \(order[0])"
        case "bridge":
            let bridge = order[0], left = Array(order[1..<3]).sorted(), right = Array(order[3...]).sorted()
            try lab.partition([left + [bridge], right + [bridge]])
            return "bridge \(bridge) between \(left) and \(right)"
        case "kill":
            _ = nodes[order[0]].child?.stop(signal: SIGKILL)
            return "kill -9 \(order[0])"
        case "pause":
            if let pid = nodes[order[0]].child?.pid { kill(pid, SIGSTOP) }
            nodes[order[0]].paused = true
            return "pause \(order[0])"
        default:
            try lab.loss(order[0], probability: 0.2)
            try lab.loss(order[1], probability: 0.2)
            return "loss 20% at \(order[0]) and \(order[1])"
        }
    }

    func heal(lab: NetworkLab, nodes: [F.Node]) throws {
        try lab.heal()
        for node in nodes {
            if node.paused, let pid = node.child?.pid {
                kill(pid, SIGCONT)
                node.paused = false
            }
            if let child = node.child, !child.isRunning { try launch(node, lab) }
        }
    }

    func shuffled<T>(_ items: [T], _ random: inout SplitMix64) -> [T] {
        var out = items
        for i in stride(from: out.count - 1, to: 0, by: -1) {
            out.swapAt(i, Int(random.next() % UInt64(i + 1)))
        }
        return out
    }

    // MARK: Workload and reads

    /// Adds `prefix<n>` keys until told to stop, through the nodes in turn (the next one after
    /// any failure), recording each write's outcome.
    func runClient(prefix: String, level: String, addresses: [String], first: Int, history: F.History, started: Date,
                   stop: StopFlag) {
        var target = first
        var client: RESPTestClient?
        var n = 0
        while !stop.load() {
            if client == nil {
                client = try? RESPTestClient(port: F.clientPort, host: addresses[target % addresses.count], timeoutSeconds: 2)
                if let c = client, (try? c.command("DYNO_CONFIG:CONN_CONSISTENCY", level)) != .simple("OK") { client = nil }
                if client == nil {
                    target += 1
                    usleep(100_000)
                    continue
                }
            }
            let key = prefix + String(n)
            n += 1
            let outcome: F.Outcome
            do {
                let reply = try client!.command("SET", key, "1")
                outcome = reply == .simple("OK") ? .acknowledged : .failed
            } catch {
                outcome = .unknown
            }
            history.writes.append((key, outcome, Date().timeIntervalSince(started)))
            if outcome != .acknowledged {
                client = nil
                target += 1
            }
            usleep(5_000)
        }
    }

    /// Each rack's copy of the keys matching `pattern`: KEYS through the rack's first node at
    /// DC_ONE covers the rack's nodes, which hold one full copy.
    func copies(_ nodes: [F.Node], pattern: String) throws -> [Set<String>] {
        try (0..<3).map { rack in
            let node = nodes.first { $0.rack == rack }!
            let client = try RESPTestClient(port: F.clientPort, host: node.address, timeoutSeconds: 30)
            #expect(try client.command("DYNO_CONFIG:CONN_CONSISTENCY", "DC_ONE") == .simple("OK"))
            guard case .array(let keys?) = try client.command("KEYS", pattern) else { throw TestClientError("KEYS failed on \(node.address)") }
            return Set(keys.compactMap { if case .bulk(let bytes?) = $0 { return String(decoding: bytes, as: UTF8.self) } else { return nil } })
        }
    }

    func save(seed: UInt64, histories: [(level: String, history: F.History)], faults: [String], reports: [F.Report]) throws -> String {
        var root = URL(fileURLWithPath: #filePath)
        while root.path != "/", !FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path) {
            root.deleteLastPathComponent()
        }
        let folder = root.appendingPathComponent(".build/fault-histories")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("seed-\(seed).jsonl")
        var lines = faults.map { "{\"fault\":\"\($0)\"}" }
        for (level, history) in histories {
            for write in history.writes {
                lines.append("{\"level\":\"\(level)\",\"key\":\"\(write.key)\",\"outcome\":\"\(write.outcome.rawValue)\",\"at\":\(String(format: "%.3f", write.at))}")
            }
        }
        lines += reports.map { "{\"report\":\"\($0)\"}" }
        try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }
}
}

/// A flag the workload threads poll.
final class StopFlag: @unchecked Sendable {  // guarded by its lock
    private var value: Bool
    private let lock = NSLock()
    init(_ value: Bool) { self.value = value }
    func load() -> Bool { lock.withLock { value } }
    func store(_ new: Bool) { lock.withLock { value = new } }
}
