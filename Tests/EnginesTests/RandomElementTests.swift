import Foundation
import NIOCore
import TestSupport
import Testing
@testable import Engines

/// HRANDFIELD and ZRANDMEMBER walk the collection to the picked positions: every position,
/// the first and the last included, is reachable and picked about equally often, and the
/// extras (values, scores) belong to the picked element.
@Suite(.timeLimit(.minutes(2)))
struct RandomElementTests {
    @Test(arguments: ["HRANDFIELD", "ZRANDMEMBER"]) func picksSpreadEvenlyAndCarryTheirOwnExtras(command: String) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let engine = try openEngine(directory.path)
        defer { engine.shutdown() }
        let harness = EngineHarness(engine)
        let size = 30
        let names = (0..<size).map { "e\(100 + $0)" }
        let hash = command == "HRANDFIELD"
        // Values (scores) derived from the name, so a pair can be checked on its own.
        func extra(_ name: String) -> String { String(Int(name.dropFirst())! * 3) }
        harness.run(hash ? ["HSET", "c"] + names.flatMap { [$0, extra($0)] } : ["ZADD", "c"] + names.flatMap { [extra($0), $0] })
        var hits: [String: Int] = [:]
        for _ in 0..<(size * 50) { hits[respMembers(harness.run(command, "c"))[0], default: 0] += 1 }
        for name in respMembers(harness.run(command, "c", "-\(size * 50)")) { hits[name, default: 0] += 1 }
        #expect(Set(hits.keys) == Set(names))
        for (name, count) in hits { #expect((40...165).contains(count), "\(name) drawn \(count) times of \(size * 100)") }

        let withExtras = hash ? "WITHVALUES" : "WITHSCORES"
        for count in ["7", "-7", "\(size)", "100", "-100"] {
            let flat = respMembers(harness.run(command, "c", count, withExtras))
            let pairs = stride(from: 0, to: flat.count, by: 2).map { (flat[$0], flat[$0 + 1]) }
            #expect(pairs.count == min(abs(Int(count)!), count.hasPrefix("-") ? Int.max : size), "\(command) c \(count)")
            for (name, value) in pairs { #expect(value == extra(name), "\(command) c \(count): \(name) came with \(value)") }
            if !count.hasPrefix("-") { #expect(Set(pairs.map(\.0)).count == pairs.count, "\(command) c \(count) repeated") }
        }
        #expect(respMembers(harness.run(command, "c", "0")).isEmpty)

        // After pops from both ends (the walk starts at the pop hint): only what is left, all of it.
        guard !hash else { return }
        harness.run("ZPOPMIN", "c", "5")
        harness.run("ZPOPMAX", "c", "5")
        let left = Set(names.dropFirst(5).dropLast(5))
        var seen = Set<String>()
        for _ in 0..<400 { seen.formUnion(respMembers(harness.run(command, "c"))) }
        #expect(seen == left)
        #expect(Set(respMembers(harness.run(command, "c", "\(size)"))) == left)
    }
}
