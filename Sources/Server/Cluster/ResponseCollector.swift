import Engines
import NIOCore
import Protocol

/// A reply that may be ready before anyone waits for it: the coordinator returns it at once
/// when every answer it needed came back synchronously (local storage), and otherwise hands
/// it to the waiting receiver when it is decided.
class PendingReply: ReplyReceiver {
    private var result: ByteBuffer?
    private var target: (receiver: any ReplyReceiver, sequence: Int)?
    private(set) var isDecided = false

    /// Sets the reply (once; later calls are ignored: late answers are swallowed).
    final func decide(_ bytes: ByteBuffer) {
        guard !isDecided else { return }
        isDecided = true
        if let target {
            self.target = nil
            target.receiver.receive(.success(bytes), for: target.sequence)
        } else {
            result = bytes
        }
    }

    /// The reply if already decided; otherwise it will go to `receiver` as `sequence`.
    final func attach(_ receiver: any ReplyReceiver, sequence: Int) -> ByteBuffer? {
        if let result {
            self.result = nil
            return result
        }
        target = (receiver, sequence)
        return nil
    }

    func receive(_ reply: Result<ByteBuffer, EngineError>, for sequence: Int) {}

    /// An error reply's bytes, in the client's protocol.
    static func errorBytes(_ message: String) -> ByteBuffer {
        var out = ByteBuffer()
        out.reserveCapacity(message.utf8.count + 3)
        out.writeInteger(UInt8(ascii: "-"))
        out.writeString(message)
        out.writeStaticString("\r\n")
        return out
    }
}

/// The answers of one request's replicas, reduced to one reply by the consistency level.
///
/// Targets are grouped by datacenter; each group must reach its own decision (only
/// `DC_EACH_SAFE_QUORUM` has more than one waited-on group), and the reply is the first
/// group's. Answers are compared by content, byte for byte.
final class ResponseCollector: PendingReply {
    enum Rule {
        /// DC_ONE: the first target's answer; when it fails, the next target's, in order.
        case preferred
        /// ⌊N/2⌋+1 answers of the group; `safe` requires that many identical answers.
        case quorum(safe: Bool)
    }

    private enum Answer {
        case pending
        /// Not sent yet: a DC_ONE read's failover target, sent when the ones before it fail.
        case unsent
        case answered(ByteBuffer, order: Int)
        case failed(String)
    }

    private let rule: Rule
    /// Group boundaries: `groups[g]` is a range of target indexes.
    private let groups: [Range<Int>]
    private var answers: [Answer]
    private var arrivals = 0
    /// Sends target `index` later (DC_ONE failover); nil when every target was sent at once.
    var sendLater: ((Int) -> Void)?

    init(rule: Rule, groups: [Range<Int>], lazy: Bool = false) {
        self.rule = rule
        self.groups = groups
        let count = groups.last?.upperBound ?? 0
        answers = Array(repeating: .pending, count: count)
        if lazy { for i in 1..<max(count, 1) { answers[i] = .unsent } }
    }

    override func receive(_ reply: Result<ByteBuffer, EngineError>, for index: Int) {
        guard !isDecided, index < answers.count else { return }
        switch reply {
        case .success(let bytes) where EngineError.isUnavailability(bytes):
            answers[index] = .failed(EngineError.message(ofUnavailability: bytes))
        case .success(let bytes):
            answers[index] = .answered(bytes, order: arrivals)
            arrivals += 1
        case .failure(let error):
            answers[index] = .failed(error.message)
        }
        evaluate()
    }

    private func evaluate() {
        switch rule {
        case .preferred:
            for i in answers.indices {
                switch answers[i] {
                case .answered(let bytes, _): return decide(bytes)
                case .failed: continue
                case .pending: return
                case .unsent:
                    answers[i] = .pending
                    sendLater?(i)
                    return
                }
            }
            decide(Self.errorBytes(noAnswer(0..<answers.count, needed: 1)))
        case .quorum(let safe):
            var chosen: ByteBuffer?
            for (g, range) in groups.enumerated() {
                switch tally(range, safe: safe) {
                case .waiting: return
                case .failed(let message): return decide(Self.errorBytes(message))
                case .decided(let bytes): if g == 0 { chosen = bytes }
                }
            }
            decide(chosen!)
        }
    }

    private enum Tally {
        case waiting
        case decided(ByteBuffer)
        case failed(String)
    }

    private func tally(_ range: Range<Int>, safe: Bool) -> Tally {
        let needed = range.count / 2 + 1
        var pending = 0
        var successes = 0
        // The most common answer, ties going to the earliest arrival.
        var best: (bytes: ByteBuffer, count: Int, order: Int)?
        for i in range {
            switch answers[i] {
            case .pending, .unsent: pending += 1
            case .failed: break
            case .answered(let bytes, let order):
                successes += 1
                var count = 0
                for j in range {
                    if case .answered(let other, _) = answers[j], other == bytes { count += 1 }
                }
                if best == nil || count > best!.count || (count == best!.count && order < best!.order) {
                    best = (bytes, count, order)
                }
            }
        }
        if let best, best.count >= needed { return .decided(best.bytes) }
        if successes + pending < needed { return .failed(noAnswer(range, needed: needed)) }
        if pending > 0 {
            // A safe quorum that can no longer be reached is decided now.
            if safe, (best?.count ?? 0) + pending < needed { return .failed(Self.quorumMismatch) }
            return .waiting
        }
        // Enough answers, but no quorum of them agree.
        return safe ? .failed(Self.quorumMismatch) : .decided(best!.bytes)
    }

    static let quorumMismatch = "ERR Dynomite: Failed to achieve Quorum"

    /// Too few replicas answered: the first failure's own words, and how short the quorum fell.
    private func noAnswer(_ range: Range<Int>, needed: Int) -> String {
        var first = "ERR Peer: Peer Node is not connected"
        var failed = 0
        for i in range {
            if case .failed(let message) = answers[i] {
                if failed == 0 { first = message }
                failed += 1
            }
        }
        if range.count == 1 { return first }
        return "\(first) (\(range.count - failed) of \(range.count) replicas answered, \(needed) needed)"
    }
}
