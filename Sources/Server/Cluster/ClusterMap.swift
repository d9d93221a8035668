import Ring
import Synchronization

/// The cluster as this node sees it: the topology built from `dyn_listen`, `rack`,
/// `datacenter`, `tokens` and the seeds, and a dense index for every peer (per-loop link
/// tables are arrays indexed by it).
public struct ClusterMap: Sendable {
    public let topology: Topology
    /// Every other node, in a fixed order; `peerIndex[name]` is a node's position.
    public let peers: [Node]
    public let peerIndex: [String: Int]

    public var local: Node { topology.local }

    /// nil for a node without peers: it owns every key and routes nothing.
    public static func make(config: DynamisConfig, seeds: [DynamisConfig.Seed]? = nil) throws(ConfigError) -> ClusterMap? {
        let seeds = seeds ?? config.dynSeeds
        guard !seeds.isEmpty else { return nil }
        guard let listen = config.dynListen else {
            throw ConfigError(key: "dyn_listen", "a node with dyn_seeds needs dyn_listen: the address its peers connect to")
        }
        let local = Node(host: listen.host, port: listen.port, rack: config.rack, datacenter: config.datacenter, token: config.token)
        var peers: [Node] = []
        var seen: Set<String> = [local.name]
        for seed in seeds {
            let node = Node(host: seed.endpoint.host, port: seed.endpoint.port, rack: seed.rack,
                            datacenter: seed.datacenter, token: seed.token)
            // Operators often list every node, this one included, in one shared seed list.
            if node.name == local.name {
                guard node.rack == local.rack, node.datacenter == local.datacenter, node.token == local.token else {
                    throw ConfigError(key: "dyn_seeds", "entry for this node (\(node.name)) says \(node.datacenter)/\(node.rack) token \(node.token), but the node is \(local.datacenter)/\(local.rack) token \(local.token)")
                }
                continue
            }
            guard seen.insert(node.name).inserted else {
                throw ConfigError(key: "dyn_seeds", "\(node.name) is listed twice")
            }
            peers.append(node)
        }
        guard !peers.isEmpty else { return nil }
        let topology: Topology
        do {
            topology = try Topology(local: local, peers: peers, ownership: config.tokenOwnership)
        } catch {
            throw ConfigError(key: "dyn_seeds", error.description)
        }
        var index: [String: Int] = [:]
        for (i, peer) in peers.enumerated() { index[peer.name] = i }
        return ClusterMap(topology: topology, peers: peers, peerIndex: index)
    }

    /// Every node of the local rack, this one included, in token order.
    public var localRackNodes: [Node] {
        topology.localDatacenter.racks[topology.localRackIndex].nodes
    }

    /// Every node in every DC, this one included.
    public var allNodes: [Node] { [local] + peers }
}

/// How many of this node's outgoing connections to each peer are up (all loops together),
/// for INFO, `/cluster_describe` and tests waiting for a cluster to form.
public final class PeerStatus: Sendable {
    /// One boxed counter per peer (`Atomic` cannot live in an array).
    final class Counter: Sendable { let value = Atomic<Int>(0) }
    let connected: [Counter]
    let expected: [Int]

    /// `expected[i]`: how many connections this node opens to peer i (all loops together).
    init(expected: [Int]) {
        connected = expected.map { _ in Counter() }
        self.expected = expected
    }

    func up(_ peer: Int) { connected[peer].value.add(1, ordering: .relaxed) }
    func down(_ peer: Int) { connected[peer].value.subtract(1, ordering: .relaxed) }

    /// True when every connection to the peer is up.
    public func isConnected(_ peer: Int) -> Bool { connected[peer].value.load(ordering: .relaxed) >= expected[peer] }
    public func connections(_ peer: Int) -> Int { connected[peer].value.load(ordering: .relaxed) }
}
