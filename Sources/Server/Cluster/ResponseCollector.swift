import Engines
import NIOCore
import Protocol
import Ring

/// A reply that may be ready before anyone waits for it: the coordinator returns it at once
/// when every answer it needed came back synchronously (local storage), and otherwise hands
/// it to the waiting receiver when it is decided.
class PendingReply: ReplyReceiver {
    private var result: Result<ByteBuffer, EngineError>?
    private var target: (receiver: any ReplyReceiver, sequence: Int)?
    private(set) var isDecided = false

    /// Sets the reply (once; later calls are ignored: late answers are swallowed).
    final func decide(_ bytes: ByteBuffer) { decide(.success(bytes)) }

    /// Sets the outcome: the reply, or the failure (too few replicas answered, a part's storage
    /// failed) that the client's connection words in its protocol and counts by its cause.
    final func decide(_ outcome: Result<ByteBuffer, EngineError>) {
        guard !isDecided else { return }
        isDecided = true
        if let target {
            self.target = nil
            target.receiver.receive(outcome, for: target.sequence)
        } else {
            result = outcome
        }
    }

    /// The outcome if already decided; otherwise it will go to `receiver` as `sequence`.
    final func attach(_ receiver: any ReplyReceiver, sequence: Int) -> Result<ByteBuffer, EngineError>? {
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

/// The answers of one request's replicas, reduced to one reply by the consistency level: the
/// channel-facing side of `QuorumStateMachine`. It feeds the machine each answer or failure (a
/// replica whose storage is down reports a failure, never an answer) and performs its actions.
final class ResponseCollector: PendingReply {
    private var machine: QuorumStateMachine<ByteBuffer>
    /// Sends target `index` later (DC_ONE failover); nil when every target was sent at once.
    var sendLater: ((Int) -> Void)?

    init(rule: QuorumRule, groups: [Range<Int>], lazy: Bool = false) {
        machine = QuorumStateMachine(rule: rule, groups: groups, lazy: lazy)
    }

    init(_ dispatch: ReplicaDispatch) {
        machine = dispatch.machine()
    }

    /// What the collector does besides reducing answers to a reply.
    enum Duty {
        /// A write with hinted handoff on: a target that does not acknowledge it (failure,
        /// timeout, storage down), even after the reply was decided, gets a hint per key.
        case hintMisses
        /// A single-key quorum read with read repair on: replicas that answer differently are
        /// repaired, and the reply is the newest state's (see `ReadRepair`).
        case repairReads(key: ByteBuffer)
        /// The same on a backend engine, which keeps no versions: the reply stays the quorum's
        /// (the most common answer), and the replicas that answered otherwise get that
        /// answer's replica's state (DUMP + PEXPIRETIME → RESTORE … REPLACE ABSTTL, or DEL).
        case repairByMajority(key: ByteBuffer)
        /// A multi-key quorum read (one owner set's part of MGET or EXISTS) with read repair on:
        /// when replicas disagree, each key is read again on its own with its own repair
        /// (`Coordinator.rereadEachKey`), merged element-wise or summed.
        case repairEachKey(elementwise: Bool)
    }

    /// The request behind the answers, for `duty` (nil: no duty, nothing kept).
    var origin: (coordinator: Coordinator, request: Coordinator.Request, targets: [NodePosition],
                 context: Coordinator.Context, duty: Duty)? {
        didSet {
            // Flags read on every answer, so an answer never copies the whole origin.
            switch origin?.duty {
            case .hintMisses?: hintsMisses = true
            case .repairReads?, .repairEachKey?: repairsReads = true
            case .repairByMajority?: repairsByMajority = true
            case nil: break
            }
            targetCount = origin?.targets.count ?? 0
        }
    }
    private var hintsMisses = false
    private var repairsReads = false
    private var repairsByMajority = false
    /// Each target's answer, kept once a backend engine's replicas disagree (nil until then).
    private var answers: [ByteBuffer?]?
    /// The quorum's reply once decided (backend engines' repair source).
    private var majority: ByteBuffer?
    private var targetCount = 0
    /// Targets that answered (bit i: target i), for read repair.
    private var answeredMask: UInt64 = 0
    private var firstAnswer: ByteBuffer?
    private var disagreed = false
    private var repairing = false

    override func receive(_ reply: Result<ByteBuffer, EngineError>, for index: Int) {
        let answer = reply
        if index < targetCount {
            switch answer {
            case .failure where hintsMisses:
                let origin = origin!
                origin.coordinator.missed(origin.request, target: origin.coordinator.target(origin.targets[index]))
            case .success(let bytes) where repairsReads:
                if index < 64 { answeredMask |= 1 << UInt64(index) }
                if let firstAnswer { disagreed = disagreed || firstAnswer != bytes } else { firstAnswer = bytes }
                // A replica that disagrees after the reply was decided is repaired in the background.
                if disagreed, isDecided { repair(fallback: nil) }
            case .success(let bytes) where repairsByMajority:
                noteForMajority(bytes, from: index)
            default: break
            }
        }
        switch machine.receive(answer, from: index) {
        case .wait: break
        case .send(let target): sendLater?(target)
        case .decide(.reply(let bytes)):
            // Replicas disagreed: the newest state answers, not the majority.
            if disagreed, repair(fallback: bytes) { return }
            decide(bytes)
            if repairsByMajority {
                majority = bytes
                copyMajority()
            }
        case .decide(.error(let failure)):
            // A safe quorum still reports the mismatch (as Dynomite does); the repair makes the retry succeed.
            if disagreed { repair(fallback: nil) }
            decide(.failure(failure))
        }
    }

    /// A backend engine's answer: kept per target once two differ; one that differs from the
    /// decided reply, even after the decision, gets the majority's state.
    private func noteForMajority(_ bytes: ByteBuffer, from index: Int) {
        if answers == nil {
            guard let firstAnswer else {
                firstAnswer = bytes
                if index < 64 { answeredMask |= 1 << UInt64(index) }
                return
            }
            if index < 64 { answeredMask |= 1 << UInt64(index) }
            guard firstAnswer != bytes else { return }
            var all = [ByteBuffer?](repeating: nil, count: targetCount)
            for i in 0..<min(targetCount, 64) where answeredMask & (1 << UInt64(i)) != 0 { all[i] = firstAnswer }
            answers = all
        }
        answers![index] = bytes
        if majority != nil { copyMajority() }
    }

    /// Sends the majority's state to every replica that answered otherwise and was not sent it yet.
    private func copyMajority() {
        guard let majority, var all = answers, let origin, case .repairByMajority(let key) = origin.duty,
              let source = all.firstIndex(where: { $0 == majority }) else { return }
        var stale: [Target] = []
        for i in all.indices where all[i] != nil && all[i] != majority {
            stale.append(origin.coordinator.target(origin.targets[i]))
            all[i] = majority  // sent once
        }
        answers = all
        guard !stale.isEmpty else { return }
        StateCopy(coordinator: origin.coordinator, key: key, from: origin.coordinator.target(origin.targets[source]), to: stale).start()
    }

    /// The reply when replicas disagreed and one whose answer counted could not be asked for its
    /// state, or the winner could not be asked again: no answer rather than a possibly older one.
    static let undetermined = EngineError("ERR Dynomite: replicas disagree and one of them could not be asked for its version; retry",
                                          cause: .peer)

    /// Starts the read repair once. With `fallback` the reply waits for it: the winner's node is
    /// asked the request again and its answer decides (`fallback` when no replica stores the
    /// key). Returns whether the reply now waits.
    @discardableResult
    private func repair(fallback: ByteBuffer?) -> Bool {
        guard !repairing, let origin else { return false }
        if case .repairEachKey(let elementwise) = origin.duty {
            repairing = true
            let reread = origin.coordinator.rereadEachKey(origin.request, origin.context, elementwise: elementwise)
            // Without a reply to wait for, the per-key reads repair on their own.
            guard fallback != nil else { return false }
            if let outcome = reread.attach(RereadReceiver(into: self), sequence: 0) { decide(outcome) }
            return true
        }
        guard case .repairReads(let key) = origin.duty else { return false }
        repairing = true
        let coordinator = origin.coordinator
        let targets = origin.targets.map(coordinator.target)
        guard let fallback else {
            ReadRepair(coordinator: coordinator, key: key, targets: targets, then: nil).start()
            return false
        }
        ReadRepair(coordinator: coordinator, key: key, targets: targets, answered: answeredMask) { [self] outcome in
            let winner: Target
            switch outcome {
            case .winner(let target): winner = target
            case .nothing: return decide(fallback)
            case .undetermined: return decide(.failure(Self.undetermined))
            }
            coordinator.send(to: winner, .request, origin.request, origin.context, isWrite: false, receiver: RereadReceiver(into: self), index: 0)
        }.start()
        return true
    }
}

/// Delivers the winner's re-read answer to the collector that waits for it. If the winner
/// cannot answer now, nothing else is known to be as new: the read fails (see `undetermined`).
private final class RereadReceiver: ReplyReceiver {
    let collector: ResponseCollector

    init(into collector: ResponseCollector) { self.collector = collector }

    func receive(_ reply: Result<ByteBuffer, EngineError>, for sequence: Int) {
        switch reply {
        case .success(let bytes): collector.decide(bytes)
        case .failure: collector.decide(.failure(ResponseCollector.undetermined))
        }
    }
}
