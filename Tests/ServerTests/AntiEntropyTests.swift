import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

private typealias S = ClusterTestSupport
private typealias C = ConvergenceSupport

extension ClusterTests {
/// Anti-entropy with real processes: a node that missed writes past the hint window holds
/// exactly what the others hold after one `/repair`, and a second pass finds nothing to move.
@Suite(.timeLimit(.minutes(4)))
struct AntiEntropy {
    static func status(_ member: TestCluster.Member) throws -> [String: Int] {
        let body = try httpRequest(port: member.process.adminPort, path: "/repair/status").body
        return (try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Int]) ?? [:]
    }

    /// Starts a pass on `member` and waits until it finished (passes counted past `done`).
    static func repair(_ member: TestCluster.Member, passesBefore done: Int) throws -> [String: Int] {
        let asked = try httpRequest(port: member.process.adminPort, path: "/repair")
        #expect(asked.status == 200 && asked.body.contains("Repair of tokens 0-4294967295 requested"), "\(asked)")
        var figures: [String: Int] = [:]
        try S.eventually("the repair pass finished", seconds: 60) {
            figures = try status(member)
            return (figures["repair_passes"] ?? 0) > done && figures["repair_running"] == 0
        }
        return figures
    }

    @Test func aNodeDownPastTheHintWindowConvergesAfterOneRepair() throws {
        // Read repair off, so only anti-entropy can bring the missed writes.
        let cluster = try C.threeRacks(["max_hint_window: 1000", "anti_entropy_interval: 0", "read_repairs_enabled: false"])
        defer { cluster.remove() }
        let healthy = cluster.member(rack: 0), victim = cluster.member(rack: 2)
        let writer = try healthy.client()
        let old = (0..<200).map { "old:\($0)" }
        for key in old { #expect(try writer.command("SET", key, "before") == .simple("OK")) }

        cluster.signal(victim, SIGKILL)
        // The first missed write opens the victim's hint window; the workload comes after it closed.
        #expect(try writer.command("SET", "first-miss", "x") == .simple("OK"))
        Thread.sleep(forTimeInterval: 1.5)
        let workload = try C.mixedWrites(writer, count: 3000, seed: 5, old: old)
        #expect(workload.failed.isEmpty, "\(workload.failed.prefix(5))")
        try victim.process.restart()
        try cluster.waitForPeers()

        let keys = Array(workload.keys.union(old)).sorted()
        let expected = try C.states(try S.client(healthy, consistency: "DC_ONE"), keys)
        let before = C.differences(expected, try C.states(try S.client(victim, consistency: "DC_ONE"), keys))
        // Hints past the window were dropped: the returning node is stale.
        #expect(before.count > 1000)

        let first = try Self.repair(victim, passesBefore: 0)
        let after = C.differences(expected, try C.states(try S.client(victim, consistency: "DC_ONE"), keys))
        #expect(after.isEmpty, "\(after.count) keys still differ, e.g. \(after.prefix(5))")
        #expect((first["repair_keys_pulled"] ?? 0) >= before.count)
        #expect(first["repair_ranges_total"] == 2 && first["repair_ranges_done"] == 2 && first["repair_ranges_failed"] == 0,
                "\(victim.process.child.log.split(separator: "\n").filter { $0.contains("anti-entropy") }.suffix(4))")
        #expect((first["repair_segments_differing"] ?? 0) > 0)
        #expect((C.metric(victim, "dynamis_repair_keys_pulled_total") ?? 0) == first["repair_keys_pulled"])
        // Deleted keys stay deleted (their tombstones came too).
        let returning = try S.client(victim, consistency: "DC_ONE")
        for key in old where workload.keys.contains(key) { #expect(try returning.command("EXISTS", key) == .integer(0), "\(key)") }

        // The copies now digest the same: a second pass finds no segment differing, moves nothing.
        let second = try Self.repair(victim, passesBefore: 1)
        #expect(second["repair_segments_differing"] == first["repair_segments_differing"])
        #expect(second["repair_keys_pulled"] == first["repair_keys_pulled"])
        #expect(second["repair_keys_pushed"] == first["repair_keys_pushed"])
        #expect((second["repair_segments_compared"] ?? 0) == 2 * (first["repair_segments_compared"] ?? 0))
        // Identical copies exchange their segment digests only: 16,384 × 8 bytes a peer, plus framing.
        let identical = (second["repair_bytes_exchanged"] ?? 0) - (first["repair_bytes_exchanged"] ?? 0)
        #expect(identical > 2 * 131_072 && identical < 2 * 200_000, "\(identical) bytes for two identical peers")
        #expect(victim.process.child.log.contains("anti-entropy: pass finished"))
    }

    /// A node pushes what it has and the other lacks: writes made while a node was down, then
    /// repaired from the healthy side, reach the node without it asking.
    @Test func aPassPushesNewerStatesToTheOtherCopy() throws {
        let cluster = try C.threeRacks(["hinted_handoff_enabled: false", "anti_entropy_interval: 0", "read_repairs_enabled: false"])
        defer { cluster.remove() }
        let healthy = cluster.member(rack: 0), victim = cluster.member(rack: 1)
        let writer = try healthy.client()
        cluster.signal(victim, SIGKILL)
        for i in 0..<300 { #expect(try writer.command("HSET", "h\(i)", "f", "v\(i)") == .integer(1)) }
        try victim.process.restart()
        try cluster.waitForPeers()
        let figures = try Self.repair(healthy, passesBefore: 0)
        #expect((figures["repair_keys_pushed"] ?? 0) >= 300)
        let returning = try S.client(victim, consistency: "DC_ONE")
        for i in 0..<300 { #expect(try returning.command("HGET", "h\(i)", "f") == S.bulk("v\(i)"), "h\(i)") }
    }

    @Test func repairRequestsAreCheckedAndASingleNodeHasNothingToRepair() throws {
        let cluster = try C.threeRacks(["anti_entropy_interval: 0"])
        defer { cluster.remove() }
        let port = cluster.member(rack: 0).process.adminPort
        #expect(try httpRequest(port: port, path: "/repair?start=9&end=3").status == 400)
        #expect(try httpRequest(port: port, path: "/repair?start=x").status == 400)
        let part = try httpRequest(port: port, path: "/repair?start=100&end=200")
        #expect(part.status == 200 && part.body.contains("Repair of tokens 100-200 requested"))
        let single = try DynamisProcess()
        defer { single.remove() }
        let refused = try httpRequest(port: single.adminPort, path: "/repair")
        #expect(refused.status == 400 && refused.body.contains("no peers"))
    }
}
}

extension ClusterTests.AntiEntropy {
    /// `tools/cluster repair` runs a pass on every node of a launched cluster and prints what
    /// each found: here the writes a killed rack-3 node missed (hints off) come back to it.
    @Test func theLauncherRepairsAWholeClusterAndReportsIt() throws {
        let directory = TemporaryDirectory("dynamis-launcher-repair")
        defer { directory.remove() }
        guard let base = S.launcherBase(offsets: [1, 2, 3]) else {
            Issue.record("no free port range")
            return
        }
        func launcher(_ arguments: [String]) -> (status: Int32, log: String) { S.launcher(arguments, in: directory) }
        var restarted: ChildProcess?
        defer {
            _ = launcher(["down"])
            _ = restarted?.stop(signal: SIGKILL)
        }
        let up = launcher(["up", "--racks", "3", "--base-port", "\(base)", "--binary", DynamisBinary.path,
                           "--set", "'hinted_handoff_enabled: false'", "--set", "'read_repairs_enabled: false'"])
        #expect(up.status == 0, "\(up.log)")
        let pidFile = directory.path + "/cluster/run/dc1-rack3-n0.pid"
        guard let pid = Int32((try? String(contentsOfFile: pidFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") else {
            Issue.record("no pid file for rack 3: \(up.log)")
            return
        }
        kill(pid, SIGKILL)
        let writer = try RESPTestClient(port: base + 2)
        for i in 0..<25 { #expect(try writer.command("SET", "missed:\(i)", "v") == .simple("OK")) }
        restarted = try ChildProcess(executable: DynamisBinary.path, arguments: ["-c", directory.path + "/cluster/conf/dc1-rack3-n0.yml"],
                                     logPath: directory.path + "/rack3-again.log")
        #expect(waitForPort(base + 22, seconds: 20))
        try ClusterTestSupport.eventually("rack 3 connected again", seconds: 20) {
            (try? httpRequest(port: base + 23, path: "/cluster_describe").body.contains("DOWN")) == false
        }
        let repair = launcher(["repair"])
        #expect(repair.status == 0, "\(repair.log)")
        let rows = repair.log.split(separator: "\n").filter { $0.hasPrefix("dc1-rack") }
        #expect(rows.count == 3, "\(repair.log)")
        // Rack 3 pulled the 25 keys, or racks 1 and 2 pushed them first: at least 25 moved.
        var moved = 0
        for row in rows {
            let columns = row.split(separator: " ")
            moved += (Int(columns[2]) ?? 0) + (Int(columns[3]) ?? 0)
        }
        #expect(moved >= 25, "\(repair.log)")
        let rack3 = try RESPTestClient(port: base + 22)
        for i in 0..<25 { #expect(try rack3.command("GET", "missed:\(i)") == ClusterTestSupport.bulk("v"), "missed:\(i)") }
    }
}

extension ClusterTests {
/// Anti-entropy on the Redis engine: copies changed behind Dynamis's back (straight on one
/// redis-server) are put back by the majority of racks, and a two-rack disagreement is left alone.
@Suite(.timeLimit(.minutes(3)))
struct BackendAntiEntropy {
    @Test func theMajorityOfRacksRepairsAChangedCopyAndTwoRacksLeaveItAlone() throws {
        for racks in [3, 2] {
            let directory = TemporaryDirectory("dynamis-redis-repair")
            defer { directory.remove() }
            guard let base = S.launcherBase(offsets: [1, 2, 3, 9]) else {
                Issue.record("no free port range")
                return
            }
            func launcher(_ arguments: [String]) -> (status: Int32, log: String) { S.launcher(arguments, in: directory) }
            defer { _ = launcher(["down"]) }
            let up = launcher(["up", "--racks", "\(racks)", "--engine", "redis", "--base-port", "\(base)", "--binary", DynamisBinary.path,
                               "--consistency", "DC_QUORUM", "--set", "'read_repairs_enabled: false'", "--set", "'anti_entropy_interval: 0'"])
            #expect(up.status == 0, "\(up.log)")
            guard up.status == 0 else { return }
            let client = try RESPTestClient(port: base + 2)
            for i in 0..<100 { #expect(try client.command("SET", "k\(i)", "v\(i)") == .simple("OK")) }
            // The last rack's redis-server is changed directly: a value, a delete, a stray key.
            let backend = try RESPTestClient(port: base + 10 * (racks - 1) + 9)
            #expect(try backend.command("SET", "k1", "wrong") == .simple("OK"))
            #expect(try backend.command("DEL", "k2") == .integer(1))
            #expect(try backend.command("SET", "ghost", "boo") == .simple("OK"))
            let admin = base + 3
            let asked = try httpRequest(port: admin, path: "/repair")
            #expect(asked.status == 200, "\(asked)")
            var status: [String: Int] = [:]
            try S.eventually("the pass finished", seconds: 30) {
                let body = try httpRequest(port: admin, path: "/repair/status").body
                status = (try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Int]) ?? [:]
                return status["repair_passes"] == 1 && status["repair_running"] == 0
            }
            if racks == 3 {
                try S.eventually("the majority's states are back") {
                    try backend.command("GET", "k1") == S.bulk("v1") && backend.command("GET", "k2") == S.bulk("v2")
                        && backend.command("EXISTS", "ghost") == .integer(0)
                }
                #expect(status["repair_keys_pushed"] == 3 && status["repair_keys_ambiguous"] == 0, "\(status)")
            } else {
                #expect(status["repair_keys_ambiguous"] == 3 && status["repair_keys_pushed"] == 0, "\(status)")
                #expect(try backend.command("GET", "k1") == S.bulk("wrong"))
            }
        }
    }
}
}
