import Foundation
import Synchronization
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

private typealias S = ClusterTestSupport

/// A set workload at DC_QUORUM through one node: unique keys, and which of them were acknowledged.
private final class QuorumWorkload: Sendable {
    private let state = Mutex<(acknowledged: [String], failed: [String], errors: [String])>(([], [], []))
    private let running = Atomic<Bool>(true)
    private let finished = Atomic<Bool>(false)

    init(port: Int) {
        Thread.detachNewThread { [self] in
            defer { finished.store(true, ordering: .sequentiallyConsistent) }
            var client: RESPTestClient?
            var i = 0
            while running.load(ordering: .relaxed) {
                let key = "w:\(i)"
                i += 1
                do {
                    if client == nil { client = try RESPTestClient(port: port) }
                    let reply = try client!.command("SET", key, "v\(i)")
                    state.withLock { s in
                        if reply == .simple("OK") {
                            s.acknowledged.append(key)
                        } else {
                            s.failed.append(key)
                            s.errors.append("\(reply)")
                        }
                    }
                } catch {
                    client = nil
                    state.withLock { $0.failed.append(key); $0.errors.append("\(error)") }
                    usleep(20_000)
                }
                usleep(2_000)
            }
        }
    }

    func stop() -> (acknowledged: [String], failed: [String], errors: [String]) {
        running.store(false, ordering: .relaxed)
        while !finished.load(ordering: .sequentiallyConsistent) { usleep(10_000) }
        return state.withLock { $0 }
    }
}

extension ClusterTests {
/// Membership changes with real processes through `tools/cluster` (DESIGN.md §5b): a cluster
/// grows, shrinks and replaces a node under a DC_QUORUM workload and loses no acknowledged
/// write; afterwards every node holds exactly the keys its tokens own.
@Suite(.timeLimit(.minutes(6)))
struct Membership {
    /// A launcher base whose first `nodes` nodes' ports are free.
    static func base(nodes: Int) -> Int? { launcherBasePort(nodes: nodes) }

    static func json(_ port: Int, _ path: String) throws -> [String: Any] {
        let body = try httpRequest(port: port, path: path).body
        return (try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:]
    }

    /// Every running node's admin port, from the launcher's configs.
    static func adminPorts(_ directory: TemporaryDirectory) throws -> [String: Int] {
        let confs = try FileManager.default.contentsOfDirectory(atPath: directory.path + "/cluster/conf").filter { $0.hasSuffix(".yml") }
        var ports: [String: Int] = [:]
        for conf in confs {
            let text = try String(contentsOfFile: directory.path + "/cluster/conf/" + conf, encoding: .utf8)
            let line = text.split(separator: "\n").first { $0.contains("stats_listen:") }!
            ports[String(conf.dropLast(4))] = Int(line.split(separator: ":").last!)!
        }
        return ports
    }

    /// Waits until every node is at one epoch with no change in flight and has dropped what it
    /// no longer owns; returns each rack's keys (the sum of its nodes' owned keys).
    static func settled(_ directory: TemporaryDirectory) throws -> [String: Int] {
        var perRack: [String: Int] = [:]
        var seen: [String: [String: Any]] = [:]
        var done = false
        defer {
            if !done {
                Issue.record("last seen: \(seen)")
                // The nodes' logs outlive the test's directory, for the failure's analysis.
                _ = system("rm -rf /tmp/dynamis-membership-failure && cp -r \(directory.path)/cluster/log /tmp/dynamis-membership-failure")
            }
        }
        try S.eventually("every node settled with no foreign keys", seconds: 60) {
            perRack = [:]
            var epochs: Set<Int> = []
            for (name, port) in try adminPorts(directory) {
                let verify = try json(port, "/topology/verify")
                seen[name] = verify
                guard verify["change_running"] as? Bool == false, verify["foreign_keys"] as? Int == 0,
                      let epoch = verify["epoch"] as? Int, let owned = verify["owned_keys"] as? Int else { return false }
                epochs.insert(epoch)
                let rack = name.split(separator: "-")[1]
                perRack[String(rack), default: 0] += owned
            }
            return epochs.count == 1
        }
        done = true
        return perRack
    }

    @Test func growShrinkAndReplaceUnderAQuorumWorkloadLoseNothing() throws {
        try Self.changes(engine: "rocksdb", shrinkAndReplace: true)
    }

