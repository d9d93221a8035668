import Foundation
import PropertyBased
import Testing
@testable import Ring

/// Membership epochs and what a change moves, without sockets.
@Suite struct MembershipTests {
    typealias M = Membership.Member

    static func member(_ port: Int, _ rack: String, _ token: UInt32, dc: String = "dc1") -> M {
        M(host: "127.0.0.1", port: port, rack: rack, datacenter: dc, token: token)
    }

    /// Three racks of one node each (token 0), the cluster `tools/cluster up` starts.
    static let threeRacks = Membership(epoch: 0, members: [member(1, "rack1", 0), member(2, "rack2", 0), member(3, "rack3", 0)])
    static let half: UInt32 = 2_147_483_648

    @Test func aJoinGainsItsRangeFromTheOwnerInItsRackAndFinishesOneEpochLater() throws {
        let joining = Self.member(4, "rack1", Self.half)
        let proposed = try Self.threeRacks.proposing(.init(kind: .join, node: joining))
        #expect(proposed.epoch == 1)
        #expect(proposed.members == Self.threeRacks.members)  // reads stay with the old owners
        #expect(proposed.everyone.count == 4)
        #expect(proposed.gainingNode(ownership: .rangeStart) == joining.name)
        #expect(proposed.gains(of: joining.name, ownership: .rangeStart) == [.init(range: Self.half...UInt32.max, source: "127.0.0.1:1")])
        #expect(proposed.gains(of: "127.0.0.1:1", ownership: .rangeStart).isEmpty)
        let done = proposed.finished()
        #expect(done.epoch == 2 && done.change == nil && done.members.count == 4)
        #expect(Membership.ranges(of: "127.0.0.1:1", among: done.members, ownership: .rangeStart) == [0...(Self.half - 1)])
        #expect(Membership.ranges(of: joining.name, among: done.members, ownership: .rangeStart) == [Self.half...UInt32.max])
    }

    @Test func aLeavingNodesRangeGoesToItsSuccessorFromTheLeavingNode() throws {
        let grown = Membership(epoch: 2, members: Self.threeRacks.members + [Self.member(4, "rack1", Self.half)])
        let leaving = try grown.proposing(.init(kind: .leave, node: Self.member(1, "", 0)))
        #expect(leaving.change?.node.rack == "rack1")  // filled in from the member
        #expect(leaving.gainingNode(ownership: .rangeStart) == "127.0.0.1:4")
        // Under the range-start rule node 4 (token 2^31) takes node 1's tokens below its own.
        #expect(leaving.gains(of: "127.0.0.1:4", ownership: .rangeStart) == [.init(range: 0...(Self.half - 1), source: "127.0.0.1:1")])
        #expect(!leaving.finished().members.contains { $0.name == "127.0.0.1:1" })
    }

    @Test func aReplacementTakesTheDeadNodesTokenAndCopiesFromOtherRacks() throws {
        let replaced = try Self.threeRacks.proposing(.init(kind: .replace, node: Self.member(9, "", 0), replaces: "127.0.0.1:2"))
        #expect(replaced.change?.node.rack == "rack2" && replaced.change?.node.token == 0)
        #expect(replaced.gainingNode(ownership: .rangeStart) == "127.0.0.1:9")
        // The dead node is no source: nil sends the stream to the other racks.
        #expect(replaced.gains(of: "127.0.0.1:9", ownership: .rangeStart) == [.init(range: 0...UInt32.max, source: nil)])
        #expect(replaced.finished().members.map(\.name).sorted() == ["127.0.0.1:1", "127.0.0.1:3", "127.0.0.1:9"])
    }

    @Test func changesThatCannotBeDoneAreRefusedWithTheReason() throws {
        let running = try Self.threeRacks.proposing(.init(kind: .join, node: Self.member(4, "rack1", 7)))
        #expect(throws: Membership.Refusal.changeRunning(epoch: 1, change: running.change!.description)) {
            try running.proposing(.init(kind: .join, node: Self.member(5, "rack2", 7)))
        }
        #expect(throws: Membership.Refusal.unknownRack(datacenter: "dc1", rack: "rack9")) {
            try Self.threeRacks.proposing(.init(kind: .join, node: Self.member(4, "rack9", 7)))
        }
        #expect(throws: Membership.Refusal.tokenTaken(token: 0, by: "127.0.0.1:1")) {
            try Self.threeRacks.proposing(.init(kind: .join, node: Self.member(4, "rack1", 0)))
        }
        #expect(throws: Membership.Refusal.nameTaken("127.0.0.1:2")) {
            try Self.threeRacks.proposing(.init(kind: .join, node: Self.member(2, "rack1", 5)))
        }
        #expect(throws: Membership.Refusal.lastInRack("127.0.0.1:3")) {
            try Self.threeRacks.proposing(.init(kind: .leave, node: Self.member(3, "", 0)))
        }
        #expect(throws: Membership.Refusal.unknownNode("127.0.0.1:8")) {
            try Self.threeRacks.proposing(.init(kind: .leave, node: Self.member(8, "", 0)))
        }
        #expect(Membership.Refusal.lastInRack("n").description.contains("last node of its rack"))
    }

    /// For any join into a rack of random tokens: the joining node gains exactly what it owns
    /// afterwards, every piece comes from the one node that owned it before, and no other node
    /// of any rack gains anything.
    @Test func aJoinMovesExactlyTheJoiningNodesRange() async {
        await propertyCheck(count: 300, input: Gen.int(in: 1...6), Gen.uint32().array(of: 7)) { count, tokens in
            let distinct = Array(Set(tokens))
            guard distinct.count > count else { return }
            let rack = distinct.prefix(count).enumerated().map { Self.member(10 + $0.offset, "r1", $0.element) }
            let other = [Self.member(100, "r2", 0)]
            let base = Membership(epoch: 3, members: rack + other)
            let joining = Self.member(50, "r1", distinct[count])
            let proposed = try! base.proposing(.init(kind: .join, node: joining))
            let gains = proposed.gains(of: joining.name, ownership: .rangeStart)
            let after = Membership.ranges(of: joining.name, among: proposed.after, ownership: .rangeStart)
            #expect(Membership.subtract(after, gains.map(\.range)).isEmpty)
            #expect(Membership.subtract(gains.map(\.range), after).isEmpty)
            for gain in gains {
                let source = Membership.ranges(of: gain.source ?? "", among: base.members, ownership: .rangeStart)
                #expect(Membership.subtract([gain.range], source).isEmpty, "\(gain) not owned by its source before")
            }
            for node in base.members { #expect(proposed.gains(of: node.name, ownership: .rangeStart).isEmpty) }
        }
    }

    @Test func rangeArithmetic() {
        #expect(Membership.subtract([0...100], [10...20]) == [0...9, 21...100])
        #expect(Membership.subtract([0...100], [0...100]).isEmpty)
        #expect(Membership.subtract([5...10], [11...20]) == [5...10])
        #expect(Membership.complement([0...9, 100...UInt32.max]) == [10...99])
        #expect(Membership.complement([]) == [0...UInt32.max])
    }

    @Test func theEpochRoundTripsThroughJSON() throws {
        let proposed = try Self.threeRacks.proposing(.init(kind: .replace, node: Self.member(9, "", 0), replaces: "127.0.0.1:2"))
        let encoded = try JSONEncoder().encode(proposed)
        #expect(try JSONDecoder().decode(Membership.self, from: encoded) == proposed)
    }
}
