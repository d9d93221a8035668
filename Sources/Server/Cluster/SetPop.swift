import Engines
import NIOCore
import Protocol

/// SPOP in a cluster. Were every replica sent SPOP, each would pop members of its own choosing
/// and the racks would diverge for good (Dynomite's behaviour). Here one owner pops (this node's
/// rack's first, the next rack's if it cannot), and the key's other owners, in every DC, are sent
/// SREM of exactly what it popped, with the write consistency: the way Redis replicates SPOP.
/// The popping owner counts as having answered that SREM with the number of members popped.
final class SetPop: PendingReply {
    private static let srem = CommandTable.lookup("SREM")!

    private unowned let coordinator: Coordinator
    private let spec: CommandSpec
    private let args: [ByteBuffer]
    private let token: UInt32
    private let context: Coordinator.Context
    private let candidates: [Int]
    private var tried = 0
    /// The first owner's failure, as the reply says when none can pop (in ResponseCollector's words).
    private var firstFailure: String?
    /// The popping owner's reply, once it has popped something.
    private var popped: ByteBuffer?
    private static let removal = Int.max

    init(coordinator: Coordinator, spec: CommandSpec, args: [ByteBuffer], token: UInt32, context: Coordinator.Context) {
        self.coordinator = coordinator
        self.spec = spec
        self.args = args
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
            let first = firstFailure ?? "ERR Peer: Peer Node is not connected"
            let n = candidates.count
            return decide(Self.errorBytes(n == 1 ? first : "\(first) (0 of \(n) replicas answered, 1 needed)"))
        }
        tried += 1
        coordinator.send(to: candidates[tried - 1], .request, .resp(spec, args), context,
                         isWrite: true, receiver: self, index: tried - 1)
    }

    override func receive(_ reply: Result<ByteBuffer, EngineError>, for sequence: Int) {
        if sequence == Self.removal {
            // The SREM's own verdict (a failed quorum) is the reply; otherwise what was popped.
            guard let popped else { return }
            switch reply {
            case .failure(let error): decide(Self.errorBytes(error.message))
            case .success(let bytes): decide(bytes.readableBytesView.first == UInt8(ascii: "-") ? bytes : popped)
            }
            return
        }
        guard popped == nil, sequence == tried - 1 else { return }
        switch reply {
        case .failure(let error):
            firstFailure = firstFailure ?? error.message
            next()
        case .success(let bytes) where EngineError.isUnavailability(bytes):
            // That owner's storage or link is down (e.g. a dead backend redis-server): the next one pops.
            firstFailure = firstFailure ?? EngineError.message(ofUnavailability: bytes)
            next()
        case .success(let bytes):
            // An error, a nil or an empty reply popped nothing: there is nothing to remove elsewhere.
            guard let members = Self.members(bytes), !members.isEmpty else { return decide(bytes) }
            popped = bytes
            let request = Coordinator.Request.resp(Self.srem, [ByteBuffer(string: "SREM"), args[1]] + members)
            let count = ByteBuffer(string: ":\(members.count)\r\n")
            let removal = coordinator.replicate(request, isWrite: true, token: token, context,
                                                answered: (candidates[tried - 1], count))
            if let verdict = removal.attach(self, sequence: Self.removal) { receive(.success(verdict), for: Self.removal) }
        }
    }

    /// The members in an SPOP reply: one bulk string, or an array or RESP3 set of them.
    static func members(_ reply: ByteBuffer) -> [ByteBuffer]? {
        if let elements = MergedReply.elements(reply) {
            var out: [ByteBuffer] = []
            for element in elements {
                guard let member = bulkContent(element) else { return nil }
                out.append(member)
            }
            return out
        }
        return bulkContent(reply).map { [$0] }
    }

    /// The bytes of a bulk string reply (`$n\r\n...\r\n`); nil for anything else, nil included.
    private static func bulkContent(_ frame: ByteBuffer) -> ByteBuffer? {
        let bytes = frame.readableBytesView
        guard bytes.first == UInt8(ascii: "$"), let lineEnd = bytes.firstIndex(of: UInt8(ascii: "\r")),
              let length = Int(String(decoding: bytes[(bytes.startIndex + 1)..<lineEnd], as: UTF8.self)), length >= 0,
              bytes.endIndex - (lineEnd + 2) >= length + 2 else { return nil }
        return frame.getSlice(at: lineEnd + 2, length: length)
    }
}
