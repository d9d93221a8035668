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
        var grouped: [String: [String: [Node]]] = [:]
        for node in [local] + peers {
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
        self.localDatacenterIndex = dcs.firstIndex { $0.name == local.datacenter }!
        self.localRackIndex = dcs[localDatacenterIndex].racks.firstIndex { $0.name == local.rack }!
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

    /// Where a request for `token` goes: the owner in every local rack (the coordinator's own
    /// rack first), and for every remote DC its owners in preference order (the preselected
    /// rack, index local-rack mod rack count, then the others as failover).
    public func replicaPlan(for token: UInt32) -> ReplicaPlan {
        let dc = localDatacenter
        var local: [Node] = [owner(of: token, in: dc.racks[localRackIndex])]
        for (i, rack) in dc.racks.enumerated() where i != localRackIndex {
            local.append(owner(of: token, in: rack))
        }
        var remote: [ReplicaPlan.RemoteTarget] = []
        for (i, other) in datacenters.enumerated() where i != localDatacenterIndex {
            let preferred = localRackIndex % other.racks.count
            var candidates: [Node] = []
            for offset in 0..<other.racks.count {
                candidates.append(owner(of: token, in: other.racks[(preferred + offset) % other.racks.count]))
            }
            remote.append(.init(datacenter: other.name, candidates: candidates))
        }
        return ReplicaPlan(token: token, local: local, remote: remote)
    }
}

/// The replicas a request for one token goes to.
public struct ReplicaPlan: Sendable, Equatable {
    public struct RemoteTarget: Sendable, Equatable {
        public let datacenter: String
        /// The preselected rack's owner first, then the other racks' owners for failover.
        public let candidates: [Node]
    }

    public let token: UInt32
    /// One owner per local rack; `local[0]` is in the coordinator's rack.
    public let local: [Node]
    public let remote: [RemoteTarget]

    /// ⌊N/2⌋+1 of the N local racks.
    public var quorum: Int { local.count / 2 + 1 }
}
