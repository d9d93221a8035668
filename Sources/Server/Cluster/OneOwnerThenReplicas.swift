import Engines
import NIOCore
import Protocol

/// A write that one replica must perform first, whose outcome the key's other replicas then get
/// as a plain write: SPOP (the others get SREM of what was popped) and memcached `cas` (the others
/// get a `set` of what was stored). The owners are tried in rack order (this node's rack first),
/// the next one when an owner is down or its storage is; the subclass says, from the answering
/// owner's reply, what the others get (`follow`), and the client's reply waits for that write.
class OneOwnerThenReplicas: PendingReply {
    let coordinator: Coordinator
    let token: UInt32
    let context: Coordinator.Context
    private let first: Coordinator.Request
    private let candidates: [Target]
    private var tried = 0
    /// The first owner's failure, as the reply says when none can answer (in ResponseCollector's words).
    private var firstFailure: EngineError?
    private var following = false
    private static let replication = Int.max

    init(coordinator: Coordinator, first: Coordinator.Request, token: UInt32, context: Coordinator.Context) {
        self.coordinator = coordinator
        self.first = first
        self.token = token
        self.context = context
        self.candidates = coordinator.localOwners(token)
    }

    func start() -> PendingReply {
        next()
        return self
    }

    private func next() {
        guard tried < candidates.count else {
            let first = firstFailure ?? EngineError("ERR Peer: Peer Node is not connected", cause: .peer)
            let n = candidates.count
            return decide(.failure(n == 1 ? first : EngineError("\(first.message) (0 of \(n) replicas answered, 1 needed)", cause: first.cause)))
        }
        tried += 1
        coordinator.send(to: candidates[tried - 1], .request, first, context, isWrite: true, receiver: self, index: tried - 1)
    }

    /// The answering owner's reply: nil to answer the client with it as it is, or the write the
    /// other replicas get (with what the answering owner counts as having answered it).
    func follow(_ reply: ByteBuffer) -> (request: Coordinator.Request, answered: ByteBuffer)? { nil }

    /// The client's reply once the follow-up write is decided (`verdict`: its merged answer).
    func replyAfter(_ verdict: Result<ByteBuffer, EngineError>) -> Result<ByteBuffer, EngineError> { verdict }

    override final func receive(_ reply: Result<ByteBuffer, EngineError>, for sequence: Int) {
        if sequence == Self.replication {
            if following { decide(replyAfter(reply)) }
            return
        }
        guard !following, sequence == tried - 1 else { return }
        switch reply {
        case .failure(let error):
            // That owner, its link or its storage is down (e.g. a dead backend): the next one answers.
            firstFailure = firstFailure ?? error
            next()
        case .success(let bytes):
            guard let (request, answered) = follow(bytes) else { return decide(bytes) }
            following = true
            let write = coordinator.replicate(request, isWrite: true, token: token, context, answered: (candidates[tried - 1], answered))
            if let verdict = write.attach(self, sequence: Self.replication) { receive(verdict, for: Self.replication) }
        }
    }
}
