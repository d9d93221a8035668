import Protocol
import Ring
import Testing
@testable import Server

/// Anti-entropy's planning without sockets: which ranges a node compares with whom, how a range
/// is cut into digest requests, and which way each differing key moves.
@Suite struct RepairPlanningTests {
    func node(_ port: Int, _ rack: String, _ token: UInt32, dc: String = "dc1") -> Node {
        Node(host: "127.0.0.1", port: port, rack: rack, datacenter: dc, token: token)
    }

    @Test func threeRacksOfOneCompareTheWholeSpaceWithEachOtherRack() throws {
        let topology = try Topology(local: node(1, "r1", 0), peers: [node(2, "r2", 0), node(3, "r3", 0)])
        let tasks = RepairPlanning.tasks(topology)
        #expect(tasks == [.init(peer: "127.0.0.1:2", range: 0...UInt32.max), .init(peer: "127.0.0.1:3", range: 0...UInt32.max)])
    }

    /// A rack of one against a rack of two and a remote DC's rack of four: each intersection of
    /// owned ranges is one task, and together they cover each other rack's copy exactly once.
    @Test func racksOfDifferentSizesCompareRangeIntersections() throws {
        let half: UInt32 = 1 << 31, quarter: UInt32 = 1 << 30
        let topology = try Topology(local: node(1, "r1", 0), peers: [
            node(2, "r2", 0), node(3, "r2", half),
            node(4, "r9", 0, dc: "dc2"), node(5, "r9", quarter, dc: "dc2"), node(6, "r9", half, dc: "dc2"), node(7, "r9", half + quarter, dc: "dc2"),
        ])
        let tasks = RepairPlanning.tasks(topology)
        #expect(tasks.filter { $0.peer == "127.0.0.1:2" }.map(\.range) == [0...(half - 1)])
        #expect(tasks.filter { $0.peer == "127.0.0.1:3" }.map(\.range) == [half...UInt32.max])
        #expect(tasks.filter { ["127.0.0.1:4", "127.0.0.1:5", "127.0.0.1:6", "127.0.0.1:7"].contains($0.peer) }.count == 4)
        for rack in [["127.0.0.1:2", "127.0.0.1:3"], ["127.0.0.1:4", "127.0.0.1:5", "127.0.0.1:6", "127.0.0.1:7"]] {
            let covered = tasks.filter { rack.contains($0.peer) }.reduce(UInt64(0)) { $0 + UInt64($1.range.count) }
            #expect(covered == 1 << 32)
        }
        // A requested range limits every task.
        let limited = RepairPlanning.tasks(topology, within: (half - 10)...(half + 10))
        #expect(limited.contains(.init(peer: "127.0.0.1:2", range: (half - 10)...(half - 1))))
        #expect(limited.contains(.init(peer: "127.0.0.1:3", range: half...(half + 10))))
        // A rack member compares with the other racks only, never with its own rack.
        let second = try Topology(local: node(3, "r2", half), peers: [node(1, "r1", 0), node(2, "r2", 0)])
        #expect(RepairPlanning.tasks(second) == [.init(peer: "127.0.0.1:1", range: half...UInt32.max)])
    }

