import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

private typealias S = ClusterTestSupport

/// Replicas converge after a fault (versioned writes, tombstones, hinted handoff, read repair),
/// with real processes: nodes are killed with SIGKILL or frozen with SIGSTOP, writes go on
/// through the others, and the missed writes must reach the returning node by themselves.
enum ConvergenceSupport {
    /// Every key a workload touches, by kind, so each read uses its own type's command.
    struct Workload {
        var keys: Set<String> = []
        var acknowledged = 0
        var failed: [String] = []
    }

    /// `count` mixed writes through `client` (pipelined in batches of 100): SET, SET EX, INCR,
    /// HSET, LPUSH, SADD, ZADD, EXPIRE, and DEL of keys that existed before (`old`).
    static func mixedWrites(_ client: RESPTestClient, count: Int, seed: UInt64, old: [String]) throws -> Workload {
        var random = SplitMix64(seed: seed)
        var workload = Workload()
        var deletable = old
        var batch: [[String]] = []
        func flush() throws {
            for command in batch { try client.send(command) }
            for command in batch {
                let reply = try client.readReply()
                if case .error(let text) = reply { workload.failed.append("\(command.joined(separator: " ")): \(text)") } else { workload.acknowledged += 1 }
            }
            batch.removeAll()
        }
        for i in 0..<count {
            let n = Int(random.next() % 300)
            let command: [String]
            switch random.next() % 10 {
            case 0: command = ["SET", "s:\(n)", "v\(i)"]
            case 1: command = ["SET", "s:\(n)", "e\(i)", "EX", "500"]
            case 2: command = ["INCR", "c:\(n)"]
            case 3: command = ["HSET", "h:\(n)", "f\(random.next() % 20)", "v\(i)"]
            case 4: command = ["LPUSH", "l:\(n)", "v\(i)"]
            case 5: command = ["SADD", "t:\(n)", "m\(random.next() % 50)"]
            case 6: command = ["ZADD", "z:\(n)", String(random.next() % 1000), "m\(random.next() % 50)"]
            case 7: command = ["EXPIRE", "h:\(n)", "700"]
            default:
                if let key = deletable.popLast() { command = ["DEL", key] } else { command = ["INCR", "c:\(n)"] }
            }
            workload.keys.insert(command[1])
            batch.append(command)
            if batch.count == 100 { try flush() }
        }
        try flush()
        return workload
    }

    /// Each key's DUMP payload and absolute expiry (PEXPIRETIME) through `client` (pipelined).
    static func states(_ client: RESPTestClient, _ keys: [String]) throws -> [String: (dump: RESPValue, pttl: Int)] {
        var out: [String: (dump: RESPValue, pttl: Int)] = [:]
        for chunk in stride(from: 0, to: keys.count, by: 200).map({ Array(keys[$0..<min($0 + 200, keys.count)]) }) {
            for key in chunk {
                try client.send(["DUMP", key])
                try client.send(["PEXPIRETIME", key])
            }
            for key in chunk {
                let dump = try client.readReply()
                guard case .integer(let pttl) = try client.readReply() else { throw TestClientError("PEXPIRETIME \(key) was not an integer") }
                out[key] = (dump, pttl)
            }
        }
        return out
    }

    /// Keys whose state differs between two readings (expiry times may differ by up to a second).
    static func differences(_ a: [String: (dump: RESPValue, pttl: Int)], _ b: [String: (dump: RESPValue, pttl: Int)]) -> [String] {
        a.keys.sorted().filter { key in
            guard let x = a[key], let y = b[key] else { return true }
            if x.dump != y.dump { return true }
            if (x.pttl < 0) != (y.pttl < 0) { return x.pttl != y.pttl }
            return abs(x.pttl - y.pttl) > 1000
        }
    }

    static func metric(_ member: TestCluster.Member, _ line: String) -> Int? {
        let body = (try? httpRequest(port: member.process.adminPort, path: "/metrics").body) ?? ""
        for row in body.split(separator: "\n") where row.hasPrefix(line + " ") {
            return Int(row.dropFirst(line.count + 1))
        }
        return nil
    }
}

extension ClusterTests {
@Suite(.timeLimit(.minutes(4)))
struct Convergence {
    private typealias C = ConvergenceSupport

    /// The issue's scenario: 3 racks at DC_QUORUM, one node killed (or frozen), 10,000 mixed
    /// writes through another, the node back: without operator action it holds what the
    /// healthy nodes hold; then a second rack's node dies and quorum reads through the
    /// returning node still answer every acknowledged write.
    @Test(arguments: ["kill", "stop"])
    func aNodeThatMissedWritesCatchesUpByItself(_ fault: String) throws {
        let cluster = try TestCluster(layout: [[1, 1, 1]], extraConfig: ["read_consistency: DC_QUORUM", "write_consistency: DC_QUORUM"])
        defer { cluster.remove() }
        let healthy = cluster.member(rack: 0), victim = cluster.member(rack: 2), second = cluster.member(rack: 1)
        let writer = try healthy.client()
        let old = (0..<200).map { "old:\($0)" }
        for key in old { #expect(try writer.command("SET", key, "before") == .simple("OK")) }

        if fault == "kill" { cluster.signal(victim, SIGKILL) } else { cluster.signal(victim, SIGSTOP) }
        let workload = try C.mixedWrites(writer, count: 10_000, seed: fault == "kill" ? 1 : 2, old: old)
        #expect(workload.failed.isEmpty, "\(workload.failed.prefix(5))")
        #expect(workload.acknowledged == 10_000)
        #expect((C.metric(healthy, "dynamis_hints_stored_total") ?? 0) > 0)
        if fault == "kill" { try victim.process.restart() } else { cluster.signal(victim, SIGCONT) }

        let keys = Array(workload.keys.union(old)).sorted()
        let expected = try C.states(try S.client(healthy, consistency: "DC_ONE"), keys)
        // No operator action: the hints bring every key within 30 s.
        var stale: [String] = []
        var seen: [String: (dump: RESPValue, pttl: Int)] = [:]
        do {
            try S.eventually("the returning node holds every key as the healthy one does", seconds: 30) {
                seen = try C.states(try S.client(victim, consistency: "DC_ONE"), keys)
                stale = C.differences(expected, seen)
                return stale.isEmpty
            }
        } catch {
            let first = stale.first ?? ""
            Issue.record("\(stale.count) keys differ on the returning node, e.g. \(stale.prefix(5)); \(first): PTTL \(expected[first]?.pttl ?? -9) there, \(seen[first]?.pttl ?? -9) here; same payload: \(expected[first]?.dump == seen[first]?.dump)")
        }
        // Deleted keys stay deleted.
        let returning = try S.client(victim, consistency: "DC_ONE")
        for key in old where workload.keys.contains(key) { #expect(try returning.command("EXISTS", key) == .integer(0), "\(key)") }
        #expect((C.metric(healthy, "dynamis_hints_replayed_total") ?? 0) > 0)

        // A second fault: quorum reads through the returning node still see every write.
        cluster.signal(second, SIGKILL)
        let quorum = try S.client(victim, consistency: "DC_QUORUM")
        let afterward = try C.states(quorum, keys)
        #expect(C.differences(expected, afterward).isEmpty, "\(C.differences(expected, afterward).prefix(5))")
        let safe = try S.client(victim, consistency: "DC_SAFE_QUORUM")
        var refused = 0
        for key in keys.prefix(500) where try { if case .error = try safe.command("DUMP", key) { return true }; return false }() { refused += 1 }
        #expect(refused == 0)
    }
}
}
