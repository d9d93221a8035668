/// The cluster's shape: datacenters of racks of nodes, each rack a full copy of the data.
/// Racks and datacenters are ordered by name, as Dynomite orders them.
public struct Topology: Sendable {
    public struct Datacenter: Sendable, Equatable {
        public let name: String
        public let racks: [RackRing]
    }

    public let datacenters: [Datacenter]
    public let local: Node
    public let ownership: TokenOwnership
    /// Index of the local datacenter in `datacenters`, and of the local rack in it.
    public let localDatacenterIndex: Int
    public let localRackIndex: Int

    public init(local: Node, peers: [Node], ownership: TokenOwnership = .rangeStart) throws(RackRing.Error) {
        try self.init(local: local, members: [local] + peers, ownership: ownership)
    }

    /// The ring of `members`, seen from `local`, which need not be one of them: a node joining
    /// the cluster (or one that has left) routes through the ring without owning tokens in it.
    /// `local`'s rack must exist among the members.
    public init(local: Node, members: [Node], ownership: TokenOwnership = .rangeStart) throws(RackRing.Error) {
        var grouped: [String: [String: [Node]]] = [:]
        for node in members {
            grouped[node.datacenter, default: [:]][node.rack, default: []].append(node)
        }
        var dcs: [Datacenter] = []
        for dcName in grouped.keys.sorted() {
            var racks: [RackRing] = []
            for rackName in grouped[dcName]!.keys.sorted() {
                racks.append(try RackRing(name: rackName, nodes: grouped[dcName]![rackName]!))
            }
            dcs.append(Datacenter(name: dcName, racks: racks))
        }
        self.datacenters = dcs
        self.local = local
        self.ownership = ownership
        guard let dc = dcs.firstIndex(where: { $0.name == local.datacenter }),
              let rack = dcs[dc].racks.firstIndex(where: { $0.name == local.rack }) else {
            throw .empty(rack: "\(local.datacenter)/\(local.rack)")
        }
        self.localDatacenterIndex = dc
        self.localRackIndex = rack
    }

    /// A single node that owns everything.
    public static func single(_ node: Node) -> Topology {
        // A one-node topology cannot have duplicate tokens.
        try! Topology(local: node, peers: [])
    }

    public var localDatacenter: Datacenter { datacenters[localDatacenterIndex] }

    /// The replication factor of the local DC: its number of racks.
    public var localReplicationFactor: Int { localDatacenter.racks.count }

    /// The owner of `token` in a rack.
    public func owner(of token: UInt32, in rack: RackRing) -> Node {
        rack.owner(of: token, rule: ownership)
    }

    /// The node at `position`.
    public func node(at position: NodePosition) -> Node {
        datacenters[position.datacenter].racks[position.rack].nodes[position.index]
    }

    /// The owner of `token` in one rack of one datacenter.
    @inlinable
    public func owner(of token: UInt32, datacenter: Int, rack: Int) -> NodePosition {
        NodePosition(datacenter: datacenter, rack: rack,
                     index: datacenters[datacenter].racks[rack].ownerIndex(of: token, rule: ownership))
    }

    /// The owners of `token` in this node's datacenter: its own rack's first, then the other
    /// racks' in rack order. Every rack holds a full copy, so these are the DC's N replicas.
    public func localReplicas(of token: UInt32) -> [NodePosition] {
        let dc = localDatacenterIndex
        var replicas = [owner(of: token, datacenter: dc, rack: localRackIndex)]
        replicas.reserveCapacity(datacenters[dc].racks.count)
        for rack in datacenters[dc].racks.indices where rack != localRackIndex {
            replicas.append(owner(of: token, datacenter: dc, rack: rack))
        }
        return replicas
    }

    /// The owners of `token` in every rack of `datacenter`, in rack order.
    public func replicas(of token: UInt32, datacenter: Int) -> [NodePosition] {
        datacenters[datacenter].racks.indices.map { owner(of: token, datacenter: datacenter, rack: $0) }
    }

    /// Where a write's copy to another datacenter goes: the owner in the preselected rack
    /// (this node's rack index mod that DC's rack count), then the other racks' owners in order,
    /// each tried when the one before could not take it.
    public func remoteCandidates(of token: UInt32, datacenter: Int) -> [NodePosition] {
        let count = datacenters[datacenter].racks.count
        let preferred = localRackIndex % count
        return (0..<count).map { owner(of: token, datacenter: datacenter, rack: (preferred + $0) % count) }
    }

    /// Where a multi-key request splits: the keys' tokens grouped by their owners in every rack of
    /// every DC (keys with the same owners everywhere travel together), as each group's first
    /// token and the positions of its keys, groups in first-seen order.
    public func ownerGroups(_ tokens: some Sequence<UInt32>) -> [(token: UInt32, positions: [Int])] {
        var groupOf: [[NodePosition]: Int] = [:]
        var groups: [(token: UInt32, positions: [Int])] = []
        for (position, token) in tokens.enumerated() {
            var owners: [NodePosition] = []
            for dc in datacenters.indices {
                for rack in datacenters[dc].racks.indices { owners.append(owner(of: token, datacenter: dc, rack: rack)) }
            }
            if let existing = groupOf[owners] {
                groups[existing].positions.append(position)
            } else {
                groupOf[owners] = groups.count
                groups.append((token, [position]))
            }
        }
        return groups
    }

    /// Where a request for `token` goes: the owner in every local rack (the coordinator's own
    /// rack first), and for every remote DC its owners in preference order.
    public func replicaPlan(for token: UInt32) -> ReplicaPlan {
        var remote: [ReplicaPlan.RemoteTarget] = []
        for dc in datacenters.indices where dc != localDatacenterIndex {
            remote.append(.init(datacenter: dc, candidates: remoteCandidates(of: token, datacenter: dc)))
        }
        return ReplicaPlan(token: token, local: localReplicas(of: token), remote: remote)
    }
}

/// Where one node sits: its datacenter's and rack's indexes in the topology, and its index
/// in the rack's token order.
public struct NodePosition: Hashable, Sendable, CustomStringConvertible {
    public let datacenter: Int
    public let rack: Int
    public let index: Int

    @inlinable
    public init(datacenter: Int, rack: Int, index: Int) {
        self.datacenter = datacenter
        self.rack = rack
        self.index = index
    }

    public var description: String { "dc\(datacenter).rack\(rack).n\(index)" }
}

/// The replicas a request for one token goes to.
public struct ReplicaPlan: Sendable, Equatable {
    public struct RemoteTarget: Sendable, Equatable {
        /// The remote datacenter's index in the topology.
        public let datacenter: Int
        /// The preselected rack's owner first, then the other racks' owners for failover.
        public let candidates: [NodePosition]
    }

    public let token: UInt32
    /// One owner per local rack; `local[0]` is in the coordinator's rack.
    public let local: [NodePosition]
    public let remote: [RemoteTarget]

    /// ⌊N/2⌋+1 of the N local racks.
    public var quorum: Int { local.count / 2 + 1 }
}