    /// The grow step on the Redis engine: real redis-server backends, ranges moved by SCAN + DUMP.
    @Test func aRedisEngineClusterGrowsUnderAQuorumWorkloadAndLosesNothing() throws {
        try Self.changes(engine: "redis", shrinkAndReplace: false)
    }

    /// 3 racks × 1 node grow to 3 × 2 (and, with `shrinkAndReplace`, back to 3 × 1, then a dead
    /// node is replaced) under a DC_QUORUM set workload through rack 3's first node; after each
    /// step every node holds only its own tokens' keys; at the end no acknowledged write is lost.
    static func changes(engine: String, shrinkAndReplace: Bool) throws {
        let directory = TemporaryDirectory("dynamis-membership")
        defer { directory.remove() }
        guard let base = Self.base(nodes: 8) else {
            Issue.record("no free port range")
            return
        }
        func launcher(_ arguments: [String]) -> (status: Int32, log: String) { S.launcher(arguments, in: directory) }
        defer { _ = launcher(["down"]) }
        let up = launcher(["up", "--racks", "3", "--base-port", "\(base)", "--binary", DynamisBinary.path, "--consistency", "DC_QUORUM",
                           "--engine", engine, "--set", "'timeout: 1000'"])
        #expect(up.status == 0, "\(up.log)")
        guard up.status == 0 else { return }
        // The workload's coordinator (rack 3's first node) stays through every step.
        let workload = QuorumWorkload(port: base + 22)
        let half = "2147483648"
        var steps: [(String, [String])] = []
        for rack in ["rack1", "rack2", "rack3"] { steps.append(("add \(rack)", ["add-node", "--rack", rack, "--token", half, "--binary", DynamisBinary.path])) }
        if shrinkAndReplace {
            for rack in ["rack1", "rack2", "rack3"] { steps.append(("remove \(rack)", ["remove-node", "dc1-\(rack)-n1"])) }
        }
        for (what, arguments) in steps {
            let step = launcher(arguments)
            #expect(step.status == 0, "\(what): \(step.log)")
            guard step.status == 0 else { _ = workload.stop(); return }
            _ = try Self.settled(directory)
        }
        if shrinkAndReplace {
            // Replace: rack 2's node dies, a new node takes its token from the other racks.
            let pid = Int32(try String(contentsOfFile: directory.path + "/cluster/run/dc1-rack2-n0.pid", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines))!
            kill(pid, SIGKILL)
            let replace = launcher(["replace-node", "dc1-rack2-n0", "--binary", DynamisBinary.path])
            #expect(replace.status == 0, "\(replace.log)")
        }
        usleep(500_000)
        let result = workload.stop()
        let perRack = try Self.settled(directory)
        #expect(result.acknowledged.count > 100, "the workload ran: \(result.acknowledged.count) acknowledged, errors \(result.errors.prefix(3))")
        // Lost: acknowledged at DC_QUORUM but not read back at DC_QUORUM.
        let reader = try RESPTestClient(port: base + 22)
        var lost: [String] = []
        for key in result.acknowledged where try reader.command("GET", key) == .bulk(nil) { lost.append(key) }
        #expect(lost.isEmpty, "\(lost.count) of \(result.acknowledged.count) acknowledged writes lost, e.g. \(lost.prefix(5))")
        // Every rack is a full copy: each holds every acknowledged key, and nothing never written.
        #expect(perRack.count == 3)
        for (rack, keys) in perRack {
            #expect(keys >= result.acknowledged.count && keys <= result.acknowledged.count + result.failed.count,
                    "\(rack) holds \(keys) keys; \(result.acknowledged.count) acknowledged, \(result.failed.count) failed")
        }
    }

