import Testing
@testable import Ring

@Suite struct TopologyTests {
    static func node(_ host: String, _ rack: String, _ dc: String, _ token: UInt32) -> Node {
        Node(host: host, port: 8101, rack: rack, datacenter: dc, token: token)
    }

    /// Three racks from a2's point of view: racks 1 and 2 split the ring at 2^31 (a below,
    /// b above), rack 3's one node owns it all.
    static func threeRacks() throws -> Topology {
        let peers = [
            node("a1", "rack1", "dc1", 0), node("b1", "rack1", "dc1", 2_147_483_648),
            node("b2", "rack2", "dc1", 2_147_483_648), node("a3", "rack3", "dc1", 0),
        ]
        return try Topology(local: node("a2", "rack2", "dc1", 0), peers: peers)
    }

    @Test func replicaPlanHasTheOwnerOfEveryLocalRackOwnRackFirst() throws {
        let topology = try Self.threeRacks()
        #expect(topology.localReplicationFactor == 3)
        let plan = topology.replicaPlan(for: 3_000_000_000)
        #expect(plan.local.map { topology.node(at: $0).host } == ["b2", "b1", "a3"])
        #expect(plan.quorum == 2)
        #expect(plan.remote.isEmpty)
        #expect(topology.replicaPlan(for: 5).local.map { topology.node(at: $0).host } == ["a2", "a1", "a3"])
    }

    /// A multi-key request splits by owners in every rack: keys whose owners differ in any rack
    /// are apart (rack3's single node owns them all, racks 1 and 2 split them), groups in
    /// first-seen order, positions in key order.
    @Test func ownerGroupsSplitKeysByTheirOwnersInEveryRack() throws {
        let topology = try Self.threeRacks()
        let groups = topology.ownerGroups([5, 3_000_000_000, 10, 2_147_483_648, 4])
        #expect(groups.map(\.token) == [5, 3_000_000_000])
        #expect(groups.map(\.positions) == [[0, 2, 4], [1, 3]])
        #expect(topology.ownerGroups([7]).map(\.positions) == [[0]])
        #expect(topology.ownerGroups([UInt32]()).isEmpty)
        // One rack of one node: everything together.
        let single = try Topology(local: Self.node("s", "r", "dc", 0), peers: [])
        #expect(single.ownerGroups([1, 4_000_000_000, 9]).map(\.positions) == [[0, 1, 2]])
    }

    /// Remote DCs get one preselected target (local rack index mod their rack count) and the
    /// other racks' owners as failover candidates, in rack-name order.
    @Test func remoteDatacenterTargetsArePreselectedThenFailover() throws {
        let local = Self.node("x", "rack-c", "dc1", 0)
        let peers = [
            Self.node("y", "rack-a", "dc1", 0), Self.node("z", "rack-b", "dc1", 0),
            Self.node("p", "east-1", "dc2", 0), Self.node("q", "east-2", "dc2", 0),
        ]
        let topology = try Topology(local: local, peers: peers)
        #expect(topology.localRackIndex == 2)
        let plan = topology.replicaPlan(for: 42)
        #expect(plan.local.map { topology.node(at: $0).host } == ["x", "y", "z"])
        #expect(plan.remote.count == 1)
        #expect(topology.datacenters[plan.remote[0].datacenter].name == "dc2")
        #expect(plan.remote[0].candidates.map { topology.node(at: $0).host } == ["p", "q"])  // 2 % 2 == 0 → east-1 first
    }

    @Test func quorumIsAMajorityForAnyRackCount() throws {
        for racks in 1...7 {
            let nodes = (0..<racks).map { Self.node("n\($0)", "r\($0)", "dc", 0) }
            let topology = try Topology(local: nodes[0], peers: Array(nodes.dropFirst()))
            #expect(topology.replicaPlan(for: 1).quorum == racks / 2 + 1)
        }
    }
}
