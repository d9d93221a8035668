import Engines
import NIOCore
import Ring
@testable import Server
import TestSupport
import Testing

/// MGET across owner sets in the seeded simulation: `Topology.ownerGroups` splits the keys, each
/// part runs through the coordinator's own dispatch and quorum machine under faults, and
/// `MergedReply` (the node's own merge) puts the parts' answers back in the client's key order.
/// A failure names its seed; `check(seed:)` replays it alone.
@Suite struct MultiKeySimulationTests {
    typealias Net = SimulatedNetwork
    typealias Level = DynamisConfig.Consistency

    /// Receives nothing: the merged reply is read with `attach` once every part was fed.
    final class Nowhere: ReplyReceiver {
        func receive(_ reply: Result<ByteBuffer, EngineError>, for sequence: Int) {}
    }

    /// One schedule: a few quorum writes, faults, then one MGET of 2–8 keys at a random level.
    /// Returns the violations and whether the read succeeded.
    static func check(seed: UInt64) throws -> (violations: [String], succeeded: Bool, parts: Int) {
        var pick = SplitMix64(seed: seed ^ 0x5EED_0F0F)
        let layouts = ReplicationSimulationTests.layouts
        let layout = layouts[Int(pick.next() % UInt64(layouts.count))]
        let net = try Net(seed: seed, layout: layout)
        var findings = ReplicationSimulationTests.Findings()
        // Tokens from a small pool, so that some keys share their owners and some do not.
        let pool = (0..<4).map { _ in UInt32(truncatingIfNeeded: net.random.next()) }
        let keyCount = Int(net.random.next() % 7) + 2
        let tokens = (0..<keyCount).map { _ in pool[Int(net.random.next() % 4)] }
        let context = "seed \(seed) layout \(layout) tokens \(tokens)"
        for key in 0..<keyCount where net.random.chance(70) {
            _ = ReplicationSimulationTests.run(.write(key: key, value: 100 + key), level: .dcQuorum, token: tokens[key], on: net,
                                               context: context, &findings)
        }
        let others = net.nodes.keys.filter { $0 != net.localPosition }.sorted { $0.description < $1.description }
        if !others.isEmpty, net.random.chance(50) {
            let victim = others[Int(net.random.next() % UInt64(others.count))]
            switch net.random.next() % 3 {
            case 0: net.nodes[victim]!.up = false
            case 1: net.nodes[victim]!.reachable = false
            default: net.nodes[victim]!.lossPercent = 50
            }
        }
        var violations = findings.violations

        // The split: a partition of the key positions, each group's keys on the same owners in
        // every rack of every DC, no two groups on the same owners.
        let groups = net.topology.ownerGroups(tokens)
        func owners(_ token: UInt32) -> [NodePosition] {
            net.topology.datacenters.indices.flatMap { dc in
                net.topology.datacenters[dc].racks.indices.map { net.topology.owner(of: token, datacenter: dc, rack: $0) }
            }
        }
        if groups.flatMap(\.positions).sorted() != Array(0..<keyCount) { violations.append("\(context): groups \(groups) are not a partition") }
        for group in groups where !group.positions.allSatisfy({ owners(tokens[$0]) == owners(group.token) }) {
            violations.append("\(context): group \(group.positions) mixes owners")
        }
        if Set(groups.map { owners($0.token) }).count != groups.count { violations.append("\(context): two groups share owners") }

        // Each part at the client's level; the parts' replies merged by the node's own code.
        let level = Level.allCases[Int(net.random.next() % UInt64(Level.allCases.count))]
        let merged = MergedReply(shape: .elements(positions: groups.map(\.positions), total: keyCount), parts: groups.count)
        var partReplies: [Result<ByteBuffer, EngineError>] = []
        var values = [Int?](repeating: nil, count: keyCount)
        for (g, group) in groups.enumerated() {
            let outcome = ReplicationSimulationTests.run(.readMany(keys: group.positions), level: level, token: group.token, on: net,
                                                         context: "\(context) \(level) part \(g)", readRepair: false, &findings)
            var bytes = ByteBuffer()
            let part: Result<ByteBuffer, EngineError>
            switch outcome {
            case .reply(.values(let answer))? where answer.count == group.positions.count:
                bytes.writeString("*\(answer.count)\r\n")
                for (i, value) in answer.enumerated() {
                    values[group.positions[i]] = value
                    if let value { bytes.writeString("$\(String(value).utf8.count)\r\n\(value)\r\n") } else { bytes.writeString("$-1\r\n") }
                }
                part = .success(bytes)
            case .error(let failure)?:
                part = .failure(failure)
            default:
                violations.append("\(context): part \(g) answered \(String(describing: outcome))")
                return (violations + findings.violations, false, groups.count)
            }
            partReplies.append(part)
            merged.receive(part, for: g)
        }
        violations += findings.violations
        guard let outcome = merged.attach(Nowhere(), sequence: 0) else {
            return (violations + ["\(context): the merged reply was not decided after every part answered"], false, groups.count)
        }
        // Any failed part fails the read with the first failed part's failure; otherwise one
        // element per key, in the client's order, each the value its part answered.
        if let failed = partReplies.first(where: { if case .failure = $0 { true } else { false } }) {
            if outcome != failed { violations.append("\(context): a failed part gave \(outcome)") }
            return (violations, false, groups.count)
        }
        guard case .success(let reply) = outcome else {
            return (violations + ["\(context): no part failed, yet the merge failed: \(outcome)"], false, groups.count)
        }
        var expected = "*\(keyCount)\r\n"
        for value in values { expected += value.map { "$\(String($0).utf8.count)\r\n\($0)\r\n" } ?? "$-1\r\n" }
        if String(buffer: reply) != expected {
            violations.append("\(context): merged \(String(buffer: reply).debugDescription), expected \(expected.debugDescription)")
        }
        return (violations, true, groups.count)
    }

    @Test func multiKeyReadsSplitByOwnersAndMergeInKeyOrder() throws {
        var violations: [String] = []
        var succeeded = 0, failed = 0, split = 0
        for seed in UInt64(1)...1_500 where violations.count < 10 {
            let result = try Self.check(seed: seed)
            violations += result.violations
            if result.succeeded { succeeded += 1 } else { failed += 1 }
            if result.parts > 1 { split += 1 }
        }
        #expect(violations.isEmpty, "\(violations.prefix(10).joined(separator: "\n"))")
        // The schedules exercise what they claim: reads split over several owner sets, some
        // failing under the faults, most answering.
        #expect(split > 300 && failed > 0 && succeeded > failed, "split \(split), succeeded \(succeeded), failed \(failed)")
    }
}
