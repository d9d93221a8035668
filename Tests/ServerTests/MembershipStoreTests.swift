import Foundation
import Logging
import Ring
import Testing
@testable import Server

/// The membership store without sockets: epochs kept on disk, only newer ones taken, and two
/// changes proposed at once on two nodes settled the same way on both.
@Suite struct MembershipStoreTests {
    static func store(_ port: Int, rack: String, file: String? = nil) throws -> (MembershipStore, Membership) {
        var config = DynamisConfig()
        config.dynListen = .init(host: "127.0.0.1", port: port)
        config.rack = rack
        config.datacenter = "dc1"
        config.dynSeeds = [(1, "rack1"), (2, "rack2"), (3, "rack3")].map {
            DynamisConfig.Seed(endpoint: .init(host: "127.0.0.1", port: $0.0), rack: $0.1, datacenter: config.datacenter, token: 0)
        }
        let store = MembershipStore(config: config, file: file, logger: Logger(label: "test"))
        let seeds = try #require(try ClusterMap.seedMembership(config: config))
        return (store, try #require(store.load(seeds: seeds)))
    }

    @Test func twoChangesProposedAtOnceSettleOnTheSameOneEverywhere() throws {
        let (a, _) = try Self.store(1, rack: "rack1")
        let (b, _) = try Self.store(2, rack: "rack2")
        let joinA = try a.propose(.init(kind: .join, node: .init(host: "127.0.0.1", port: 10, rack: "rack1", datacenter: "dc1", token: 5)))
        let joinB = try b.propose(.init(kind: .join, node: .init(host: "127.0.0.1", port: 11, rack: "rack2", datacenter: "dc1", token: 9)))
        #expect(joinA.epoch == 1 && joinB.epoch == 1 && joinA != joinB)
        // Each hears the other's: exactly one of them switches, and both end equal.
        let switchedA = a.offer(joinB, from: "b")
        let switchedB = b.offer(joinA, from: "a")
        #expect(switchedA != switchedB)
        #expect(a.current == b.current)
        // An older or equal epoch is never taken again.
        #expect(!a.offer(try #require(a.current), from: "b"))
        #expect(!a.offer(Membership(epoch: 0, members: []), from: "b"))
    }

    @Test func theEpochIsKeptAcrossARestartAndOutranksTheSeeds() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("topology-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let (first, seeds) = try Self.store(1, rack: "rack1", file: file)
        #expect(seeds.epoch == 0 && seeds.members.count == 3)
        let proposed = try first.propose(.init(kind: .join, node: .init(host: "127.0.0.1", port: 10, rack: "rack1", datacenter: "dc1", token: 5)))
        #expect(proposed.epoch == 1)
        // A second change while the join runs is refused, and nothing changes.
        #expect(throws: MembershipRefusal.self) {
            try first.propose(.init(kind: .leave, node: .init(host: "127.0.0.1", port: 3, rack: "", datacenter: "", token: 0)))
        }
        #expect(first.current == proposed)
        let (_, restarted) = try Self.store(1, rack: "rack1", file: file)
        #expect(restarted == proposed)
    }
}
