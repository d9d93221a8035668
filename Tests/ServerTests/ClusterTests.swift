import Foundation
import Ring
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Helpers shared by the cluster tests: which node owns a key, consistency per connection.
enum ClusterTestSupport {
    static let tokenizer = KeyTokenizer(hash: .murmur)

    static func token(_ key: String) -> UInt32 { tokenizer.token(of: Array(key.utf8)) }

    /// The owner, in a rack of `cluster`, of `key` (ranges start at a node's token).
    static func owner(of key: String, in cluster: TestCluster, dc: Int = 0, rack: Int) -> TestCluster.Member {
        let t = token(key)
        let nodes = cluster.members.filter { $0.dcIndex == dc && $0.rackIndex == rack }.sorted { $0.token < $1.token }
        return nodes.last { $0.token <= t } ?? nodes.last!
    }

    static func client(_ member: TestCluster.Member, consistency: String) throws -> RESPTestClient {
        let client = try member.client()
        #expect(try client.command("DYNO_CONFIG:CONN_CONSISTENCY", consistency) == .simple("OK"))
        return client
    }

    static func bulk(_ s: String) -> RESPValue { .bulk(Array(s.utf8)) }

    /// Polls until `body` is true (replication to non-waited replicas is asynchronous).
    static func eventually(_ what: String, seconds: Double = 10, _ body: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while try !body() {
            if Date() > deadline { throw TestClientError("never happened: \(what)") }
            usleep(50_000)
        }
    }

    /// A node's own data, read with the node alone: the process restarted on its data
    /// directory with no peers. The caller stops the cluster's processes first.
    static func standalone(_ member: TestCluster.Member) throws -> DynamisProcess {
        try DynamisProcess(engine: ["data_store: rocksdb", "data_dir: \(member.dataDirectory)"])
    }

