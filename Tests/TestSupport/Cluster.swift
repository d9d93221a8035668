import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A cluster of real `dynamis` processes on loopback: datacenters of racks of nodes, each
/// rack's tokens spread evenly. Every process is stopped by pid in `remove()`.
public final class TestCluster {
    /// One node: where it sits and its process.
    public final class Member {
        public let datacenter: String
        public let rack: String
        public let token: UInt32
        public let peerPort: Int
        public let process: DynamisProcess
        /// Its place in `layout`: datacenter, rack and node index.
        public let dcIndex: Int, rackIndex: Int, nodeIndex: Int

        init(datacenter: String, rack: String, token: UInt32, peerPort: Int, process: DynamisProcess,
             dcIndex: Int, rackIndex: Int, nodeIndex: Int) {
            self.datacenter = datacenter
            self.rack = rack
            self.token = token
            self.peerPort = peerPort
            self.process = process
            self.dcIndex = dcIndex
            self.rackIndex = rackIndex
            self.nodeIndex = nodeIndex
        }

        public var port: Int { process.port }
        public var dataDirectory: String { process.directory.path + "/data" }
        public func client() throws -> RESPTestClient { try process.client() }
    }

    public private(set) var members: [Member] = []

    /// `layout[dc][rack]` is the number of nodes of that rack. `extraConfig` lines go into
    /// every node's config (consistency, timeout, ...); `engine`, given a node's position in
    /// `members`, replaces the default engine lines (RocksDB in the node's directory).
    /// `perNode` adds lines to one node's config (by position); with `waitForPeers` false the
    /// cluster is returned as soon as every process listens (for links that must not come up).
    public init(layout: [[Int]], extraConfig: [String] = [], engine: ((Int) -> [String])? = nil,
                perNode: ((Int) -> [String])? = nil, waitForPeers: Bool = true) throws {
        var lastError: Error = TestClientError("cluster did not start")
        for _ in 0..<3 {
            do {
                try start(layout: layout, extraConfig: extraConfig, engine: engine, perNode: perNode)
                if waitForPeers { try self.waitForPeers() }
                return
            } catch {
                lastError = error
                remove()
            }
        }
        throw lastError
    }

    private func start(layout: [[Int]], extraConfig: [String], engine: ((Int) -> [String])?, perNode: ((Int) -> [String])?) throws {
        struct Plan { let dc: String, rack: String, token: UInt32, port: Int, peerPort: Int, adminPort: Int
                      let dcIndex: Int, rackIndex: Int, nodeIndex: Int }
        var plans: [Plan] = []
        for (d, racks) in layout.enumerated() {
            for (r, count) in racks.enumerated() {
                for n in 0..<count {
                    let token = UInt32(UInt64(n) * (UInt64(1) << 32) / UInt64(count))
                    plans.append(Plan(dc: "dc\(d + 1)", rack: "rack\(r + 1)", token: token, port: freePort(),
                                      peerPort: freePort(), adminPort: freePort(), dcIndex: d, rackIndex: r, nodeIndex: n))
                }
            }
        }
        let seeds = plans.map { "- 127.0.0.1:\($0.peerPort):\($0.rack):\($0.dc):\($0.token)" }
        for (index, plan) in plans.enumerated() {
            let directory = TemporaryDirectory("dynamis-cluster")
            let lines = ["listen: 127.0.0.1:\(plan.port)", "dyn_listen: 127.0.0.1:\(plan.peerPort)",
                         "stats_listen: 127.0.0.1:\(plan.adminPort)", "datacenter: \(plan.dc)", "rack: \(plan.rack)",
                         "tokens: '\(plan.token)'", "io_threads: 2"]
                // A test's own timeout replaces the default (the loader refuses duplicate keys).
                + (extraConfig.contains { $0.hasPrefix("timeout:") } ? [] : ["timeout: 1000"])
                + (engine?(index) ?? ["data_store: rocksdb"])
                // Every node keeps its files (data, hints, clock) in its own directory.
                + ((engine?(index) ?? []).contains { $0.hasPrefix("data_dir:") } ? [] : ["data_dir: \(directory.path)/data"])
                + extraConfig + (perNode?(index) ?? []) + ["dyn_seeds:"] + seeds
            let process: DynamisProcess
            do {
                process = try DynamisProcess(port: plan.port, adminPort: plan.adminPort, configLines: lines, directory: directory)
            } catch {
                directory.remove()
                throw error
            }
            members.append(Member(datacenter: plan.dc, rack: plan.rack, token: plan.token, peerPort: plan.peerPort,
                                  process: process, dcIndex: plan.dcIndex, rackIndex: plan.rackIndex, nodeIndex: plan.nodeIndex))
        }
    }

    /// Waits until every running node has all its peer connections up (asked over the admin
    /// port, which every engine has: memcached-engine clients cannot send INFO).
    public func waitForPeers(seconds: Double = 20) throws {
        let deadline = Date().addingTimeInterval(seconds)
        for member in members where member.process.child.isRunning {
            while true {
                let body = (try? httpRequest(port: member.process.adminPort, path: "/cluster_describe").body) ?? ""
                if body.contains("NORMAL"), !body.contains("DOWN") { break }
                if Date() > deadline { throw TestClientError("node \(member.port) did not connect to its peers: \(body)") }
                usleep(50_000)
            }
        }
    }

    /// Waits until the live nodes see exactly the expected number of peers connected.
    public func waitForConnectedPeers(_ expected: Int, on member: Member, seconds: Double = 20) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Self.field((try? member.client().command("INFO", "dynamis").string) ?? "", "peers_connected") != expected {
            if Date() > deadline { throw TestClientError("node \(member.port) never saw \(expected) peers connected") }
            usleep(50_000)
        }
    }

    public static func field(_ info: String, _ name: String) -> Int? {
        for line in info.split(whereSeparator: { $0.isNewline }) where line.hasPrefix(name + ":") {
            return Int(line.dropFirst(name.count + 1))
        }
        return nil
    }

    public func member(dc: Int = 0, rack: Int, node: Int = 0) -> Member {
        members.first { $0.dcIndex == dc && $0.rackIndex == rack && $0.nodeIndex == node }!
    }

    /// Sends a signal to one node's process (SIGKILL, SIGSTOP, SIGCONT) by pid.
    public func signal(_ member: Member, _ signal: Int32) {
        kill(member.process.child.pid, signal)
        if signal == SIGKILL { member.process.child.process.waitUntilExit() }
        if signal == SIGSTOP { waitUntilStopped(member.process.child.pid) }
    }

    /// Stops every process (continuing stopped ones first) and removes the data.
    public func remove() {
        for member in members {
            kill(member.process.child.pid, SIGCONT)
            member.process.remove()
        }
        members.removeAll()
    }
}