    @Test func aJoiningNodeKilledMidStreamResumesAndFinishes() throws {
        let directory = TemporaryDirectory("dynamis-membership-resume")
        defer { directory.remove() }
        guard let base = Self.base(nodes: 5) else {
            Issue.record("no free port range")
            return
        }
        @Sendable func launcher(_ arguments: [String]) -> (status: Int32, log: String) { S.launcher(arguments, in: directory) }
        var restarted: ChildProcess?
        defer {
            _ = launcher(["down"])
            _ = restarted?.stop(signal: SIGKILL)
        }
        // 20 KB/s of 1 KB values: the joining node's ~300 keys take ~10 s to stream.
        let up = launcher(["up", "--racks", "3", "--base-port", "\(base)", "--binary", DynamisBinary.path, "--consistency", "DC_QUORUM",
                           "--set", "'timeout: 1000'", "--set", "'stream_throughput: 20480'"])
        #expect(up.status == 0, "\(up.log)")
        guard up.status == 0 else { return }
        let writer = try RESPTestClient(port: base + 2)
        let value = String(repeating: "x", count: 1000)
        for i in 0..<600 { #expect(try writer.command("SET", "r:\(i)", value) == .simple("OK")) }

        // The launcher waits for the join; meanwhile the joining node is killed mid-stream.
        let joined = Mutex<(status: Int32, log: String)?>(nil)
        Thread.detachNewThread {
            let add = launcher(["add-node", "--rack", "rack1", "--token", "2147483648", "--binary", DynamisBinary.path])
            joined.withLock { $0 = add }
        }
        let admin = base + 33
        try S.eventually("the new node streamed some keys", seconds: 60) {
            ((try? Self.json(admin, "/topology"))?["stream_keys_pulled"] as? Int ?? 0) >= 30
        }
        let pidFile = directory.path + "/cluster/run/dc1-rack1-n1.pid"
        let pid = Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))!
        kill(pid, SIGKILL)
        restarted = try ChildProcess(executable: DynamisBinary.path, arguments: ["-c", directory.path + "/cluster/conf/dc1-rack1-n1.yml"],
                                     logPath: directory.path + "/rejoined.log")
        try S.eventually("the launcher saw the join finish", seconds: 120) { joined.withLock { $0 } != nil }
        let add = joined.withLock { $0 }!
        #expect(add.status == 0, "\(add.log)")
        let topology = try Self.json(admin, "/topology")
        #expect(topology["member"] as? Bool == true && topology["change"] is NSNull, "\(topology)")
        let verify = try Self.json(admin, "/topology/verify")
        let owned = verify["owned_keys"] as? Int ?? 0
        // The restarted process pulled only what the first had not (its counters start at 0).
        let pulledAfterRestart = topology["stream_keys_pulled"] as? Int ?? 0
        #expect(owned > 200 && pulledAfterRestart < owned, "owned \(owned), pulled after the restart \(pulledAfterRestart)")
        let perRack = try Self.settled(directory)
        #expect(perRack["rack1"] == 600, "\(perRack)")
        let reader = try RESPTestClient(port: base + 32)
        for i in stride(from: 0, to: 600, by: 7) { #expect(try reader.command("GET", "r:\(i)") == S.bulk(value), "r:\(i)") }
    }

