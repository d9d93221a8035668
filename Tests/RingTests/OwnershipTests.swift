import Testing
import PropertyBased
@testable import Ring

@Suite struct OwnershipTests {
    static func rack(_ tokens: [UInt32], name: String = "r1") throws -> RackRing {
        try RackRing(name: name, nodes: tokens.enumerated().map {
            Node(host: "10.0.0.\($0.offset + 1)", port: 8101, rack: name, datacenter: "dc1", token: $0.element)
        })
    }

    /// The example table from the DynomiteDB documentation: three nodes, tokens 0, 1431655765
    /// and 2863311530, each owning from its token up to the next one − 1.
    @Test func documentationTable() throws {
        let ring = try Self.rack([0, 1_431_655_765, 2_863_311_530])
        #expect(ring.owner(of: 2_863_311_520, rule: .rangeStart).token == 1_431_655_765)
        #expect(ring.owner(of: 4_294_967_295, rule: .rangeStart).token == 2_863_311_530)
        #expect(ring.owner(of: 0, rule: .rangeStart).token == 0)
        #expect(ring.owner(of: 1_431_655_764, rule: .rangeStart).token == 0)
        #expect(ring.owner(of: 1_431_655_765, rule: .rangeStart).token == 1_431_655_765)
        #expect(ring.owner(of: 2_863_311_530, rule: .rangeStart).token == 2_863_311_530)
    }

    @Test func rangeStartWrapsBelowTheSmallestToken() throws {
        let ring = try Self.rack([100, 200, 300])
        #expect(ring.owner(of: 0, rule: .rangeStart).token == 300)
        #expect(ring.owner(of: 99, rule: .rangeStart).token == 300)
        #expect(ring.owner(of: 100, rule: .rangeStart).token == 100)
        #expect(ring.owner(of: UInt32.max, rule: .rangeStart).token == 300)
        #expect(ring.ranges(ownedBy: 2, rule: .rangeStart) == [300...UInt32.max, 0...99])
    }

    /// C Dynomite's code: the first node whose token is >= the key's; above the largest, or at
    /// or below the smallest, the smallest.
    @Test func rangeEndIsCDynomitesPlacement() throws {
        let ring = try Self.rack([0, 1_431_655_765, 2_863_311_530])
        #expect(ring.owner(of: 2_863_311_520, rule: .rangeEnd).token == 2_863_311_530)
        #expect(ring.owner(of: 1_431_655_765, rule: .rangeEnd).token == 1_431_655_765)
        #expect(ring.owner(of: 1_431_655_766, rule: .rangeEnd).token == 2_863_311_530)
        #expect(ring.owner(of: 4_294_967_295, rule: .rangeEnd).token == 0)
        #expect(ring.owner(of: 0, rule: .rangeEnd).token == 0)
        let other = try Self.rack([100, 200])
        #expect(other.owner(of: 50, rule: .rangeEnd).token == 100)
        #expect(other.owner(of: 201, rule: .rangeEnd).token == 100)
        #expect(other.ranges(ownedBy: 0, rule: .rangeEnd) == [0...100, 201...UInt32.max])
    }

    @Test func oneNodeOwnsEverything() throws {
        let ring = try Self.rack([101_134_286])
        for t: UInt32 in [0, 5, 101_134_286, UInt32.max] {
            #expect(ring.owner(of: t, rule: .rangeStart).token == 101_134_286)
            #expect(ring.owner(of: t, rule: .rangeEnd).token == 101_134_286)
        }
    }

    @Test func duplicateTokensInARackAreRefused() {
        #expect(throws: RackRing.Error.self) { try Self.rack([7, 7]) }
    }

    /// Every token has exactly one owner per rack, and that owner's ranges contain the token:
    /// the ranges of a rack's nodes partition the whole token space, under either rule.
    @Test func everyTokenHasExactlyOneOwner() async throws {
        let tokenSets = Gen.uint32().array(of: 1...12)
        await propertyCheck(count: 300, input: tokenSets, Gen.uint32()) { raw, probe in
            let tokens = Array(Set(raw))
            guard let ring = try? Self.rack(tokens) else { Issue.record("rack refused"); return }
            for rule in TokenOwnership.allCases {
                let owner = ring.ownerIndex(of: probe, rule: rule)
                var containing = 0
                var covered: UInt64 = 0
                for i in ring.nodes.indices {
                    let ranges = ring.ranges(ownedBy: i, rule: rule)
                    for r in ranges { covered += UInt64(r.upperBound) - UInt64(r.lowerBound) + 1 }
                    if ranges.contains(where: { $0.contains(probe) }) {
                        containing += 1
                        #expect(i == owner)
                    }
                }
                #expect(containing == 1)
                #expect(covered == 1 << 32)
            }
        }
    }
}
