import Engines
import NIOCore
import Protocol
import Ring

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

/// The answers of one request's replicas, reduced to one reply by the consistency level: the
/// channel-facing side of `QuorumStateMachine`. It sorts each answer into a reply or a failure
/// (an `ERR Storage ...` reply from a replica whose storage is down counts as no answer), feeds
/// the machine, and performs its actions.
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

    /// A write's request and targets, when hinted handoff is on: a target that does not
    /// acknowledge it (failure, timeout, storage down), even after the reply was decided, gets
    /// a hint for each of its keys.
    var hinting: (coordinator: Coordinator, request: Coordinator.Request, targets: [NodePosition])?

    override func receive(_ reply: Result<ByteBuffer, EngineError>, for index: Int) {
        let answer: Result<ByteBuffer, QuorumStateMachine<ByteBuffer>.Failure>
        switch reply {
        case .success(let bytes) where EngineError.isUnavailability(bytes):
            answer = .failure(.init(EngineError.message(ofUnavailability: bytes)))
        case .success(let bytes):
            answer = .success(bytes)
        case .failure(let error):
            answer = .failure(.init(error.message))
        }
        if case .failure = answer, let hinting, index < hinting.targets.count {
            hinting.coordinator.missed(hinting.request, target: hinting.coordinator.target(hinting.targets[index]))
        }
        switch machine.receive(answer, from: index) {
        case .wait: break
        case .send(let target): sendLater?(target)
        case .decide(.reply(let bytes)): decide(bytes)
        case .decide(.error(let message)): decide(Self.errorBytes(message))
        }
    }
}
