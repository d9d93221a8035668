import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Memcached-engine clusters: every node in front of its own real memcached.
extension ClusterTests {
@Suite(.timeLimit(.minutes(3)))
struct MemcachedCluster {
    typealias S = ClusterTestSupport

    /// A cluster of `layout` whose node i fronts `backends[i]`.
    static func start(_ layout: [[Int]], backends: [MemcachedServer], extraConfig: [String]) throws -> TestCluster {
        try TestCluster(layout: layout, extraConfig: extraConfig) { i in
            ["data_store: memcached", "servers:", "- 127.0.0.1:\(backends[i].port):1"]
        }
    }

    static func value(_ key: String, _ data: String) -> String {
        "VALUE \(key) 0 \(data.utf8.count)\r\n\(data)\r\n"
    }

    static func index(of member: TestCluster.Member, in cluster: TestCluster) -> Int {
        cluster.members.firstIndex { $0 === member }!
    }

    @Test func keysLiveOnTheirOwnersAndMultiKeyGetsAreSplitAndMerged() throws {
        let backends = try (0..<4).map { _ in try MemcachedServer() }
        defer { for backend in backends { backend.stop() } }
        // A timeout counts from when a request is sent, including its wait behind the connection's
        // earlier requests on the replica: the get after 6,000 noreply sets waits behind up to
        // 4,096 of them, and debug builds on a machine with one core busy ran ~900 a second.
        let cluster = try Self.start([[2, 2]], backends: backends,
                                     extraConfig: ["read_consistency: DC_QUORUM", "write_consistency: DC_QUORUM", "timeout: 10000"])
        defer { cluster.remove() }
        let keys = (0..<12).map { "mc:\($0)" }
        let writer = try MemcachedTestClient(port: cluster.members[0].port)
        for key in keys { #expect(try writer.request("set \(key) 0 0 \(key.utf8.count + 2)\r\nv-\(key)\r\n") == "STORED\r\n") }
        // Each key is in its owner's memcached in both racks, and in no other node's.
        for key in keys {
            for rack in 0..<2 {
                let owner = S.owner(of: key, in: cluster, rack: rack)
                for member in cluster.members where member.rackIndex == rack {
                    let direct = try MemcachedTestClient(port: backends[Self.index(of: member, in: cluster)].port)
                    let expected = member === owner ? Self.value(key, "v-" + key) + "END\r\n" : "END\r\n"
                    #expect(try direct.request("get \(key)\r\n") == expected, "\(key) on rack \(rack)")
                }
            }
        }
        // One get over every owner, through another node, with a miss and a repeat in it:
        // the VALUE blocks come back in request order.
        let asked = [keys[3], "missing", keys[0], keys[7], keys[3]] + keys.suffix(4)
        let expected = asked.filter { $0 != "missing" }.map { Self.value($0, "v-" + $0) }.joined() + "END\r\n"
        let reader = try MemcachedTestClient(port: cluster.members[3].port)
        #expect(try reader.request("get \(asked.joined(separator: " "))\r\n") == expected)
        // gets answers from one replica, with that replica's cas unique; cas runs on the same
        // replica, and what it stores reaches every rack as a set. A stale unique is EXISTS.
        let gets = try reader.request("gets \(keys[1])\r\n")
        #expect(gets.hasPrefix("VALUE \(keys[1]) 0 \(keys[1].utf8.count + 2) "), "\(gets)")
        let unique = gets.split(separator: "\r\n").first?.split(separator: " ").last.map(String.init) ?? "0"
        #expect(try reader.request("cas \(keys[1]) 5 0 1 \(unique)\r\nx\r\n") == "STORED\r\n")
        #expect(try reader.request("cas \(keys[1]) 5 0 1 \(unique)\r\ny\r\n") == "EXISTS\r\n")
        #expect(try reader.request("cas nokey 0 0 1 1\r\nx\r\n") == "NOT_FOUND\r\n")
        for rack in 0..<2 {
            let owner = S.owner(of: keys[1], in: cluster, rack: rack)
            let direct = try MemcachedTestClient(port: backends[Self.index(of: owner, in: cluster)].port)
            #expect(try direct.request("get \(keys[1])\r\n") == "VALUE \(keys[1]) 5 1\r\nx\r\nEND\r\n", "rack \(rack)")
        }
        // Writes of every kind, replicated: incr, append, touch, delete, add.
        #expect(try writer.request("set counter 0 0 2\r\n40\r\n") == "STORED\r\n")
        #expect(try writer.request("incr counter 2\r\n") == "42\r\n")
        #expect(try writer.request("append counter 0 0 1\r\n0\r\n") == "STORED\r\n")
        #expect(try writer.request("touch counter 100\r\n") == "TOUCHED\r\n")
        #expect(try writer.request("delete \(keys[2])\r\n") == "DELETED\r\n")
        #expect(try writer.request("delete \(keys[2])\r\n") == "NOT_FOUND\r\n")
        #expect(try writer.request("add \(keys[0]) 0 0 1\r\nz\r\n") == "NOT_STORED\r\n")
        for rack in 0..<2 {
            let owner = S.owner(of: "counter", in: cluster, rack: rack)
            let direct = try MemcachedTestClient(port: backends[Self.index(of: owner, in: cluster)].port)
            #expect(try direct.request("get counter\r\n") == Self.value("counter", "420") + "END\r\n")
            let gone = S.owner(of: keys[2], in: cluster, rack: rack)
            #expect(try MemcachedTestClient(port: backends[Self.index(of: gone, in: cluster)].port).request("get \(keys[2])\r\n") == "END\r\n")
        }
        // noreply writes answer nothing, stay in order with what follows, and reach every
        // replica; more of them than the replies a connection may have on their way (4,096), so
        // the connection pauses and resumes on the way.
        try writer.send((0..<6_000).map { "set nr:\($0 % 100) 0 0 \(String($0).utf8.count) noreply\r\n\($0)\r\n" }.joined())
        let latest = try writer.request("get nr:99 nr:0\r\n")
        #expect(latest == Self.value("nr:99", "5999") + Self.value("nr:0", "5900") + "END\r\n", "got \(latest.debugDescription)")
        for rack in 0..<2 {
            for key in ["nr:0", "nr:99"] {
                let owner = S.owner(of: key, in: cluster, rack: rack)
                let direct = try MemcachedTestClient(port: backends[Self.index(of: owner, in: cluster)].port)
                let expected = Self.value(key, key == "nr:0" ? "5900" : "5999") + "END\r\n"
                #expect(try direct.request("get \(key)\r\n") == expected, "\(key) on rack \(rack)")
            }
        }
        #expect(try reader.request("version\r\n").hasPrefix("VERSION "))
        // A peer frame whose memcached payload is not one request closes only that connection.
        let identity = Array("probe dc1 rack9 1".utf8)
        let hello: [UInt8] = [0x44, 0x59, 2, 1, 0, 0] + [UInt8](repeating: 0, count: 16) + [0, 0, 0, UInt8(identity.count)] + identity
        for payload in ["junk!", "set k 0 0 1 noreply\r\nx\r\n", "get a\r\nget b\r\n"] {
            let bytes = Array(payload.utf8)
            let peer = try RESPTestClient(port: cluster.members[1].peerPort)
            try peer.sendRaw(hello + [0x44, 0x59, 2, 2, 0, 4] + [UInt8](repeating: 0, count: 16) + [0, 0, 0, UInt8(bytes.count)] + bytes)
            #expect(peer.isClosedByPeer(), "\(payload)")
        }
        #expect(cluster.members[1].process.child.log.contains("not one memcached request expecting a reply"))
        // (keys[1] holds what the cas above stored.)
        #expect(try MemcachedTestClient(port: cluster.members[1].port).request("get \(keys[1])\r\n") == "VALUE \(keys[1]) 5 1\r\nx\r\nEND\r\n")
        // flush_all reaches every node.
        #expect(try reader.request("flush_all\r\n") == "OK\r\n")
        for backend in backends {
            #expect(try MemcachedTestClient(port: backend.port).request("get \(keys.joined(separator: " ")) counter\r\n") == "END\r\n")
        }
    }

    /// Read-your-writes at DC_ONE through a node that owns none of the keys: pipelined
    /// `noreply` sets, each followed by a get of its key, all answer the value just set.
    /// Meta commands through a 3-rack cluster (#21): ms/md/ma replicate to every rack's
    /// memcached, mg reads through any node, quiet pipelines keep their order, and a meta
    /// compare-and-swap (C flag), which no set of copies with their own cas uniques could pass,
    /// is refused with a clear error.
    @Test func metaCommandsReplicateAndQuietPipelinesKeepOrder() throws {
        let backends = try (0..<3).map { _ in try MemcachedServer() }
        defer { for backend in backends { backend.stop() } }
        let cluster = try Self.start([[1, 1, 1]], backends: backends,
                                     extraConfig: ["read_consistency: DC_QUORUM", "write_consistency: DC_QUORUM", "timeout: 10000"])
        defer { cluster.remove() }
        let clients = try cluster.members.map { try MemcachedTestClient(port: $0.port) }
        #expect(try clients[0].meta(Array("ms mk 5 T0 F3\r\nhello\r\n".utf8)) == "HD\r\nMN\r\n")
        for client in clients { #expect(try client.meta(Array("mg mk v f k\r\n".utf8)) == "VA 5 f3 kmk\r\nhello\r\nMN\r\n") }
        for backend in backends {
            #expect(try MemcachedTestClient(port: backend.port).meta(Array("mg mk v\r\n".utf8)) == "VA 5\r\nhello\r\nMN\r\n")
        }
        #expect(try clients[1].meta(Array("ma n N0 J10 v\r\n".utf8)) == "VA 2\r\n10\r\nMN\r\n")
        #expect(try clients[2].meta(Array("ma n v\r\n".utf8)) == "VA 2\r\n11\r\nMN\r\n")
        #expect(try clients[0].meta(Array("mg n v\r\n".utf8)) == "VA 2\r\n11\r\nMN\r\n")
        #expect(try clients[0].meta(Array("md mk q\r\nmg mk v q\r\nmd mk q\r\n".utf8)) == "NF\r\nMN\r\n")
        for backend in backends {
            #expect(try MemcachedTestClient(port: backend.port).meta(Array("mg mk v\r\n".utf8)) == "EN\r\nMN\r\n")
        }
        var batch = ""
        for i in 0..<200 { batch += "ms p\(i) 3 q\r\nv\(i % 10)x\r\nmg p\(i) v q\r\nmg gone\(i) v q\r\n" }
        #expect(try clients[1].meta(Array(batch.utf8)) == (0..<200).map { "VA 3\r\nv\($0 % 10)x\r\n" }.joined() + "MN\r\n")
        let refused = try clients[2].meta(Array("ms mk 2 C12\r\nhi\r\n".utf8))
        #expect(refused.hasPrefix("SERVER_ERROR Dynomite: meta compare-and-swap"), "\(refused)")
    }

    @Test func aPipelinedGetSeesTheConnectionsOwnNoreplyWrites() throws {
        let backends = try (0..<2).map { _ in try MemcachedServer() }
        defer { for backend in backends { backend.stop() } }
        // 1,000 requests in one pipeline: the default timeout covers their wait on a loaded machine.
        let cluster = try Self.start([[2]], backends: backends,
                                     extraConfig: ["read_consistency: DC_ONE", "write_consistency: DC_ONE", "timeout: 5000"])
        defer { cluster.remove() }
        let coordinator = cluster.members[0]
        let keys = Array((0..<2_000).lazy.map { "ryw:\($0)" }.filter { S.owner(of: $0, in: cluster, rack: 0) !== coordinator }.prefix(10))
        #expect(keys.count == 10)
        let client = try MemcachedTestClient(port: coordinator.port)
        let rounds = 500
        try client.send((0..<rounds).map { i in
            let key = keys[i % keys.count]
            return "set \(key) 0 0 \(String(i).utf8.count) noreply\r\n\(i)\r\nget \(key)\r\n"
        }.joined())
        var stale: [String] = []
        for i in 0..<rounds {
            let reply = try client.readResponse(retrieval: true)
            if reply != Self.value(keys[i % keys.count], "\(i)") + "END\r\n", stale.count < 5 { stale.append("round \(i): \(reply.debugDescription)") }
        }
        #expect(stale.isEmpty, "\(stale)")
    }

    /// libmemcached's conformance check, `memccapable -a`, through a memcached-engine node and
    /// through a 3-rack memcached cluster: all 27 ASCII tests, as memcached 1.6 itself passes them.
    @Test func memccapablePassesThroughANodeAndACluster() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/memccapable") else {
            Issue.record("memccapable is missing: `make deps` installs libmemcached-tools")
            return
        }
        let directory = TemporaryDirectory("memccapable")
        defer { directory.remove() }
        func capable(_ port: Int) -> (Int32, String) {
            let log = directory.path + "/capable-\(port).log"
            let status = system("timeout 120 memccapable -h 127.0.0.1 -p \(port) -a > \(log) 2>&1 < /dev/null")
            return (status >> 8, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
        }
        let single = try MemcachedServer()
        defer { single.stop() }
        let node = try DynamisProcess.inFront(ofMemcached: single)
        defer { node.remove() }
        let alone = capable(node.port)
        #expect(alone.0 == 0 && alone.1.contains("All tests passed"), "\(alone.1)")
        let backends = try (0..<3).map { _ in try MemcachedServer() }
        defer { for backend in backends { backend.stop() } }
        let cluster = try Self.start([[1, 1, 1]], backends: backends, extraConfig: [])
        defer { cluster.remove() }
        for member in cluster.members.prefix(2) {
            let result = capable(member.port)
            #expect(result.0 == 0 && result.1.contains("All tests passed"), "\(result.1)")
        }
    }

    /// libmemcached's load generator, `memcslap`, runs clean (exit 0, no errors, every
    /// operation counted) through a memcached-engine node and through a 3-rack cluster: sets,
    /// gets and multi-gets, with noreply and buffered requests, from several threads.
    @Test func memcslapRunsCleanThroughANodeAndACluster() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/memcslap") else {
            Issue.record("memcslap is missing: `make deps` installs libmemcached-tools")
            return
        }
        let directory = TemporaryDirectory("memcslap")
        defer { directory.remove() }
        func slap(_ port: Int, _ options: String) -> (Int32, String) {
            let log = directory.path + "/slap-\(port).log"
            let status = system("timeout 120 memcslap -s 127.0.0.1:\(port) \(options) > \(log) 2>&1 < /dev/null")
            return (status >> 8, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
        }
        let runs = ["-F -t set -c 4 -e 1000", "-t get -c 4 -e 1000", "-t mget -c 2 -e 300", "-R -t set -c 2 -e 1000", "-B -t get -c 2 -e 1000"]
        let single = try MemcachedServer()
        defer { single.stop() }
        let node = try DynamisProcess.inFront(ofMemcached: single)
        defer { node.remove() }
        let backends = try (0..<3).map { _ in try MemcachedServer() }
        defer { for backend in backends { backend.stop() } }
        let cluster = try Self.start([[1, 1, 1]], backends: backends, extraConfig: ["timeout: 10000"])
        defer { cluster.remove() }
        for port in [node.port, cluster.members[1].port] {
            for options in runs {
                let (status, output) = slap(port, options)
                #expect(status == 0 && output.contains("Time total") && !output.lowercased().contains("error")
                        && !output.lowercased().contains("failure"), "memcslap \(options) on \(port): \(output)")
            }
        }
        // The loads really went through: the backends hold the keys memcslap set.
        let items = try MemcachedTestClient(port: single.port).meta(Array("stats\r\n".utf8))
        #expect(items.contains("STAT curr_items ") && !items.contains("STAT curr_items 0\r\n"), "\(items)")
    }