    /// Runs `tools/cluster ARGUMENTS --dir DIRECTORY/cluster`: its exit status and output.
    /// system(3), not Process: Foundation's Process on Linux does not see bash exit while the
    /// background processes it started live on. The launcher bounds its own waits.
    static func launcher(_ arguments: [String], in directory: TemporaryDirectory, file: String = #filePath) -> (status: Int32, log: String) {
        var root = URL(fileURLWithPath: file)
        while root.path != "/", !FileManager.default.fileExists(atPath: root.appendingPathComponent("tools/cluster").path) {
            root.deleteLastPathComponent()
        }
        let log = directory.path + "/launcher-\(arguments[0]).log"
        let command = ([root.path + "/tools/cluster"] + arguments + ["--dir", directory.path + "/cluster"]).joined(separator: " ")
        let status = system("/bin/bash \(command) > \(log) 2>&1 < /dev/null")
        return (status >> 8, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    /// A launcher base port whose first three nodes' ports (base+10i+offset) are free.
    static func launcherBase(offsets: [Int]) -> Int? { launcherBasePort(nodes: 3, offsets: offsets) }

    static func setState(_ member: TestCluster.Member, _ state: String) throws {
        #expect(try httpRequest(port: member.process.adminPort, path: "/state/\(state)").status == 200)
    }
}

/// Cluster suites run one after another: each starts up to six processes on two cores.
@Suite(.serialized)
struct ClusterTests {}

extension ClusterTests {
@Suite(.timeLimit(.minutes(3)))
struct Placement {
    typealias S = ClusterTestSupport

    @Test func everyKeyLivesOnExactlyItsOwnerInEachRack() throws {
        let cluster = try TestCluster(layout: [[2, 2, 2]], extraConfig: ["write_consistency: DC_QUORUM"])
        defer { cluster.remove() }
        let keys = (0..<60).map { "key:\($0)" }
        let clients = try cluster.members.map { try $0.client() }
        for (i, key) in keys.enumerated() {
            #expect(try clients[i % clients.count].command("SET", key, "v\(i)") == .simple("OK"))
        }
        // Writes reach the third rack asynchronously under DC_QUORUM: wait until every rack
        // holds all of them (DBSIZE through a node counts its own rack's nodes).
        for rack in 0..<3 {
            let client = try cluster.member(rack: rack).client()
            try S.eventually("rack \(rack) holds every key") { try client.command("DBSIZE") == .integer(keys.count) }
        }
        let members = cluster.members
        for member in members { _ = member.process.stop() }
        for member in members {
            let alone = try S.standalone(member)
            defer { alone.remove() }
            let client = try alone.client()
            var held = 0
            for (i, key) in keys.enumerated() {
                let owns = S.owner(of: key, in: cluster, rack: member.rackIndex) === member
                let value = try client.command("GET", key)
                #expect(value == (owns ? S.bulk("v\(i)") : .bulk(nil)), "\(key) on \(member.rack) node \(member.nodeIndex)")
                if owns { held += 1 }
            }
            #expect(try client.command("DBSIZE") == .integer(held))
        }
    }

    @Test func writesReachASecondDatacenterEvenWhenItsFirstTargetIsDown() throws {
        let cluster = try TestCluster(layout: [[1, 1], [1, 1]])
        defer { cluster.remove() }
        let writer = try cluster.member(dc: 0, rack: 0).client()
        #expect(try writer.command("SET", "before", "1") == .simple("OK"))
        for rack in 0..<2 {
            let remote = try S.client(cluster.member(dc: 1, rack: rack), consistency: "DC_ONE")
            try S.eventually("dc2 rack \(rack) has the write") { try remote.command("GET", "before") == S.bulk("1") }
        }
        // dc1's rack 1 forwards to dc2's rack 1 (index mod rack count); kill that target.
        let preselected = cluster.member(dc: 1, rack: 1)
        cluster.signal(preselected, SIGKILL)
        let other = try S.client(cluster.member(dc: 1, rack: 0), consistency: "DC_ONE")
        let writer2 = try cluster.member(dc: 0, rack: 1).client()
        for i in 0..<20 { #expect(try writer2.command("SET", "after:\(i)", "\(i)") == .simple("OK")) }
        for i in 0..<20 {
            try S.eventually("dc2 rack 0 has after:\(i)") { try other.command("GET", "after:\(i)") == S.bulk("\(i)") }
        }
    }
}

@Suite(.timeLimit(.minutes(3)))
struct Consistency {
    typealias S = ClusterTestSupport

    @Test func everyLevelWithAllUpAndWithOneRackKilledOrFrozen() throws {
        let cluster = try TestCluster(layout: [[1, 1, 1]])
        defer { cluster.remove() }
        let levels = ["DC_ONE", "DC_QUORUM", "DC_SAFE_QUORUM", "DC_EACH_SAFE_QUORUM"]
        let first = cluster.member(rack: 0)
        #expect(try first.client().command("DYNO_CONFIG:CONN_CONSISTENCY", "DC_ALL")
                == .error("ERR unknown consistency level 'DC_ALL'; allowed: DC_ONE, DC_QUORUM, DC_SAFE_QUORUM, DC_EACH_SAFE_QUORUM"))
        for level in levels {
            let client = try S.client(first, consistency: level)
            #expect(try client.command("SET", "k:\(level)", level) == .simple("OK"))
            #expect(try client.command("GET", "k:\(level)") == S.bulk(level))
        }
        // One rack killed: the quorum levels keep serving with 2 of 3 racks.
        cluster.signal(cluster.member(rack: 2), SIGKILL)
        for level in levels {
            let client = try S.client(first, consistency: level)
            #expect(try client.command("SET", "dead:\(level)", "x") == .simple("OK"), "\(level) write with a rack dead")
            #expect(try client.command("GET", "dead:\(level)") == S.bulk("x"), "\(level) read with a rack dead")
        }
        // A second rack frozen: quorum is out of reach and says why; DC_ONE still serves.
        let frozen = cluster.member(rack: 1)
        cluster.signal(frozen, SIGSTOP)
        defer { cluster.signal(frozen, SIGCONT) }
        let quorum = try S.client(first, consistency: "DC_QUORUM")
        let answer = try quorum.command("GET", "dead:DC_ONE")
        guard case .error(let message) = answer else {
            Issue.record("a quorum read with 1 of 3 racks answered: \(answer)")
            return
        }
        #expect(message.hasPrefix("ERR Peer: Peer Node"), "\(message)")
        #expect(message.contains("1 of 3 replicas answered, 2 needed"), "\(message)")
        let one = try S.client(first, consistency: "DC_ONE")
        #expect(try one.command("GET", "dead:DC_ONE") == S.bulk("x"))
        #expect(try one.command("SET", "frozen", "y") == .simple("OK"))
    }

    @Test func dcOneReadsFailOverToTheNextRack() throws {
        let cluster = try TestCluster(layout: [[2, 2]])
        defer { cluster.remove() }
        let coordinator = cluster.member(rack: 0, node: 0)
        let peerInRack = cluster.member(rack: 0, node: 1)
        // Keys the coordinator's rack stores on its other node.
        let keys = (0..<200).map { "fo:\($0)" }.filter { S.owner(of: $0, in: cluster, rack: 0) === peerInRack }.prefix(5)
        #expect(keys.count == 5)
        let client = try S.client(coordinator, consistency: "DC_ONE")
        for key in keys { #expect(try client.command("SET", key, key) == .simple("OK")) }
        let rack1 = try S.client(cluster.member(rack: 1, node: 0), consistency: "DC_QUORUM")
        for key in keys { try S.eventually("rack 1 has \(key)") { try rack1.command("EXISTS", key) == .integer(1) } }
        // Frozen: the read times out on the owner, then the next rack's owner answers.
        cluster.signal(peerInRack, SIGSTOP)
        #expect(try client.command("GET", keys.first!) == S.bulk(keys.first!))
        cluster.signal(peerInRack, SIGCONT)
        // Killed: the owner is not connected; the next rack's owner answers at once.
        cluster.signal(peerInRack, SIGKILL)
        for key in keys { #expect(try client.command("GET", key) == S.bulk(key)) }
    }

    @Test func safeQuorumReportsAMismatchLooseQuorumAnswers() throws {
        let cluster = try TestCluster(layout: [[1, 1, 1]])
        defer { cluster.remove() }
        let nodes = (0..<3).map { cluster.member(rack: $0) }
        // Three replicas, three different values: each write reaches only one node, the
        // others being in STANDBY (a DC_ONE write takes the first rack that accepts it).
        for (i, writer) in nodes.enumerated() {
            for other in nodes where other !== writer { try S.setState(other, "standby") }
            try S.setState(writer, "normal")
            let client = try S.client(nodes[0], consistency: "DC_ONE")
            #expect(try client.command("SET", "split", "value\(i)") == .simple("OK"))
        }
        for node in nodes { try S.setState(node, "normal") }
        let safe = try S.client(nodes[0], consistency: "DC_SAFE_QUORUM")
        #expect(try safe.command("GET", "split") == .error("ERR Dynomite: Failed to achieve Quorum"))
        let loose = try S.client(nodes[0], consistency: "DC_QUORUM")
        guard case .bulk(let bytes?) = try loose.command("GET", "split") else {
            Issue.record("DC_QUORUM answers with one of the values")
            return
        }
        #expect(String(decoding: bytes, as: UTF8.self).hasPrefix("value"))
        // Repaired by a write to all: every level agrees again.
        #expect(try safe.command("SET", "split", "same") == .simple("OK"))
        #expect(try safe.command("GET", "split") == S.bulk("same"))
    }

    @Test func aFiveRackDatacenterNeedsThreeAnswers() throws {
        let cluster = try TestCluster(layout: [[1, 1, 1, 1, 1]], extraConfig: ["read_consistency: DC_QUORUM", "write_consistency: DC_QUORUM"])
        defer { cluster.remove() }
        let client = try cluster.member(rack: 0).client()
        cluster.signal(cluster.member(rack: 3), SIGKILL)
        cluster.signal(cluster.member(rack: 4), SIGKILL)
        #expect(try client.command("SET", "five", "3of5") == .simple("OK"))
        #expect(try client.command("GET", "five") == S.bulk("3of5"))
        cluster.signal(cluster.member(rack: 2), SIGKILL)
        guard case .error(let message) = try client.command("GET", "five") else {
            Issue.record("a quorum read with 2 of 5 racks")
            return
        }
        #expect(message.contains("2 of 5 replicas answered, 3 needed"), "\(message)")
    }
}

@Suite(.timeLimit(.minutes(3)))
struct PeerInput {
    typealias S = ClusterTestSupport

    @Test func aMalformedPeerFrameClosesOnlyThatConnection() throws {
        let cluster = try TestCluster(layout: [[1, 1]], extraConfig: ["read_consistency: DC_QUORUM", "write_consistency: DC_QUORUM"])
        defer { cluster.remove() }
        let target = cluster.member(rack: 1)
        let identity = Array("probe dc1 rack9 1".utf8)
        let hello: [UInt8] = [0x44, 0x59, 2, 1, 0, 0] + [UInt8](repeating: 0, count: 16) + [0, 0, 0, UInt8(identity.count)] + identity
        let ping = Array("*1\r\n$4\r\nPING\r\n".utf8)
        let requestFrame: [UInt8] = [0x44, 0x59, 2, 2, 0, 0] + [UInt8](repeating: 0, count: 16) + [0, 0, 0, UInt8(ping.count)] + ping
        let garbage: [[UInt8]] = [
            Array("*1\r\n$4\r\nPING\r\n".utf8),                                    // RESP, not a frame
            [0x44, 0x59, 9, 2, 0, 0] + [UInt8](repeating: 0, count: 20),           // a future frame version
            hello + [0x44, 0x59, 2, 2, 0, 0] + [UInt8](repeating: 0, count: 16) + [0, 0, 0, 5] + Array("junk!".utf8),  // payload not RESP
            Array(requestFrame),                                                   // a request before the handshake
        ]
        for bytes in garbage {
            let peer = try RESPTestClient(port: target.peerPort)
            try peer.sendRaw(bytes)
            #expect(peer.isClosedByPeer(), "\(bytes.prefix(8))")
        }
        // The node and its real peer links are unaffected.
        let client = try cluster.member(rack: 0).client()
        #expect(try client.command("SET", "after-garbage", "1") == .simple("OK"))
        #expect(try target.client().command("GET", "after-garbage") == S.bulk("1"))
        #expect(target.process.child.isRunning)
        let log = target.process.child.log
        #expect(log.contains("not a Dynamis peer"), "\(log)")
        #expect(log.contains("peer speaks frame version 9; this node speaks 2"), "\(log)")
        #expect(log.contains("a request that is not one RESP command"), "\(log)")
        #expect(log.contains("sent a request before the handshake completed"), "\(log)")
    }
}

@Suite(.timeLimit(.minutes(3)))
struct MultiKey {
    typealias S = ClusterTestSupport

    @Test func multiKeyCommandsThroughEveryNodePipelined() throws {
        let cluster = try TestCluster(layout: [[2, 2, 2]], extraConfig: ["read_consistency: DC_QUORUM", "write_consistency: DC_QUORUM"])
        defer { cluster.remove() }
        let keys = (0..<24).map { "mk:\($0)" }
        // The keys really are spread over every owner of a rack.
        #expect(Set(keys.map { S.owner(of: $0, in: cluster, rack: 0).nodeIndex }).count == 2)
        for (n, member) in cluster.members.enumerated() {
            let client = try member.client()
            let values = keys.map { "\($0)=\(n)" }
            try client.send(["MSET"] + zip(keys, values).flatMap { [$0, $1] })
            try client.send(["MGET"] + keys + ["mk:missing"])
            try client.send(["EXISTS"] + keys + ["mk:missing", keys[0]])
            try client.send(["TOUCH"] + keys)
            try client.send(["DEL"] + Array(keys.prefix(10)))
            try client.send(["UNLINK"] + Array(keys.prefix(12)))
            try client.send(["MGET"] + Array(keys.prefix(11)))
            #expect(try client.readReply() == .simple("OK"))
            #expect(try client.readReply() == .array(values.map { S.bulk($0) } + [.bulk(nil)]))
            #expect(try client.readReply() == .integer(keys.count + 1))
            #expect(try client.readReply() == .integer(keys.count))
            #expect(try client.readReply() == .integer(10))
            #expect(try client.readReply() == .integer(2))
            #expect(try client.readReply() == .array(Array(repeating: .bulk(nil), count: 11)))
        }
        let client = try cluster.members[3].client()
        // Keys with different owners cannot be renamed into each other; a hash tag keeps them together.
        let apart = keys.first { S.owner(of: $0, in: cluster, rack: 0) !== S.owner(of: keys[12], in: cluster, rack: 0) }!
        guard case .error(let message) = try client.command("RENAME", keys[12], apart) else {
            Issue.record("RENAME across owners")
            return
        }
        #expect(message.hasPrefix("CROSSSLOT"))
        #expect(try client.command("SET", "{user1}:a", "1") == .simple("OK"))
        #expect(try client.command("RENAME", "{user1}:a", "{user1}:b") == .simple("OK"))
        #expect(try client.command("GET", "{user1}:b") == S.bulk("1"))
        // DBSIZE, KEYS and SCAN cover the whole data set (one rack's nodes).
        #expect(try client.command("DBSIZE") == .integer(keys.count - 12 + 1))
        guard case .array(let all?) = try client.command("KEYS", "*") else { Issue.record("KEYS"); return }
        #expect(all.count == keys.count - 12 + 1)
        var cursor = "0"
        var scanned: Set<String> = []
        repeat {
            guard case .array(let page?) = try client.command("SCAN", cursor, "COUNT", "5"), page.count == 2,
                  case .array(let items?) = page[1] else { Issue.record("SCAN page"); return }
            cursor = page[0].string ?? "0"
            for item in items { scanned.insert(item.string ?? "") }
        } while cursor != "0"
        #expect(scanned == Set(all.map { $0.string ?? "" }))
        #expect(try client.command("FLUSHALL") == .simple("OK"))
        for member in cluster.members { #expect(try member.client().command("DBSIZE") == .integer(0)) }
    }

    /// Read-your-writes on one connection: a pipeline of SET k then GET k through a node that
    /// owns none of the keys (the owners are peers), at DC_ONE. Every GET must see the SET just
    /// before it: a client's requests to one peer take one connection and run in order there.
    @Test func aPipelinedReadSeesTheConnectionsOwnEarlierWrite() throws {
        // 2,000 requests in one pipeline: the default timeout covers their wait on a loaded machine.
        let cluster = try TestCluster(layout: [[2, 2]], extraConfig: ["read_consistency: DC_ONE", "write_consistency: DC_ONE", "timeout: 5000"])
        defer { cluster.remove() }
        let coordinator = cluster.members[0]
        let keys = (0..<2_000).lazy.map { "ryw:\($0)" }.filter { S.owner(of: $0, in: cluster, rack: coordinator.rackIndex) !== coordinator }
        let chosen = Array(keys.prefix(20))
        #expect(chosen.count == 20)
        let client = try coordinator.client()
        let rounds = 1_000
        var pipeline: [UInt8] = []
        for i in 0..<rounds {
            let key = chosen[i % chosen.count]
            pipeline += RESPTestClient.encode([Array("SET".utf8), Array(key.utf8), Array("\(i)".utf8)])
            pipeline += RESPTestClient.encode([Array("GET".utf8), Array(key.utf8)])
        }
        try client.sendRaw(pipeline)
        var stale: [String] = []
        for i in 0..<rounds {
            let set = try client.readReply()
            let get = try client.readReply()
            if set != .simple("OK") || get != S.bulk("\(i)"), stale.count < 5 { stale.append("round \(i): SET \(set), GET \(get)") }
        }
        #expect(stale.isEmpty, "\(stale)")
    }
}

@Suite(.timeLimit(.minutes(3)))
struct RedisEngine {
    typealias S = ClusterTestSupport

    @Test func aClusterOfRedisEngineNodesReplicatesAndSurvivesADeadBackend() throws {
        let backends = try (0..<4).map { _ in try RedisServer() }
        defer { for backend in backends { backend.stop() } }
        let cluster = try TestCluster(layout: [[2, 2]], extraConfig: ["read_consistency: DC_QUORUM", "write_consistency: DC_QUORUM"]) { i in
            ["data_store: redis", "servers:", "- 127.0.0.1:\(backends[i].port):1"]
        }
        defer { cluster.remove() }
        let keys = (0..<12).map { "re:\($0)" }
        let client = try cluster.members[0].client()
        try client.send(["MSET"] + keys.flatMap { [$0, "v-" + $0] })
        try client.send(["MGET"] + keys)
        #expect(try client.readReply() == .simple("OK"))
        #expect(try client.readReply() == .array(keys.map { S.bulk("v-" + $0) }))
        // Each key is in the owner's own redis-server in both racks (read there directly).
        for key in keys {
            for rack in 0..<2 {
                let owner = S.owner(of: key, in: cluster, rack: rack)
                let index = cluster.members.firstIndex { $0 === owner }!
                #expect(try RESPTestClient(port: backends[index].port).command("GET", key) == S.bulk("v-" + key))
            }
        }
        // SCRIPT LOAD through one node reaches every backend, so EVALSHA runs wherever the key
        // lives (Dynomite's functional test); SCRIPT EXISTS answers for the whole cluster.
        guard case .bulk(let shaBytes?) = try client.command("SCRIPT", "LOAD", "return redis.call('GET', KEYS[1])") else {
            Issue.record("SCRIPT LOAD")
            return
        }
        let sha = String(decoding: shaBytes, as: UTF8.self)
        for backend in backends {
            #expect(try RESPTestClient(port: backend.port).command("SCRIPT", "EXISTS", sha) == .array([.integer(1)]))
        }
        for key in keys { #expect(try client.command("EVALSHA", sha, "1", key) == S.bulk("v-" + key), "\(key)") }
        #expect(try client.command("SCRIPT", "EXISTS", sha, "0000") == .array([.integer(1), .integer(0)]))
        _ = try RESPTestClient(port: backends[3].port).command("SCRIPT", "FLUSH")
        #expect(try client.command("SCRIPT", "EXISTS", sha) == .array([.integer(0)]))  // not on every node any more
        #expect(try client.command("SCRIPT", "FLUSH") == .simple("OK"))
        for backend in backends { #expect(try RESPTestClient(port: backend.port).command("SCRIPT", "EXISTS", sha) == .array([.integer(0)])) }
        // With one backend dead, its rack's answers are storage errors: a 2-rack quorum needs both.
        let victim = S.owner(of: keys[0], in: cluster, rack: 1)
        let set = (0..<1000).lazy.map { "set:\($0)" }.first { S.owner(of: $0, in: cluster, rack: 1) === victim }!
        #expect(try client.command("SADD", set, "a", "b") == .integer(2))
        backends[cluster.members.firstIndex { $0 === victim }!].stop()
        // SPOP through a rack-1 node asks its own rack's owner first, finds its storage down,
        // and pops on rack 0's owner instead.
        let rackOne = try S.client(cluster.members.first { $0.rackIndex == 1 }!, consistency: "DC_ONE")
        let popped = try rackOne.command("SPOP", set)
        #expect(popped == S.bulk("a") || popped == S.bulk("b"), "\(popped)")
        guard case .error(let message) = try client.command("GET", keys[0]) else {
            Issue.record("a 2-rack quorum read with one backend dead")
            return
        }
        #expect(message.hasPrefix("ERR Storage:"), "\(message)")
        #expect(message.contains("1 of 2 replicas answered, 2 needed"), "\(message)")
        let one = try S.client(cluster.members[0], consistency: "DC_ONE")
        #expect(try one.command("GET", keys[0]) == S.bulk("v-" + keys[0]))
        // With the set's owner in both racks dead, SPOP says so, as a failed quorum does.
        backends[cluster.members.firstIndex { $0 === S.owner(of: set, in: cluster, rack: 0) }!].stop()
        guard case .error(let none) = try rackOne.command("SPOP", set) else { Issue.record("SPOP with no live owner"); return }
        #expect(none.hasPrefix("ERR Storage:") && none.hasSuffix("(0 of 2 replicas answered, 1 needed)"), "\(none)")
    }
}

@Suite(.timeLimit(.minutes(3)))
struct Durability {
    typealias S = ClusterTestSupport

    /// SPOP pops on one owner and removes exactly those members on the others, so every rack
    /// keeps the same set; random reads ask one replica, so even DC_SAFE_QUORUM has nothing to
    /// disagree on.
    @Test func spopLeavesEveryRackTheSameSet() throws {
        let cluster = try TestCluster(layout: [[1, 1, 1]], extraConfig: ["read_consistency: DC_QUORUM", "write_consistency: DC_QUORUM"])
        defer { cluster.remove() }
        let first = try cluster.member(rack: 0).client()
        let second = try cluster.member(rack: 1).client()
        var left = Set((0..<200).map { "m\($0)" })
        #expect(try first.command(["SADD", "s"] + left.sorted()) == .integer(200))
        func members(_ reply: RESPValue) -> [String] {
            switch reply {
            case .bulk(let bytes?): return [String(decoding: bytes, as: UTF8.self)]
            case .array(let items?): return items.compactMap(\.string)
            default: return []
            }
        }
        // A DC_QUORUM write is acknowledged by two racks; the third's copy may still be on its
        // way, and a SPOP through a node pops on its own rack's owner. So each round starts once
        // every rack holds the set the last one left (no versions yet: issue 16).
        let alone = try (0..<3).map { try S.client(cluster.member(rack: $0), consistency: "DC_ONE") }
        func converged(_ what: String) throws {
            for rack in 0..<3 {
                try S.eventually("rack \(rack) holds the same set \(what)") { Set(members(try alone[rack].command("SMEMBERS", "s"))) == left }
            }
        }
        for round in 0..<10 {
            try converged("before round \(round)")
            let client = round % 2 == 0 ? first : second
            let popped = members(try client.command(round % 3 == 0 ? ["SPOP", "s"] : ["SPOP", "s", "\(round)"]))
            #expect(popped.count == (round % 3 == 0 ? 1 : round) && Set(popped).isSubset(of: left), "round \(round): \(popped)")
            left.subtract(popped)
        }
        #expect(try first.command("SPOP", "s", "0") == .array([]))
        #expect(try first.command("SPOP", "nothing") == .bulk(nil))
        #expect(try first.command("SET", "str", "x") == .simple("OK"))
        try S.eventually("rack 1 holds the string") { try alone[1].command("TYPE", "str") == .simple("string") }
        #expect(try second.command("SPOP", "str") == .error("WRONGTYPE Operation against a key holding the wrong kind of value"))
        try converged("at the end")
        #expect(try first.command("HSET", "h", "a", "1", "b", "2", "c", "3") == .integer(3))
        #expect(try first.command("ZADD", "z", "1", "a", "2", "b", "3", "c") == .integer(3))
        // DC_SAFE_QUORUM wants identical answers: random picks from three replicas never were.
        let safe = try S.client(cluster.member(rack: 1), consistency: "DC_SAFE_QUORUM")
        let popped = members(try safe.command("SPOP", "s"))
        #expect(popped.count == 1 && left.contains(popped[0]), "\(popped)")
        left.subtract(popped)
        for _ in 0..<5 {
            let picked = members(try safe.command("SRANDMEMBER", "s", "3"))
            #expect(picked.count == 3 && Set(picked).isSubset(of: left), "\(picked)")
            let fields = members(try safe.command("HRANDFIELD", "h", "2"))
            #expect(fields.count == 2 && Set(fields).isSubset(of: ["a", "b", "c"]), "\(fields)")
            let scored = members(try safe.command("ZRANDMEMBER", "z", "2"))
            #expect(scored.count == 2 && Set(scored).isSubset(of: ["a", "b", "c"]), "\(scored)")
        }
    }

    @Test func noAcknowledgedQuorumWriteIsLostWhenANodeIsKilled() throws {
        let cluster = try TestCluster(layout: [[1, 1, 1]], extraConfig: ["read_consistency: DC_QUORUM", "write_consistency: DC_QUORUM"])
        defer { cluster.remove() }
        let victim = cluster.member(rack: 1)
        let writers = [cluster.member(rack: 0), victim]
        final class Acked: @unchecked Sendable {  // guarded by its lock
            let lock = NSLock()
            var keys: [String] = []
        }
        let acked = Acked()
        let group = DispatchGroup()
        for (w, member) in writers.enumerated() {
            let port = member.port
            group.enter()
            DispatchQueue.global().async {
                defer { group.leave() }
                guard let client = try? RESPTestClient(port: port) else { return }
                // Pipelined batches of 16; a batch's replies say which writes were acknowledged.
                for batch in 0..<200 {
                    let keys = (0..<16).map { "w\(w):\(batch):\($0)" }
                    do {
                        for key in keys { try client.send(["SET", key, key]) }
                        for key in keys where try client.readReply() == .simple("OK") {
                            acked.lock.lock(); acked.keys.append(key); acked.lock.unlock()
                        }
                    } catch { return }  // the victim's own clients lose their connection
                }
            }
        }
        try S.eventually("some writes acknowledged before the kill") {
            acked.lock.lock(); defer { acked.lock.unlock() }
            return acked.keys.count > 500
        }
        cluster.signal(victim, SIGKILL)
        group.wait()
        acked.lock.lock()
        let keys = acked.keys
        acked.lock.unlock()
        #expect(keys.count > 500)
        // Every acknowledged write is on both live replicas (each read alone with DC_ONE).
        for member in [cluster.member(rack: 0), cluster.member(rack: 2)] {
            let client = try S.client(member, consistency: "DC_ONE")
            var missing = 0
            for key in keys where try client.command("GET", key) != S.bulk(key) { missing += 1 }
            #expect(missing == 0, "\(missing) acknowledged writes missing on \(member.rack)")
        }
    }
}
}

extension ClusterTests {
@Suite(.timeLimit(.minutes(3)))
struct Snapshots {
    typealias S = ClusterTestSupport

    @Test func clusterImportReachesEveryRackAndClusterExportHasEachKeyOnce() throws {
        let cluster = try TestCluster(layout: [[2, 2]], extraConfig: ["write_consistency: DC_QUORUM"])
        let work = TemporaryDirectory("snapshot")
        defer { cluster.remove(); work.remove() }
        let count = 300
        var lines = ""
        for i in 0..<count {
            if i % 3 == 0 {
                lines += "{\"key\":\"h:\(i)\",\"type\":\"hash\",\"value\":[[\"f\",\"\(i)\"],[\"g\",\"x\"]]}\n"
            } else {
                lines += "{\"key\":\"s:\(i)\",\"type\":\"string\",\"expire_at_ms\":4102444800000,\"value\":\"\(i)\"}\n"
            }
        }
        let file = work.path + "/in.jsonl"
        try lines.write(toFile: file, atomically: true, encoding: .utf8)
        let entry = cluster.member(rack: 0)
        let imported = try SnapshotHelpers.tool(["import", "--to", "127.0.0.1:\(entry.port)", "--cluster", file], in: work)
        #expect(imported.status == 0, "\(imported.output)")
        #expect(imported.output.contains("imported \(count) keys"), "\(imported.output)")

        // Every rack holds a full copy: DBSIZE through a node counts its own rack.
        for rack in 0..<2 {
            let client = try S.client(cluster.member(rack: rack, node: 1), consistency: "DC_ONE")
            try S.eventually("rack \(rack) holds every key") { try client.command("DBSIZE") == .integer(count) }
            #expect(try client.command("HGET", "h:3", "f") == S.bulk("3"))
            #expect(try client.command("GET", "s:7") == S.bulk("7"))
            #expect(try client.command("PEXPIRETIME", "s:7") == .integer(4_102_444_800_000))
        }

        let out = work.path + "/out.jsonl"
        let exported = try SnapshotHelpers.tool(["export", "--from", "127.0.0.1:\(cluster.member(rack: 1).port)", "--cluster", "--out", out], in: work)
        #expect(exported.status == 0, "\(exported.output)")
        let keys = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map { line in
            String(line.split(separator: ",")[0])
        }
        #expect(keys.count == count)
        #expect(Set(keys).count == count)

        // --cluster against a lone node is refused with the reason.
        let lone = try DynamisProcess()
        defer { lone.remove() }
        let refused = try SnapshotHelpers.tool(["export", "--from", "127.0.0.1:\(lone.port)", "--cluster", "--out", work.path + "/x.rdb"], in: work)
        #expect(refused.status != 0)
        #expect(refused.output.contains("not a member of a Dynamis cluster"))
    }
}
}

extension ClusterTests {
@Suite(.timeLimit(.minutes(3)))
struct PeerSecrets {
    typealias S = ClusterTestSupport

    @Test func peersWithTheSameSecretLinkAndAWrongSecretCannotJoin() throws {
        let good = try TestCluster(layout: [[1, 1]], extraConfig: ["peer_secret: s3cret", "write_consistency: DC_QUORUM"])
        do {
            defer { good.remove() }
            #expect(try good.member(rack: 0).client().command("SET", "k", "v") == .simple("OK"))
            #expect(try S.client(good.member(rack: 1), consistency: "DC_ONE").command("GET", "k") == S.bulk("v"))
            // Transactions need all their keys on one node: a cluster refuses them.
            guard case .error(let refusal) = try good.member(rack: 0).client().command("MULTI") else {
                Issue.record("a cluster node accepted MULTI")
                return
            }
            #expect(refusal.hasPrefix("ERR 'multi' is not supported in a Dynamis cluster"))
            // The secret never crosses the wire, only proofs of it.
            #expect(!good.member(rack: 0).process.child.log.contains("s3cret"))
            for i in 0..<10 { #expect(try good.member(rack: 0).client().command("SET", "n\(i)", "v") == .simple("OK")) }
            let metrics = try httpRequest(port: good.member(rack: 0).process.adminPort, path: "/metrics").body
            func sample(_ outcome: String) -> Int {
                let line = metrics.split(separator: "\n").first { $0.hasPrefix("dynamis_peer_requests_total{") && $0.contains("outcome=\"\(outcome)\"") }
                return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? -1
            }
            #expect(sample("sent") >= 11)
            #expect(sample("answered") == sample("sent"))
            #expect(sample("timed_out") == 0)
            let info = try JSONSerialization.jsonObject(with: Data(try httpRequest(port: good.member(rack: 0).process.adminPort, path: "/info").body.utf8)) as? [String: Any]
            let pool = info?["dyn_o_mite"] as? [String: Any]
            #expect((pool?["peer_requests"] as? Int ?? 0) >= 11)
            #expect((pool?["peer_connections"] as? Int ?? 0) >= 1)
            #expect(metrics.contains("dynamis_peer_up{peer=\"127.0.0.1:\(good.member(rack: 1).peerPort)\", dc=\"dc1\", rack=\"rack2\"} 1")
                    || metrics.contains("dynamis_peer_up{peer=\"127.0.0.1:\(good.member(rack: 1).peerPort)\",dc=\"dc1\",rack=\"rack2\"} 1"), "\(metrics)")
        }

        // Rack 2's node has another secret; a third configuration (no secret) is refused too.
        let bad = try TestCluster(layout: [[1, 1, 1]], extraConfig: ["write_consistency: DC_QUORUM"],
                                  perNode: { i in i == 2 ? [] : ["peer_secret: \(i == 0 ? "s3cret" : "other")"] },
                                  waitForPeers: false)
        defer { bad.remove() }
        let (a, b, c) = (bad.member(rack: 0), bad.member(rack: 1), bad.member(rack: 2))
        try S.eventually("the listeners reject the wrong proofs") {
            a.process.child.log.contains("failed authentication") && b.process.child.log.contains("failed authentication")
        }
        try S.eventually("the node without a secret is told it needs one") {
            c.process.child.log.contains("requires a peer secret")
        }
        try S.eventually("a secret-holding connector refuses a listener that cannot prove the secret") {
            a.process.child.log.contains("did not prove it knows the peer secret")
        }
        for member in [a, b, c] {
            let info = try member.client().command("INFO", "dynamis").string ?? ""
            #expect(TestCluster.field(info, "peers_connected") == 0, "\(info)")
            let metrics = try httpRequest(port: member.process.adminPort, path: "/metrics").body
            #expect(!metrics.contains("dynamis_peer_up{") || !metrics.split(separator: "\n").contains { $0.hasPrefix("dynamis_peer_up{") && $0.hasSuffix(" 1") })
        }
        // With no peer linked, a quorum write cannot be acknowledged.
        guard case .error(let e) = try a.client().command("SET", "k", "v") else {
            Issue.record("a quorum write was acknowledged without peers")
            return
        }
        #expect(e.contains("Quorum") || e.contains("replicas answered"), "\(e)")
    }
}
}

extension ClusterTests {
@Suite(.timeLimit(.minutes(3)))
struct SeedProvider {
    typealias S = ClusterTestSupport

    /// A stand-in for Florida (Dynomite-manager's seed endpoint): a real HTTP server process
    /// answering every GET with the seed file's current contents.
    final class Florida {
        let port: Int
        let child: ChildProcess
        let file: String

        init(directory: TemporaryDirectory) throws {
            file = directory.path + "/seeds.list"
            try "".write(toFile: file, atomically: true, encoding: .utf8)
            let script = """
            import http.server, sys
            class H(http.server.BaseHTTPRequestHandler):
                protocol_version = "HTTP/1.1"
                def do_GET(self):
                    body = open(sys.argv[2], "rb").read()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(body)
                    self.close_connection = True
                def log_message(self, *args): pass
            http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
            """
            try script.write(toFile: directory.path + "/florida.py", atomically: true, encoding: .utf8)
            var started: (Int, ChildProcess)?
            for _ in 0..<5 {
                let port = freePort()
                let child = try ChildProcess(executable: "/usr/bin/python3", arguments: [directory.path + "/florida.py", "\(port)", file],
                                             logPath: directory.path + "/florida.log")
                if waitForPort(port, seconds: 10, while: { child.isRunning }) { started = (port, child); break }
                child.stop(signal: SIGKILL)
            }
            guard let started else { throw TestClientError("the Florida stand-in did not start") }
            (port, child) = started
        }

        func serve(_ seeds: [String]) throws { try seeds.joined(separator: "|").write(toFile: file, atomically: true, encoding: .utf8) }
        func stop() { child.stop(signal: SIGKILL) }
    }

    /// A stand-in nameserver: a real UDP server process answering every query with the TXT
    /// record held in a file (strings of up to 255 bytes), or no answer when it is empty.
    final class Nameserver {
        let port: Int
        let child: ChildProcess
        let file: String

        init(directory: TemporaryDirectory) throws {
            file = directory.path + "/txt"
            try "".write(toFile: file, atomically: true, encoding: .utf8)
            let script = """
            import socket, struct, sys
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", int(sys.argv[1])))
            while True:
                q, addr = s.recvfrom(512)
                i = 12
                while q[i] != 0: i += q[i] + 1
                question = q[12:i + 5]
                txt = open(sys.argv[2], "rb").read()
                answers = b""
                if txt:
                    rdata = b"".join(bytes([len(txt[k:k + 255])]) + txt[k:k + 255] for k in range(0, len(txt), 255))
                    answers = b"\\xc0\\x0c" + struct.pack(">HHIH", 16, 1, 0, len(rdata)) + rdata
                s.sendto(q[:2] + struct.pack(">HHHHH", 0x8180, 1, 1 if txt else 0, 0, 0) + question + answers, addr)
            """
            try script.write(toFile: directory.path + "/dns.py", atomically: true, encoding: .utf8)
            port = freePort()
            child = try ChildProcess(executable: "/usr/bin/python3", arguments: [directory.path + "/dns.py", "\(port)", file],
                                     logPath: directory.path + "/dns.log")
        }

        func serve(_ seeds: [String]) throws { try seeds.joined(separator: "|").write(toFile: file, atomically: true, encoding: .utf8) }
        func stop() { child.stop(signal: SIGKILL) }
    }

    /// One node of a provider test: its ports, chosen before anything starts.
    struct Plan {
        let port = freePort(), peer = freePort(), admin = freePort()
        let rack: String
        var seed: String { "127.0.0.1:\(peer):\(rack):dc1:0" }
    }

    /// Starts a node of `plan` whose seeds come from a provider (`providerLines`), polled every 200 ms.
    static func start(_ plan: Plan, _ providerLines: [String], into nodes: inout [DynamisProcess]) throws -> DynamisProcess {
        let directory = TemporaryDirectory("dynamis-provider")
        let node = try DynamisProcess(port: plan.port, adminPort: plan.admin, configLines: [
            "listen: 127.0.0.1:\(plan.port)", "dyn_listen: 127.0.0.1:\(plan.peer)", "stats_listen: 127.0.0.1:\(plan.admin)",
            "datacenter: dc1", "rack: \(plan.rack)", "tokens: '0'", "timeout: 1000", "data_store: rocksdb",
            "data_dir: \(directory.path)/data", "write_consistency: DC_QUORUM", "seeds_check_interval: 200",
        ] + providerLines, directory: directory)
        nodes.append(node)
        return node
    }

    static func info(_ node: DynamisProcess, _ field: String) -> Int? {
        TestCluster.field((try? node.client().command("INFO", "dynamis").string) ?? "", field)
    }

    /// `key` is readable on `node` itself (DC_ONE: its own rack's copy).
    static func holds(_ node: DynamisProcess, _ key: String, _ value: String) throws -> Bool {
        let client = try node.client()
        #expect(try client.command("DYNO_CONFIG:CONN_CONSISTENCY", "DC_ONE") == .simple("OK"))
        return try client.command("GET", key) == S.bulk(value)
    }

    @Test func nodesFindEachOtherThroughADNSTXTRecord() throws {
        let work = TemporaryDirectory("dns")
        let dns = try Nameserver(directory: work)
        var nodes: [DynamisProcess] = []
        defer { for n in nodes { n.remove() }; dns.stop(); work.remove() }
        let a = Plan(rack: "rack1"), b = Plan(rack: "rack2")
        // Long enough to need several TXT character-strings.
        let padding = (0..<12).map { "127.0.0.2:\(9000 + $0):rack\($0 + 3):dc1:0" }
        try dns.serve([a.seed, b.seed])
        let lines = ["dyn_seed_provider: dns_provider", "dns_name: _dynomite.test.internal", "dns_server: 127.0.0.1:\(dns.port)"]
        let nodeA = try Self.start(a, lines, into: &nodes), nodeB = try Self.start(b, lines, into: &nodes)
        try S.eventually("A and B link through the TXT record") {
            Self.info(nodeA, "peers_connected") == 1 && Self.info(nodeB, "peers_connected") == 1
        }
        #expect(try nodeA.client().command("SET", "k", "v") == .simple("OK"))
        #expect(try Self.holds(nodeB, "k", "v"))
        // A record over 255 bytes arrives in several strings and is read whole.
        try dns.serve([a.seed, b.seed] + padding)
        try S.eventually("the long record is applied") { Self.info(nodeA, "peers") == 13 }
    }

    @Test func aNodeReplacedThroughFloridaTakesOverItsRack() throws {
        let work = TemporaryDirectory("florida")
        let florida = try Florida(directory: work)
        var nodes: [DynamisProcess] = []
        defer { for n in nodes { n.remove() }; florida.stop(); work.remove() }
        let a = Plan(rack: "rack1"), b = Plan(rack: "rack2"), c = Plan(rack: "rack2")
        let lines = ["dyn_seed_provider: florida_provider", "florida_host: 127.0.0.1", "florida_port: \(florida.port)",
                     "florida_request: GET /seeds HTTP/1.0"]
        try florida.serve([a.seed, b.seed])
        let nodeA = try Self.start(a, lines, into: &nodes), nodeB = try Self.start(b, lines, into: &nodes)
        try S.eventually("A and B link through the seeds Florida serves") {
            Self.info(nodeA, "peers_connected") == 1 && Self.info(nodeB, "peers_connected") == 1
        }
        #expect(try nodeA.client().command("SET", "k1", "v1") == .simple("OK"))
        #expect(try Self.holds(nodeB, "k1", "v1"))

        // B dies: A's quorum writes fail. Florida then names C in B's place, and they work again.
        _ = nodeB.stop(signal: SIGKILL)
        guard case .error = try nodeA.client().command("SET", "k2", "v2") else { Issue.record("a quorum write succeeded with its peer dead"); return }
        try florida.serve([a.seed, c.seed])
        let nodeC = try Self.start(c, lines, into: &nodes)
        try S.eventually("A links to C") { Self.info(nodeA, "peers_connected") == 1 && Self.info(nodeC, "peers_connected") == 1 }
        #expect(try nodeA.client().command("SET", "k2", "v2") == .simple("OK"))
        #expect(try Self.holds(nodeC, "k2", "v2"))
        let describe = try httpRequest(port: a.admin, path: "/cluster_describe").body
        #expect(describe.contains("\(c.peer)") && !describe.contains("\(b.peer)"), "\(describe)")
        #expect(nodeA.child.log.contains("florida_provider: topology changed"))

        // A list that does not form a valid cluster is logged and ignored.
        try florida.serve([a.seed, c.seed, "127.0.0.1:1:rack2:dc1:0"])
        try S.eventually("the bad list is refused") { nodeA.child.log.contains("do not form a valid cluster") }
        #expect(try nodeA.client().command("SET", "k3", "v3") == .simple("OK"))
    }
}
}