    @Test func digestChunksCoverARangeInWholeSegments() {
        for range in [UInt32(0)...UInt32.max, 12345...99_999_999, 7...7, (UInt32.max - 5)...UInt32.max] {
            let chunks = RepairPlanning.digestChunks(range, segments: 1024)
            #expect(chunks.first?.lowerBound == range.lowerBound)
            #expect(chunks.last?.upperBound == range.upperBound)
            for (a, b) in zip(chunks, chunks.dropFirst()) { #expect(a.upperBound &+ 1 == b.lowerBound) }
            for chunk in chunks { #expect(TokenSegments.of(chunk.upperBound) - TokenSegments.of(chunk.lowerBound) < 1024) }
        }
        #expect(RepairPlanning.digestChunks(0...UInt32.max, segments: 1024).count == 16)
    }

    @Test func differingSegmentsAndTransfersBothWays() {
        let chunk = TokenSegments.tokens(of: 4).lowerBound...TokenSegments.tokens(of: 6).upperBound
        var local = [UInt8](repeating: 0, count: 24), remote = local
        remote[8 + 7] = 1  // segment 5 differs
        #expect(RepairPlanning.differingBuckets(chunk, local: local, remote: remote) == [TokenSegments.tokens(of: 5)])
        #expect(RepairPlanning.differingBuckets(chunk, local: local, remote: remote + [0]) == nil)
        // Refined: segment 5's 64 buckets of 20 bits, bucket 3 differing.
        let segment = TokenSegments.tokens(of: 5)
        var fine = [UInt8](repeating: 0, count: 64 * 8), other = fine
        other[3 * 8] = 1
        #expect(RepairPlanning.differingBuckets(segment, bits: 20, local: fine, remote: other)
                == [TokenSegments.tokens(ofBucket: 5 * 64 + 3, bits: 20)])
        fine[63 * 8 + 7] = 2
        #expect(RepairPlanning.differingBuckets(segment, bits: 20, local: fine, remote: other)?.last?.upperBound == segment.upperBound)
        local[0] = 9
        #expect(RepairPlanning.differingBuckets(chunk, local: local, remote: remote)?.count == 2)

        let a = Array("a".utf8), b = Array("b".utf8), c = Array("c".utf8), d = Array("d".utf8)
        let (pull, push) = RepairPlanning.transfers(local: [a: 5, b: 9, c: 3], remote: [a: 5, b: 7, c: 4, d: 1])
        #expect(pull == [c, d])
        #expect(push == [b])
    }

    /// The pacer holds transfers to its rate over a simulated 10 s of random sizes, never
    /// stops them for good, and spreads them: no 10 ms holds more than a burst plus one transfer.
    @Test func thePacerHoldsTransfersToItsRateInSmallSteps() {
        var generator = SystemRandomNumberGenerator()
        for rate in [1024, 100_000, 16_777_216] {
            var pacer = TransferPacer(rate: rate, now: 0)
            var now: Int64 = 0
            var moved = 0
            var perWindow: [Int64: Int] = [:]
            var inFlight: [Int] = []
            while now < 10_000 {
                pacer.refill(now: now)
                while inFlight.count < 16, pacer.start() {
                    let size = Int.random(in: 50...400, using: &generator)
                    inFlight.append(size)
                    perWindow[now / 10, default: 0] += size
                }
                // Each transfer ends a millisecond after it started.
                for size in inFlight { pacer.finished(bytes: size); moved += size }
                inFlight = []
                now += max(1, pacer.delay)
            }
            let expected = Double(rate) * 10
            #expect(Double(moved) <= expected + pacer.burst + 16 * 400, "rate \(rate): moved \(moved)")
            #expect(Double(moved) >= min(expected, Double(16 * 50 * 10_000)) * 0.8, "rate \(rate): moved only \(moved)")
            #expect(perWindow.values.max().map { Double($0) <= pacer.burst + 16 * 400 + Double(rate) / 100 } ?? false)
        }
    }

    /// The Redis engine's pieces: this node's ranges cut wherever another rack's owner changes,
    /// each with its copies; and the majority rule that decides which copy wins.
    @Test func backendRepairComparesEveryCopyOfAPieceAndTrustsOnlyAMajority() throws {
        let half: UInt32 = 1 << 31
        let topology = try Topology(local: node(1, "r1", 0), peers: [node(2, "r2", 0), node(3, "r2", half), node(4, "r3", 0)])
        let pieces = RepairPlanning.pieces(topology)
        #expect(pieces == [.init(range: 0...(half - 1), replicas: ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:4"]),
                           .init(range: half...UInt32.max, replicas: ["127.0.0.1:1", "127.0.0.1:3", "127.0.0.1:4"])])
        #expect(RepairPlanning.pieces(topology, within: 10...20) == [.init(range: 10...20, replicas: ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:4"])])
        // All agree: nothing to do. A majority: the others are overwritten (a missing key too).
        #expect(RepairPlanning.majority(["a", "a", "a"])! == nil)
        #expect(RepairPlanning.majority(["a", "b", "a"])!! == ([0, 2], [1]))
        #expect(RepairPlanning.majority([nil, nil, "x"])!! == ([0, 1], [2]))
        // No majority: left alone.
        #expect(RepairPlanning.majority(["a", "b"]) == nil)
        #expect(RepairPlanning.majority(["a", "b", nil]) == nil)
    }
}
