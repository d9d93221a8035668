import Ring
import Synchronization

/// The cluster as this node sees it: the topology built from `dyn_listen`, `rack`,
/// `datacenter`, `tokens` and the seeds (or from the newest membership epoch), and a dense
/// index for every peer (per-loop link tables are arrays indexed by it).
public struct ClusterMap: Sendable {
    /// The ring reads and writes go to: the membership's members.
    public let topology: Topology
    /// Every other node, in a fixed order; `peerIndex[name]` is a node's position.
    public let peers: [Node]
    public let peerIndex: [String: Int]
    /// The membership this map was built from (its epoch, and the change in flight).
    public let membership: Membership
    /// While a change is in flight: the changed rack's ring once it is done (writes also go to
    /// its owners, the pending ones), and that rack's indexes in `topology`.
    public let pending: (datacenter: Int, rack: Int, ring: RackRing)?

    public var local: Node { topology.local }

    /// nil for a node without peers: it owns every key and routes nothing.
    public static func make(config: DynamisConfig, seeds: [DynamisConfig.Seed]? = nil) throws(ConfigError) -> ClusterMap? {
        guard let membership = try seedMembership(config: config, seeds: seeds) else { return nil }
        return try make(config: config, membership: membership)
    }

    /// The node itself from its config.
    static func localNode(_ config: DynamisConfig) throws(ConfigError) -> Node {
        guard let listen = config.dynListen else {
            throw ConfigError(key: "dyn_listen", "a node with dyn_seeds needs dyn_listen: the address its peers connect to")
        }
        return Node(host: listen.host, port: listen.port, rack: config.rack, datacenter: config.datacenter, token: config.token)
    }

    /// Epoch 0: the membership the config's seeds describe (nil: no peers). A node with
    /// `auto_bootstrap` is not a member yet: it starts as joining and owns nothing until its
    /// join finishes.
    static func seedMembership(config: DynamisConfig, seeds: [DynamisConfig.Seed]? = nil) throws(ConfigError) -> Membership? {
        let seeds = seeds ?? config.dynSeeds
        guard !seeds.isEmpty else { return nil }
        let local = try localNode(config)
        var members: [Membership.Member] = []
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
            members.append(Membership.Member(node))
        }
        guard !members.isEmpty else { return nil }
        if config.autoBootstrap {
            // A member of this rack with this node's token is the dead node it replaces.
            if let dead = members.first(where: { $0.datacenter == local.datacenter && $0.rack == local.rack && $0.token == local.token }) {
                return Membership(epoch: 0, members: members, change: .init(kind: .replace, node: .init(local), replaces: dead.name))
            }
            return Membership(epoch: 0, members: members, change: .init(kind: .join, node: .init(local)))
        }
        return Membership(epoch: 0, members: [.init(local)] + members)
    }

    /// The map of one membership epoch, seen from this node.
    public static func make(config: DynamisConfig, membership: Membership) throws(ConfigError) -> ClusterMap {
        let local = try localNode(config)
        let topology: Topology
        var pending: (datacenter: Int, rack: Int, ring: RackRing)?
        do {
            topology = try Topology(local: local, members: membership.members.map(\.node), ownership: config.tokenOwnership)
            if let change = membership.change,
               let dc = topology.datacenters.firstIndex(where: { $0.name == change.node.datacenter }),
               let rack = topology.datacenters[dc].racks.firstIndex(where: { $0.name == change.node.rack }) {
                let nodes = membership.after.filter { $0.datacenter == change.node.datacenter && $0.rack == change.node.rack }
                pending = (dc, rack, try RackRing(name: change.node.rack, nodes: nodes.map(\.node)))
            }
        } catch {
            throw ConfigError(key: "dyn_seeds", error.description)
        }
        let peers = membership.everyone.map(\.node).filter { $0.name != local.name }
        var index: [String: Int] = [:]
        for (i, peer) in peers.enumerated() { index[peer.name] = i }
        return ClusterMap(topology: topology, peers: peers, peerIndex: index, membership: membership, pending: pending)
    }

    /// Every node of the local rack that owns tokens (this one, when it is a member), in token order.
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