    @Test func theLauncherStartsAMemcachedEngineClusterAndStopsEveryProcess() throws {
        let directory = TemporaryDirectory("dynamis-launcher")
        defer { directory.remove() }
        // Node i uses base+10i+1 ... base+10i+9.
        guard let base = S.launcherBase(offsets: [1, 2, 3, 9]) else {
            Issue.record("no free port range")
            return
        }
        func launcher(_ arguments: [String]) throws -> (status: Int32?, log: String) {
            let (status, log) = S.launcher(arguments, in: directory)
            return (status, log)
        }
        let pidFiles = { (try? FileManager.default.contentsOfDirectory(atPath: directory.path + "/cluster/run")) ?? [] }
        var pids: [Int32] = []
        defer {
            _ = try? launcher(["down"])
            for pid in pids { kill(pid, SIGKILL) }
        }
        let up = try launcher(["up", "--engine", "memcached", "--racks", "3", "--base-port", "\(base)", "--binary", DynamisBinary.path])
        pids = pidFiles().compactMap { Int32((try? String(contentsOfFile: directory.path + "/cluster/run/" + $0, encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") }
        #expect(up.status == 0, "\(up.log)")
        #expect(up.log.contains("cluster up: 3 nodes (1 dc x 3 racks x 1 nodes, engine memcached"), "\(up.log)")
        #expect(pids.count == 6, "three nodes and their three memcached: \(pidFiles())")
        #expect(try MemcachedTestClient(port: base + 2).request("set launched 0 0 3\r\nyes\r\n") == "STORED\r\n")
        // The launcher's default is DC_ONE: the set was acknowledged by rack 1 alone, and a read
        // through rack 2's node asks rack 2's copy, which may still be on its way.
        let other = try MemcachedTestClient(port: base + 12)
        try S.eventually("the set, read through rack 2's node") { try other.request("get launched\r\n") == Self.value("launched", "yes") + "END\r\n" }
        // DC_ONE writes reach every rack asynchronously; each rack's memcached gets its copy.
        for i in 0..<3 {
            let direct = try MemcachedTestClient(port: base + 10 * i + 9)
            try S.eventually("the copy in rack \(i + 1)") { try direct.request("get launched\r\n") == Self.value("launched", "yes") + "END\r\n" }
        }
        let down = try launcher(["down"])
        #expect(down.status == 0 && down.log.contains("cluster down"), "\(down.log)")
        #expect(pidFiles().isEmpty)
        for pid in pids { #expect(kill(pid, 0) != 0, "pid \(pid) still running") }
        // `down` stops each node's memcached first: the node's reconnect attempts must end
        // with the node, not be scheduled on event loops that are shutting down.
        for i in 1...3 {
            let log = (try? String(contentsOfFile: directory.path + "/cluster/log/dc1-rack\(i)-n0.log", encoding: .utf8)) ?? ""
            #expect(log.contains("dynamis stopped"), "\(log)")
            #expect(!log.contains("Cannot schedule tasks"), "\(log)")
        }
    }

    @Test func quorumsSurviveOneLostReplicaReportTwoAndCatchAMismatch() throws {
        let backends = try (0..<3).map { _ in try MemcachedServer() }
        defer { for backend in backends { backend.stop() } }
        let cluster = try Self.start([[1, 1, 1]], backends: backends,
                                     extraConfig: ["read_consistency: DC_QUORUM", "write_consistency: DC_QUORUM"])
        defer { cluster.remove() }
        let client = try MemcachedTestClient(port: cluster.member(rack: 0).port)
        // Three replicas holding three different values, written to each memcached directly
        // (through the cluster, a write's third copy could land after them): no two agree.
        for rack in 0..<3 {
            let direct = try MemcachedTestClient(port: backends[rack].port)
            #expect(try direct.request("set split 0 0 2\r\nv\(rack)\r\n") == "STORED\r\n")
        }
        let loose = try client.request("get split\r\n")
        #expect(loose.hasPrefix("VALUE split 0 2\r\nv"), "\(loose)")
        let admin = cluster.member(rack: 0).process.adminPort
        #expect(try httpRequest(port: admin, path: "/set_consistency/read/dc_safe_quorum").status == 200)
        #expect(try client.request("get split\r\n") == "SERVER_ERROR Dynomite: Failed to achieve Quorum\r\n")
        // Repaired by a write to all.
        #expect(try client.request("set split 0 0 4\r\nsame\r\n") == "STORED\r\n")
        #expect(try client.request("get split\r\n") == Self.value("split", "same") + "END\r\n")
        #expect(try httpRequest(port: admin, path: "/set_consistency/read/dc_quorum").status == 200)

        // One node killed: 2 of 3 racks still make a quorum.
        cluster.signal(cluster.member(rack: 2), SIGKILL)
        #expect(try client.request("set after-kill 0 0 1\r\n1\r\n") == "STORED\r\n")
        #expect(try client.request("get after-kill\r\n") == Self.value("after-kill", "1") + "END\r\n")
        // A second rack's memcached dead as well: too few answers, said plainly.
        backends[1].stop()
        let refused = try client.request("set after-two 0 0 1\r\n1\r\n")
        #expect(refused.hasPrefix("SERVER_ERROR "), "\(refused)")
        #expect(refused.contains("1 of 3 replicas answered, 2 needed"), "\(refused)")
        #expect(!refused.contains("ERR "), "\(refused)")
        // The node keeps serving: DC_ONE reads come from its own rack.
        #expect(try httpRequest(port: admin, path: "/set_consistency/read/dc_one").status == 200)
        #expect(try client.request("get after-kill\r\n") == Self.value("after-kill", "1") + "END\r\n")
        #expect(cluster.member(rack: 0).process.child.isRunning)
    }

    /// Hinted handoff on the memcached engine: a node killed while writes, a delete and a TTL'd
    /// set went on gets every key's state (value, client flags, remaining TTL; a miss as a
    /// delete) when it is back, read with mg and written with ms/md on its memcached.
    @Test func aReplicaThatMissedWritesGetsThemFromHints() throws {
        let backends = try (0..<3).map { _ in try MemcachedServer() }
        defer { for backend in backends { backend.stop() } }
        let cluster = try Self.start([[1, 1, 1]], backends: backends,
                                     extraConfig: ["read_consistency: DC_QUORUM", "write_consistency: DC_QUORUM"])
        defer { cluster.remove() }
        let client = try MemcachedTestClient(port: cluster.member(rack: 0).port)
        #expect(try client.request("set gone 0 0 1\r\nx\r\n") == "STORED\r\n")
        let victim = cluster.member(rack: 2)
        cluster.signal(victim, SIGKILL)
        for i in 0..<40 { #expect(try client.request("set k\(i) \(i) 0 2\r\nv\(i % 10)\r\n") == "STORED\r\n") }
        #expect(try client.request("set ttl 5 300 3\r\nabc\r\n") == "STORED\r\n")
        #expect(try client.request("delete gone\r\n") == "DELETED\r\n")
        try victim.process.restart()
        try cluster.waitForPeers()
        let direct = try MemcachedTestClient(port: backends[2].port)
        try S.eventually("the returning node's memcached has every missed write", seconds: 20) {
            try direct.request("get k0 k39\r\n") == "VALUE k0 0 2\r\nv0\r\nVALUE k39 39 2\r\nv9\r\nEND\r\n"
                && direct.request("get gone\r\n") == "END\r\n"
        }
        for i in 0..<40 { #expect(try direct.request("get k\(i)\r\n") == "VALUE k\(i) \(i) 2\r\nv\(i % 10)\r\nEND\r\n") }
        let ttl = try direct.request("mg ttl v f t\r\n")
        let remaining = ttl.split(separator: "\r\n").first?.split(separator: " ").first { $0.hasPrefix("t") }.flatMap { Int($0.dropFirst()) }
        #expect(ttl.hasPrefix("VA 3 f5 ") && (250...300).contains(remaining ?? 0), "\(ttl)")
        let hints = try httpRequest(port: cluster.member(rack: 0).process.adminPort, path: "/hints").body
        #expect(hints.contains("\"pending\":{}") && hints.contains("\"enabled\":true"), "\(hints)")
    }
}
}