    /// The launcher starts a new node on ports nothing holds and proposes a change only for a
    /// node that is running: a taken port moves the node to the next ten; a node that dies on
    /// start fails the command with the end of its log, and the cluster's epoch does not move.
    @Test func theLauncherSkipsTakenPortsAndProposesNothingForANodeThatDies() throws {
        let directory = TemporaryDirectory("dynamis-membership-ports")
        defer { directory.remove() }
        guard let base = Self.base(nodes: 6) else {
            Issue.record("no free port range")
            return
        }
        func launcher(_ arguments: [String]) -> (status: Int32, log: String) { S.launcher(arguments, in: directory) }
        defer { _ = launcher(["down"]) }
        let up = launcher(["up", "--racks", "3", "--base-port", "\(base)", "--binary", DynamisBinary.path, "--set", "'timeout: 1000'"])
        #expect(up.status == 0, "\(up.log)")
        guard up.status == 0 else { return }
        // The fourth node's client port (base + 32) is held by another process's socket.
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(holder) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(base + 32).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(holder, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(bound == 0 && listen(holder, 1) == 0)
        let add = launcher(["add-node", "--rack", "rack1", "--token", "2147483648", "--binary", DynamisBinary.path])
        #expect(add.status == 0, "\(add.log)")
        #expect(add.log.contains("is in use; trying the next ten"), "\(add.log)")
        let conf = try String(contentsOfFile: directory.path + "/cluster/conf/dc1-rack1-n1.yml", encoding: .utf8)
        #expect(!conf.contains("listen: 127.0.0.1:\(base + 32)") && conf.contains("listen: 127.0.0.1:"), "\(conf)")
        let admin = try #require(try Self.adminPorts(directory)["dc1-rack1-n1"])
        #expect(admin > base + 33, "the node moved past the held port's ten: admin \(admin)")
        #expect(try Self.json(admin, "/topology")["member"] as? Bool == true)
        // The first node learns the finished join's epoch by gossip (the launcher waited on the
        // new node's view).
        try S.eventually("the first node has epoch 2") { try Self.json(base + 3, "/topology")["epoch"] as? Int == 2 }
        let epoch = 2

        // A binary that exits at once: the command fails, says why, and proposes nothing.
        let failing = launcher(["add-node", "--rack", "rack2", "--token", "2147483648", "--binary", "/bin/false"])
        #expect(failing.status == 1, "\(failing.log)")
        #expect(failing.log.contains("dc1-rack2-n1 did not start"), "\(failing.log)")
        #expect(FileManager.default.fileExists(atPath: directory.path + "/cluster/removed/dc1-rack2-n1.failed.yml"))
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/cluster/conf/dc1-rack2-n1.yml"))
        #expect(try Self.json(base + 3, "/topology")["epoch"] as? Int == epoch)
        #expect(try Self.json(base + 3, "/topology")["change"] is NSNull)
    }

    @Test func changesThatCannotRunAreRefusedWithAClearError() throws {
        let cluster = try TestCluster(layout: [[1, 1]], extraConfig: ["timeout: 1000"])
        defer { cluster.remove() }
        let admin = cluster.member(rack: 0).process.adminPort
        let peer = "127.0.0.1:\(cluster.member(rack: 1).peerPort)"
        let unknownRack = try httpRequest(port: admin, path: "/topology/join/127.0.0.1:1:rack9:dc1:5")
        #expect(unknownRack.status == 400 && unknownRack.body.contains("no rack 'rack9'"), "\(unknownRack)")
        let rackName = cluster.member(rack: 0).rack
        let tokenTaken = try httpRequest(port: admin, path: "/topology/join/127.0.0.1:1:\(rackName):dc1:0")
        #expect(tokenTaken.status == 400 && tokenTaken.body.contains("token 0 is already used"), "\(tokenTaken)")
        let lastInRack = try httpRequest(port: admin, path: "/topology/leave/\(peer)")
        #expect(lastInRack.status == 400 && lastInRack.body.contains("last node of its rack"), "\(lastInRack)")
        // A join of a node that never starts stays in flight: a second change is refused.
        let first = try httpRequest(port: admin, path: "/topology/join/127.0.0.1:1:\(rackName):dc1:5")
        #expect(first.status == 200 && first.body.contains("started at epoch 1"), "\(first)")
        let other = cluster.member(rack: 1).process.adminPort
        try S.eventually("the other node has the change") { (try Self.json(other, "/topology"))["epoch"] as? Int == 1 }
        let second = try httpRequest(port: other, path: "/topology/join/127.0.0.1:2:\(rackName):dc1:9")
        #expect(second.status == 409 && second.body.contains("a topology change is already running (epoch 1: join of 127.0.0.1:1"), "\(second)")
        // Writes go on meanwhile (the absent pending owner gets hints), and the change can be abandoned.
        let client = try cluster.member(rack: 0).client()
        #expect(try client.command("SET", "during", "1") == .simple("OK"))
        let abort = try httpRequest(port: other, path: "/topology/abort")
        #expect(abort.status == 200 && abort.body.contains("abandoned at epoch 2"), "\(abort)")
        try S.eventually("both nodes left the change") {
            try [admin, other].allSatisfy { let t = try Self.json($0, "/topology"); return t["epoch"] as? Int == 2 && t["change"] is NSNull }
        }
        #expect(try client.command("GET", "during") == S.bulk("1"))
        // The epoch is in /cluster_describe, /info and /metrics.
        #expect(try Self.json(admin, "/cluster_describe")["epoch"] as? Int == 2)
        #expect(try Self.json(admin, "/info")["topology_epoch"] as? Int == 2)
        let metrics = try httpRequest(port: admin, path: "/metrics").body
        #expect(metrics.contains("dynamis_topology_epoch 2\n") && metrics.contains("dynamis_topology_change_running 0\n"))
        // Gossip is peer-only: a client is told it is an unknown command.
        guard case .error(let message) = try client.command("DYNAMIS.TOPOLOGY") else { Issue.record("DYNAMIS.TOPOLOGY answered a client"); return }
        #expect(message.hasPrefix("ERR unknown command 'DYNAMIS.TOPOLOGY'"))
    }
}
}
