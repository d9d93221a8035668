import Engines
import NIOCore
import TestSupport
import Testing
@testable import Server

/// A peer link's in-flight ring against a dictionary model: random sends, answers in any
/// order (duplicates and unknown ids included), expiries and failures.
struct InFlightRequestsTests {
    final class Sink: ReplyReceiver {
        func receive(_ reply: Result<ByteBuffer, EngineError>, for sequence: Int) {}
    }

    @Test func matchesADictionaryModelUnderRandomTraffic() {
        let sink = Sink()
        let start = NIODeadline.uptimeNanoseconds(1_000)
        for seed in 1...20 {
            var random = SplitMix64(seed: UInt64(seed))
            var ring = InFlightRequests()
            var model: [UInt64: (sequence: Int, deadline: NIODeadline)] = [:]
            var clock = start
            var sequence = 0
            for _ in 0..<3_000 {
                switch random.next() % 10 {
                case 0...3:
                    clock = clock + .nanoseconds(Int64(random.next() % 3))  // deadlines never decrease
                    let id = ring.nextID
                    #expect(ring.add(.init(receiver: sink, sequence: sequence, deadline: clock)) == id)
                    model[id] = (sequence, clock)
                    sequence += 1
                case 4...7:
                    // Mostly recent ids, sometimes ones long gone or never sent.
                    let id = ring.nextID &- 1 &- (random.next() % 40)
                    let taken = ring.take(id)
                    let expected = model.removeValue(forKey: id)
                    #expect(taken?.sequence == expected?.sequence, "seed \(seed), id \(id)")
                case 8:
                    let now = start + .nanoseconds(Int64(random.next() % UInt64(max(1, clock.uptimeNanoseconds - start.uptimeNanoseconds + 1))))
                    let expired = ring.expire(now: now).map(\.sequence)
                    let expected = model.filter { $0.value.deadline <= now }.sorted { $0.key < $1.key }.map(\.value.sequence)
                    // The ring expires from its front only: an entry that would expire behind a
                    // live one cannot exist, since deadlines never decrease with the id.
                    #expect(expired == expected, "seed \(seed)")
                    for (id, entry) in model where entry.deadline <= now { model[id] = nil }
                default:
                    if random.next() % 20 == 0 {
                        let all = ring.removeAll().map(\.sequence)
                        #expect(all == model.sorted { $0.key < $1.key }.map(\.value.sequence), "seed \(seed)")
                        model.removeAll()
                    }
                }
                #expect(ring.count == model.count)
            }
        }
    }

    @Test func idsKeepGrowingAcrossFailures() {
        let sink = Sink()
        var ring = InFlightRequests()
        let deadline = NIODeadline.now()
        let first = ring.add(.init(receiver: sink, sequence: 0, deadline: deadline))
        _ = ring.add(.init(receiver: sink, sequence: 1, deadline: deadline))
        #expect(ring.removeAll().count == 2)
        // A late answer to a failed request finds nothing, and new ids are never reused.
        #expect(ring.take(first) == nil)
        #expect(ring.add(.init(receiver: sink, sequence: 2, deadline: deadline)) == first + 2)
        #expect(ring.span == 1)
    }
}
