import Foundation
import NIOCore
import TestSupport
import Testing
@testable import Engines

/// ZRANK and ZREVRANK walk the index from both ends and stop at whichever reaches the member
/// first: every member of a set well past the walks' step sizes (ties, pops and removals
/// included) gets the rank a sorted model gives it.
@Suite(.timeLimit(.minutes(2)))
struct SortedSetRankTests {
    @Test func ranksFromBothEndsMatchAModel() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let engine = try openEngine(directory.path)
        defer { engine.shutdown() }
        let harness = EngineHarness(engine)
        var model: [(score: Int, member: String)] = []
        for i in 0..<300 {
            let entry = (score: i / 3, member: "m\(1000 - i)")  // ties of three, ordered by member
            model.append(entry)
            harness.run("ZADD", "z", "\(entry.score)", entry.member)
        }
        func check(_ when: String) {
            let sorted = model.sorted { ($0.score, $0.member) < ($1.score, $1.member) }
            for (rank, entry) in sorted.enumerated() {
                #expect(harness.run("ZRANK", "z", entry.member) == ":\(rank)\r\n", "\(when): ZRANK \(entry.member)")
                #expect(harness.run("ZREVRANK", "z", entry.member) == ":\(sorted.count - 1 - rank)\r\n",
                        "\(when): ZREVRANK \(entry.member)")
            }
        }
        check("after ZADD")
        harness.run("ZPOPMIN", "z", "10")
        harness.run("ZPOPMAX", "z", "10")
        model.sort { ($0.score, $0.member) < ($1.score, $1.member) }
        model = Array(model.dropFirst(10).dropLast(10))
        for member in model.enumerated().filter({ $0.offset % 7 == 0 }).map(\.element.member) {
            harness.run("ZREM", "z", member)
            model.removeAll { $0.member == member }
        }
        check("after pops and removals")
    }
}
