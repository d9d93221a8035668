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

    /// Each key's value and absolute expiry (PEXPIRETIME) through `client` (pipelined). The value
    /// is the DUMP payload, except for sets, whose members come sorted: a set's payload lists
    /// its members in hash-table order, which differs between equal sets built in other orders.
    static func states(_ client: RESPTestClient, _ keys: [String]) throws -> [String: (dump: RESPValue, pttl: Int)] {
        var out: [String: (dump: RESPValue, pttl: Int)] = [:]
        for chunk in stride(from: 0, to: keys.count, by: 200).map({ Array(keys[$0..<min($0 + 200, keys.count)]) }) {
            for key in chunk {
                try client.send([key.hasPrefix("t:") ? "SMEMBERS" : "DUMP", key])
                try client.send(["PEXPIRETIME", key])
            }
            for key in chunk {
                var dump = try client.readReply()
                if case .array(let members?) = dump { dump = .array(members.sorted { $0.description < $1.description }) }
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

    /// 3 racks × 1 node at DC_QUORUM with `extra` config lines; with `redis`, each node is on the
    /// Redis engine in front of its own redis-server.
    static func threeRacks(_ extra: [String] = [], redis backends: [RedisServer]? = nil) throws -> TestCluster {
        let config = ["read_consistency: DC_QUORUM", "write_consistency: DC_QUORUM"] + extra
        guard let backends else { return try TestCluster(layout: [[1, 1, 1]], extraConfig: config) }
        return try TestCluster(layout: [[1, 1, 1]], extraConfig: config) { i in
            ["data_store: redis", "servers:", "- 127.0.0.1:\(backends[i].port):1"]
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
        let cluster = try C.threeRacks()
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
            let versions = [healthy, victim].map { m in (try? S.client(m, consistency: "DC_ONE").command("DYNAMIS.STATE", first))?.description.prefix(40) ?? "?" }
            let pending = (try? httpRequest(port: healthy.process.adminPort, path: "/hints").body) ?? ""
            let lines = healthy.process.child.log.split(separator: "\n").filter { $0.contains("hint") }.suffix(6)
            Issue.record("versions \(versions); hints \(pending); \(lines)")
            Issue.record("\(stale.count) keys differ on the returning node, e.g. \(stale.prefix(5)); \(first): expiry \(expected[first]?.pttl ?? -9) there, \(seen[first]?.pttl ?? -9) here; value \(first.hasPrefix("t:") ? String(describing: expected[first]?.dump) : "") there, \(first.hasPrefix("t:") ? String(describing: seen[first]?.dump) : "") here")
        }
        // Deleted keys stay deleted.
        let returning = try S.client(victim, consistency: "DC_ONE")
        for key in old where workload.keys.contains(key) { #expect(try returning.command("EXISTS", key) == .integer(0), "\(key)") }
        // Every hint is sent (the returning node's state converged above, so none is left).
        try S.eventually("no hint left for the returning node") {
            try httpRequest(port: healthy.process.adminPort, path: "/hints").body.contains("\"pending\":{}")
        }
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

    /// With hints off, a node that was down is stale: each DC_QUORUM read through it answers the
    /// newest state (by version, not by which replica answered first) and repairs it, and reads
    /// through a healthy node repair it in the background.
    @Test func quorumReadsAnswerTheNewestAndRepairTheStaleReplica() throws {
        let cluster = try C.threeRacks(["hinted_handoff_enabled: false"])
        defer { cluster.remove() }
        let healthy = cluster.member(rack: 0), victim = cluster.member(rack: 2)
        let writer = try healthy.client()
        for i in 0..<100 { #expect(try writer.command("SET", "k\(i)", "old") == .simple("OK")) }
        for i in 0..<60 { #expect(try writer.command("SET", "m\(i)", "old") == .simple("OK")) }
        // A quorum write is acknowledged by two replicas: wait until the third holds them too.
        let before = try S.client(victim, consistency: "DC_ONE")
        try S.eventually("the victim holds every old key") {
            try before.command(["EXISTS"] + (0..<100).map { "k\($0)" } + (0..<60).map { "m\($0)" }) == .integer(160)
        }
        cluster.signal(victim, SIGKILL)
        // Multi-key reads: MGET's and EXISTS's keys span every owner set.
        for i in 0..<60 {
            #expect(try writer.command(i % 4 == 0 ? ["DEL", "m\(i)"] : ["SET", "m\(i)", "new"]) == (i % 4 == 0 ? .integer(1) : .simple("OK")))
        }
        for i in 0..<100 {
            if i % 4 == 0 {
                #expect(try writer.command("DEL", "k\(i)") == .integer(1))
            } else {
                #expect(try writer.command("SET", "k\(i)", "new") == .simple("OK"))
            }
            #expect(try writer.command("HSET", "h\(i)", "f", "v\(i)") == .integer(1))
        }
        try victim.process.restart()
        try cluster.waitForPeers()
        // Without repair the returning node is stale, and hints were off.
        let alone = try S.client(victim, consistency: "DC_ONE")
        #expect(try alone.command("GET", "k1") == S.bulk("old"))
        #expect(try alone.command("HGET", "h1", "f") == .bulk(nil))
        // Through the stale node itself: its own (first) answer loses to the newer version.
        let quorum = try S.client(victim, consistency: "DC_QUORUM")
        for i in 0..<50 {
            #expect(try quorum.command("GET", "k\(i)") == (i % 4 == 0 ? .bulk(nil) : S.bulk("new")), "k\(i)")
            #expect(try quorum.command("HGET", "h\(i)", "f") == S.bulk("v\(i)"), "h\(i)")
        }
        for i in 0..<50 {
            #expect(try alone.command("GET", "k\(i)") == (i % 4 == 0 ? .bulk(nil) : S.bulk("new")), "k\(i) repaired")
            #expect(try alone.command("HGET", "h\(i)", "f") == S.bulk("v\(i)"), "h\(i) repaired")
        }
        #expect((C.metric(victim, "dynamis_read_repairs_total") ?? 0) >= 100)
        // A multi-key read whose owner sets disagree reads each key again with its own repair.
        let mKeys = (0..<30).map { "m\($0)" }, eKeys = (30..<60).map { "m\($0)" }
        let expected: (String) -> RESPValue = { key in Int(key.dropFirst())! % 4 == 0 ? .bulk(nil) : S.bulk("new") }
        #expect(try quorum.command(["MGET"] + mKeys) == .array(mKeys.map(expected)))
        #expect(try alone.command(["MGET"] + mKeys) == .array(mKeys.map(expected)), "MGET's keys repaired")
        let live = eKeys.filter { Int($0.dropFirst())! % 4 != 0 }.count
        #expect(try alone.command(["EXISTS"] + eKeys) == .integer(eKeys.count), "stale before EXISTS")
        #expect(try quorum.command(["EXISTS"] + eKeys) == .integer(live))
        #expect(try alone.command(["EXISTS"] + eKeys) == .integer(live), "EXISTS's keys repaired")
        // Through a healthy node the two healthy replicas may answer first; the stale one's late
        // answer still starts a repair.
        let other = try S.client(healthy, consistency: "DC_QUORUM")
        for i in 50..<100 { _ = try other.command("GET", "k\(i)") }
        try S.eventually("the stale replica repaired in the background") {
            try (50..<100).allSatisfy { i in try alone.command("GET", "k\(i)") == (i % 4 == 0 ? .bulk(nil) : S.bulk("new")) }
        }
        // Dynomite's switch turns it off.
        #expect(try httpRequest(port: victim.process.adminPort, path: "/read_repairs/disable").body.contains("DISABLED"))
        #expect(try httpRequest(port: victim.process.adminPort, path: "/read_repairs/enable").body.contains("ENABLED"))
    }

    /// Collections larger than `state_chunk_size` move in parts (issue 16: never one frame over
    /// the peer frame limit) by each of the three ways a state travels, and arrive whole: hinted
    /// handoff, read repair (the hints dropped first), anti-entropy (the same).
    @Test func bigCollectionsMoveInPartsByHintsRepairAndAntiEntropy() throws {
        let cluster = try C.threeRacks(["state_chunk_size: 1kb", "anti_entropy_interval: 0"])
        defer { cluster.remove() }
        let healthy = cluster.member(rack: 0), victim = cluster.member(rack: 2)
        let writer = try healthy.client()
        let name = "127.0.0.1:\(victim.peerPort)"
        // About 45 KB per collection: dozens of 1 KB parts each.
        func fill(_ tag: String) throws -> [String] {
            var commands: [[String]] = []
            for i in 0..<1000 {
                commands.append(["HSET", "h:\(tag)", "field\(i)", "value-\(i)-" + String(repeating: "x", count: 16)])
                commands.append(["RPUSH", "l:\(tag)", "element-\(i)"])
                commands.append(["SADD", "t:\(tag)", "member-\(i)"])
                commands.append(["ZADD", "z:\(tag)", String(i % 97), "member-\(i)"])
            }
            // Pipelined 100 at a time (as `mixedWrites`): each request's peer timeout runs from its
            // send, so thousands queued at once would time out on a loaded machine.
            for start in stride(from: 0, to: commands.count, by: 100) {
                let batch = commands[start..<min(start + 100, commands.count)]
                for command in batch { try writer.send(command) }
                for command in batch {
                    if case .error(let text) = try writer.readReply() { Issue.record("\(command[0]) \(command[1]): \(text)") }
                }
            }
            return ["h:\(tag)", "l:\(tag)", "t:\(tag)", "z:\(tag)"]
        }
        let reference = try S.client(healthy, consistency: "DC_ONE")
        func differing(_ keys: [String]) throws -> [String] {
            C.differences(try C.states(reference, keys), try C.states(try S.client(victim, consistency: "DC_ONE"), keys))
        }
        func outage(_ tag: String, dropHints: Bool) throws -> [String] {
            cluster.signal(victim, SIGKILL)
            let keys = try fill(tag)
            if dropHints {
                let dropped = try httpRequest(port: healthy.process.adminPort, path: "/hints/drop/\(name)")
                #expect(dropped.status == 200, "\(dropped)")
            }
            try victim.process.restart()
            try cluster.waitForPeers()
            return keys
        }

        // Hinted handoff.
        let hinted = try outage("hints", dropHints: false)
        try S.eventually("the hints delivered the collections whole") { try differing(hinted).isEmpty }
        #expect((C.metric(healthy, "dynamis_state_parts_sent_total") ?? 0) >= 4 * 20)

        // Read repair: each quorum read through the stale node answers the whole collection.
        let read = try outage("reads", dropHints: true)
        #expect(try differing(read) == read)
        let quorum = try S.client(victim, consistency: "DC_QUORUM")
        #expect(try quorum.command("HLEN", "h:reads") == .integer(1000))
        #expect(try quorum.command("LLEN", "l:reads") == .integer(1000))
        #expect(try quorum.command("SCARD", "t:reads") == .integer(1000))
        #expect(try quorum.command("ZCARD", "z:reads") == .integer(1000))
        try S.eventually("read repair wrote the collections whole") { try differing(read).isEmpty }

        // Anti-entropy.
        let synced = try outage("repair", dropHints: true)
        #expect(try differing(synced) == synced)
        let partsBefore = C.metric(victim, "dynamis_state_parts_sent_total") ?? 0
        let figures = try ClusterTests.AntiEntropy.repair(victim, passesBefore: 0)
        #expect(try differing(synced).isEmpty)
        #expect((figures["repair_keys_pulled"] ?? 0) >= 4)
        #expect((C.metric(victim, "dynamis_state_parts_sent_total") ?? 0) > partsBefore)
    }

    /// The same keys SET at once through every node, at DC_ONE (replicas see the writes in
    /// different orders): once quiet, every replica holds the same value for every key.
    @Test func concurrentWritesThroughEveryNodeConverge() throws {
        let cluster = try TestCluster(layout: [[1, 1, 1]], extraConfig: ["read_consistency: DC_ONE", "write_consistency: DC_ONE"])
        defer { cluster.remove() }
        let keys = (0..<300).map { "same:\($0)" }
        let group = DispatchGroup()
        for (n, member) in cluster.members.enumerated() {
            let port = member.port
            group.enter()
            DispatchQueue.global().async {
                defer { group.leave() }
                guard let client = try? RESPTestClient(port: port) else { return }
                for round in 0..<5 {
                    for key in keys { try? client.send(["SET", key, "node\(n)-round\(round)"]) }
                    for _ in keys { _ = try? client.readReply() }
                }
            }
        }
        group.wait()
        var readings: [[RESPValue]] = []
        try S.eventually("every replica holds the same value for every key") {
            readings = try cluster.members.map { member in
                let client = try S.client(member, consistency: "DC_ONE")
                for key in keys { try client.send(["GET", key]) }
                return try keys.map { _ in try client.readReply() }
            }
            return readings[0] == readings[1] && readings[1] == readings[2]
        }
        #expect(readings[0].allSatisfy { if case .bulk(let b?) = $0 { return !b.isEmpty }; return false })
    }

    /// Relative expiry reaches every replica as one absolute instant (the coordinator rewrites
    /// it, as Redis 7 propagates it), so replicas expire a key together.
    @Test func everyReplicaExpiresAKeyAtTheSameInstant() throws {
        let cluster = try C.threeRacks()
        defer { cluster.remove() }
        let client = try cluster.member(rack: 1).client()
        #expect(try client.command("SET", "a", "1", "EX", "100") == .simple("OK"))
        #expect(try client.command("SETEX", "b", "100", "1") == .simple("OK"))
        #expect(try client.command("SET", "c", "1") == .simple("OK"))
        #expect(try client.command("PEXPIRE", "c", "100000") == .integer(1))
        for key in ["a", "b", "c"] {
            let times = try cluster.members.map { try S.client($0, consistency: "DC_ONE").command("PEXPIRETIME", key) }
            #expect(Set(times.map(\.description)).count == 1, "\(key): \(times)")
            if case .integer(let at) = times[0] { #expect(at > 0) } else { Issue.record("\(key): \(times[0])") }
        }
    }

    /// A stamped write that reaches its replica after the coordinator's `timeout` (a frozen node
    /// waking up) is refused there, counted, and changes nothing; a fresh one runs. Sent as raw
    /// peer frames, as a coordinator would.
    @Test func aWriteArrivingAfterItsTimeoutIsRefused() throws {
        let cluster = try TestCluster(layout: [[1, 1]], extraConfig: ["read_consistency: DC_ONE", "write_consistency: DC_ONE"])
        defer { cluster.remove() }
        let target = cluster.member(rack: 1)
        let peer = try RESPTestClient(port: target.peerPort)
        func frame(kind: UInt8, flags: UInt16, stamp: UInt64, _ payload: [UInt8]) -> [UInt8] {
            var out: [UInt8] = [0x44, 0x59, 2, kind, UInt8(flags >> 8), UInt8(flags & 0xff)] + [UInt8](repeating: 0, count: 8)
            out += (0..<8).map { UInt8(truncatingIfNeeded: stamp >> (56 - 8 * UInt64($0))) }
            out += (0..<4).map { UInt8(truncatingIfNeeded: UInt32(payload.count) >> (24 - 8 * UInt32($0))) }
            return out + payload
        }
        /// The next frame's kind and payload.
        func response() throws -> (kind: UInt8, payload: String) {
            let header = try peer.readExactly(26)
            let length = header[22..<26].reduce(0) { $0 << 8 | Int($1) }
            return (header[3], String(decoding: try peer.readExactly(length), as: UTF8.self))
        }
        try peer.sendRaw(frame(kind: 1, flags: 0, stamp: 0, Array("probe dc1 rack1 1".utf8)))
        #expect(try response().payload == "welcome")
        func set(_ key: String, agedMillis: Int64) -> [UInt8] {
            let stamp = UInt64(Int64(Date().timeIntervalSince1970 * 1000) - agedMillis) << 22 | 1
            return frame(kind: 2, flags: 2, stamp: stamp, RESPTestClient.encode([Array("SET".utf8), Array(key.utf8), Array("v".utf8)]))
        }
        try peer.sendRaw(set("late", agedMillis: 5_000))
        let refused = try response()
        #expect(refused.kind == 5 && refused.payload.contains("after its coordinator's timeout"), "\(refused)")
        try peer.sendRaw(set("fresh", agedMillis: 0))
        #expect(try response() == (4, "+OK\r\n"))
        let direct = try S.client(target, consistency: "DC_ONE")
        #expect(try direct.command("EXISTS", "late") == .integer(0))
        #expect(try direct.command("GET", "fresh") == S.bulk("v"))
        #expect(C.metric(target, "dynamis_late_writes_refused_total") == 1)
    }

    /// An outage longer than `max_hint_window`: the target's new hints are dropped, counted and
    /// logged, and what was dropped stays missing on it (anti-entropy's job).
    @Test func hintsPastTheWindowAreDroppedCountedAndLogged() throws {
        let cluster = try C.threeRacks(["max_hint_window: 1000"])
        defer { cluster.remove() }
        let healthy = cluster.member(rack: 0), victim = cluster.member(rack: 2)
        cluster.signal(victim, SIGKILL)
        let writer = try healthy.client()
        #expect(try writer.command("SET", "early", "1") == .simple("OK"))
        usleep(1_500_000)
        for i in 0..<20 { #expect(try writer.command("SET", "late\(i)", "1") == .simple("OK")) }
        #expect((C.metric(healthy, "dynamis_hints_dropped_total{reason=\"window\"}") ?? 0) >= 20)
        #expect(healthy.process.child.log.contains("longer than max_hint_window"))
        try victim.process.restart()
        try cluster.waitForPeers()
        try S.eventually("the replay ends") { (C.metric(healthy, "dynamis_hints_dropped_total{reason=\"window\"}") ?? 0) >= 21 }
        let alone = try S.client(victim, consistency: "DC_ONE")
        for i in 0..<20 { #expect(try alone.command("GET", "late\(i)") == .bulk(nil)) }
        let hints = try httpRequest(port: healthy.process.adminPort, path: "/hints").body
        #expect(hints.contains("\"pending\":{}"), "\(hints)")
    }

    /// An operator sees the pending hints per target and can drop them (counted and logged).
    @Test func pendingHintsAreListedAndCanBeDropped() throws {
        let cluster = try C.threeRacks()
        defer { cluster.remove() }
        let healthy = cluster.member(rack: 0), victim = cluster.member(rack: 2)
        cluster.signal(victim, SIGKILL)
        let writer = try healthy.client()
        for i in 0..<25 { #expect(try writer.command("SET", "p\(i)", "v") == .simple("OK")) }
        let name = "127.0.0.1:\(victim.peerPort)"
        let listed = try httpRequest(port: healthy.process.adminPort, path: "/hints").body
        #expect(listed.contains("\"pending\":{\"\(name)\":25}"), "\(listed)")
        #expect(C.metric(healthy, "dynamis_hints_pending{target=\"\(name)\"}") == 25)
        let dropped = try httpRequest(port: healthy.process.adminPort, path: "/hints/drop/\(name)")
        #expect(dropped.status == 200 && dropped.body.contains("Dropped 25 hint(s)"), "\(dropped)")
        #expect(try httpRequest(port: healthy.process.adminPort, path: "/hints").body.contains("\"pending\":{}"))
        #expect(C.metric(healthy, "dynamis_hints_dropped_total{reason=\"operator\"}") == 25)
        #expect(healthy.process.child.log.contains("an operator dropped 25 hint(s) for \(name)"))
        // The restarted node gets nothing for them, even after replay would have started (a probe,
        // then one 1 s timeout; a hint that was left would have arrived by then).
        #expect(try writer.command("SET", "kept", "v") == .simple("OK"))
        try victim.process.restart()
        try cluster.waitForPeers()
        let alone = try S.client(victim, consistency: "DC_ONE")
        try S.eventually("the hint kept after the drop arrives") { try alone.command("GET", "kept") == S.bulk("v") }
        #expect(try alone.command("GET", "p0") == .bulk(nil))
    }

    /// The Redis engine keeps no versions: a quorum read still answers the majority, and the
    /// replica that answered otherwise gets the majority's state in the background.
    @Test func aRedisEngineQuorumReadRepairsTheOddReplicaOut() throws {
        let backends = try (0..<3).map { _ in try RedisServer() }
        defer { for backend in backends { backend.stop() } }
        let cluster = try C.threeRacks(["hinted_handoff_enabled: false"], redis: backends)
        defer { cluster.remove() }
        let healthy = cluster.member(rack: 0), victim = cluster.member(rack: 2)
        let writer = try healthy.client()
        for i in 0..<30 { #expect(try writer.command("SET", "r\(i)", "old") == .simple("OK")) }
        cluster.signal(victim, SIGKILL)
        for i in 0..<30 {
            if i % 3 == 0 {
                #expect(try writer.command("DEL", "r\(i)") == .integer(1))
            } else {
                #expect(try writer.command("SET", "r\(i)", "new", "EX", "1000") == .simple("OK"))
            }
        }
        try victim.process.restart()
        try cluster.waitForPeers()
        let stale = try RESPTestClient(port: backends[2].port)
        #expect(try stale.command("GET", "r1") == S.bulk("old"))
        let quorum = try S.client(healthy, consistency: "DC_QUORUM")
        for i in 0..<30 { #expect(try quorum.command("GET", "r\(i)") == (i % 3 == 0 ? .bulk(nil) : S.bulk("new"))) }
        try S.eventually("the odd replica holds the majority's state") {
            try (0..<30).allSatisfy { i in try stale.command("GET", "r\(i)") == (i % 3 == 0 ? .bulk(nil) : S.bulk("new")) }
        }
        guard case .integer(let ttl) = try stale.command("TTL", "r1") else { Issue.record("TTL"); return }
        #expect(ttl > 900 && ttl <= 1000)
        #expect((C.metric(healthy, "dynamis_read_repairs_total") ?? 0) >= 20)
    }

    /// The Redis engine (real redis-server backends): hints carry DUMP + PEXPIRETIME and are
    /// applied with RESTORE … REPLACE ABSTTL, or DEL.
    @Test func aRedisEngineNodeCatchesUpFromHints() throws {
        let backends = try (0..<3).map { _ in try RedisServer() }
        defer { for backend in backends { backend.stop() } }
        let cluster = try C.threeRacks(redis: backends)
        defer { cluster.remove() }
        let healthy = cluster.member(rack: 0), victim = cluster.member(rack: 2)
        let writer = try healthy.client()
        let old = (0..<50).map { "old:\($0)" }
        for key in old { #expect(try writer.command("SET", key, "before") == .simple("OK")) }
        cluster.signal(victim, SIGKILL)
        let workload = try C.mixedWrites(writer, count: 2_000, seed: 3, old: old)
        #expect(workload.failed.isEmpty, "\(workload.failed.prefix(5))")
        try victim.process.restart()
        let keys = Array(workload.keys.union(old)).sorted()
        let expected = try C.states(try RESPTestClient(port: backends[0].port), keys)
        var stale: [String] = []
        do {
            try S.eventually("the returning node's redis-server holds every key", seconds: 30) {
                stale = C.differences(expected, try C.states(try RESPTestClient(port: backends[2].port), keys))
                return stale.isEmpty
            }
        } catch {
            let log = healthy.process.child.log.split(separator: "\n").filter { $0.contains("hint") }.suffix(10)
            Issue.record("\(stale.count) keys differ, e.g. \(stale.prefix(5)); \(log)")
        }
    }
}
}
