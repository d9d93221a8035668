import Engines
import NIOCore
import Protocol

/// SPOP in a cluster. Were every replica sent SPOP, each would pop members of its own choosing
/// and the racks would diverge for good (Dynomite's behaviour). Here one owner pops (this node's
/// rack's first, the next rack's if it cannot), and the key's other owners, in every DC, are sent
/// SREM of exactly what it popped, with the write consistency: the way Redis replicates SPOP.
/// The popping owner counts as having answered that SREM with the number of members popped.
final class SetPop: OneOwnerThenReplicas {
    private static let srem = CommandTable.lookup("SREM")!
    private let key: ByteBuffer
    /// The popping owner's reply, once it has popped something.
    private var popped: ByteBuffer?

    init(coordinator: Coordinator, spec: CommandSpec, args: [ByteBuffer], token: UInt32, context: Coordinator.Context) {
        key = args[1]
        super.init(coordinator: coordinator, first: .resp(spec, args), token: token, context: context)
    }

    override func follow(_ reply: ByteBuffer) -> (request: Coordinator.Request, answered: ByteBuffer)? {
        // An error, a nil or an empty reply popped nothing: there is nothing to remove elsewhere.
        guard let members = Self.members(reply), !members.isEmpty else { return nil }
        popped = reply
        return (.resp(Self.srem, [ByteBuffer(string: "SREM"), key] + members), ByteBuffer(string: ":\(members.count)\r\n"))
    }

    /// The SREM's own verdict (a failed quorum) is the reply; otherwise what was popped.
    override func replyAfter(_ verdict: Result<ByteBuffer, EngineError>) -> Result<ByteBuffer, EngineError> {
        switch verdict {
        case .failure: return verdict
        // A replica's error reply (WRONGTYPE: the key changed type meanwhile) is the reply.
        case .success(let bytes): return RESPToken(bytes).isError ? verdict : .success(popped!)
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
