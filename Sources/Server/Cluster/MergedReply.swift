import Engines
import NIOCore
import Protocol

/// A reply made of several parts (owner sets, nodes), decided when every part has answered.
class PartsReply: PendingReply {
    private var parts: [ByteBuffer?]
    private var remaining: Int

    init(parts: Int) {
        self.parts = Array(repeating: nil, count: parts)
        self.remaining = parts
    }

    override final func receive(_ reply: Result<ByteBuffer, EngineError>, for part: Int) {
        guard !isDecided, part < parts.count, parts[part] == nil, failures[part] == nil else { return }
        switch reply {
        case .success(let bytes): parts[part] = bytes
        case .failure(let error): failures[part] = error
        }
        remaining -= 1
        guard remaining == 0 else { return }
        // A part that failed (the first in part order) fails the whole request.
        if let failure = failures.min(by: { $0.key < $1.key })?.value { return decide(.failure(failure)) }
        decide(merge(parts.map { $0! }))
    }

    /// The parts that failed, by part (rarely any: a dictionary costs nothing until then).
    private var failures: [Int: EngineError] = [:]

    /// The one reply, from every part's reply in part order (none failed).
    func merge(_ replies: [ByteBuffer]) -> ByteBuffer { preconditionFailure("subclasses merge") }
}

/// Joins the replies of a command split across owners (or sent to many nodes) into the one
/// reply the client expects, in the client's key order.
final class MergedReply: PartsReply {
    enum Shape {
        /// MGET: part `p` answered for the keys at `positions[p]` of the original command.
        case elements(positions: [[Int]], total: Int)
        /// DEL, UNLINK, EXISTS, TOUCH, DBSIZE: the sum of the parts' integers.
        case sum
        /// MSET, FLUSHALL: +OK when every part said +OK.
        case allOK
        /// KEYS: every part's array, one after the other.
        case concatenated
        /// SCRIPT LOAD: every part must give the same reply (the script's SHA1), which is the reply.
        case identical
        /// SCRIPT EXISTS: element-wise, 1 only where every part says 1.
        case everywhere
    }

    private let shape: Shape

    init(shape: Shape, parts: Int) {
        self.shape = shape
        super.init(parts: parts)
    }

    /// A row's merge (`ReplyMerge`) of whole parts; `.elements` needs the key positions
    /// (`init(shape:parts:)`).
    convenience init(_ merge: ReplyMerge, parts: Int) {
        switch merge {
        case .sum: self.init(shape: .sum, parts: parts)
        case .allOK: self.init(shape: .allOK, parts: parts)
        case .concatenated: self.init(shape: .concatenated, parts: parts)
        case .elements: preconditionFailure("element-wise merges need the keys' positions")
        }
    }

    override func merge(_ replies: [ByteBuffer]) -> ByteBuffer {
        // Any part's error is the command's error (the first in key order).
        for reply in replies where reply.getInteger(at: reply.readerIndex, as: UInt8.self) == UInt8(ascii: "-") {
            return reply
        }
        var out = ByteBuffer()
        switch shape {
        case .sum:
            var total = 0
            for reply in replies {
                guard let value = RESPToken(reply).integer else { return Self.errorBytes("ERR Dynomite: unexpected reply from a replica") }
                total += value
            }
            out.writeInteger(UInt8(ascii: ":"))
            RESPEncoding.decimal(total, into: &out)
            out.writeStaticString("\r\n")
        case .allOK:
            for reply in replies where reply.readableBytesView.first != UInt8(ascii: "+") { return reply }
            out.writeStaticString("+OK\r\n")
        case .elements(let positions, let total):
            var slots = [ByteBuffer?](repeating: nil, count: total)
            for (p, reply) in replies.enumerated() {
                guard let elements = Self.elements(reply), elements.count == positions[p].count else {
                    return Self.errorBytes("ERR Dynomite: unexpected reply from a replica")
                }
                for (i, position) in positions[p].enumerated() { slots[position] = elements[i] }
            }
            out.writeInteger(UInt8(ascii: "*"))
            RESPEncoding.decimal(total, into: &out)
            out.writeStaticString("\r\n")
            for var slot in slots { out.writeBuffer(&slot!) }
        case .concatenated:
            var all: [ByteBuffer] = []
            for reply in replies {
                guard let elements = Self.elements(reply) else { return Self.errorBytes("ERR Dynomite: unexpected reply from a replica") }
                all += elements
            }
            out.writeInteger(UInt8(ascii: "*"))
            RESPEncoding.decimal(all.count, into: &out)
            out.writeStaticString("\r\n")
            for var element in all { out.writeBuffer(&element) }
        case .identical:
            guard let first = replies.first, replies.allSatisfy({ $0 == first }) else {
                return Self.errorBytes("ERR Dynomite: the nodes answered differently")
            }
            return first
        case .everywhere:
            let lists = replies.map(Self.elements)
            guard let first = lists.first ?? nil, lists.allSatisfy({ $0?.count == first.count }) else {
                return Self.errorBytes("ERR Dynomite: unexpected reply from a replica")
            }
            out.writeInteger(UInt8(ascii: "*"))
            RESPEncoding.decimal(first.count, into: &out)
            out.writeStaticString("\r\n")
            for i in first.indices {
                let everywhere = lists.allSatisfy { RESPToken($0![i]).integer == 1 }
                out.writeStaticString(everywhere ? ":1\r\n" : ":0\r\n")
            }
        }
        return out
    }

    /// The elements of an array (or RESP3 set) reply, each as its own bytes.
    static func elements(_ reply: ByteBuffer) -> [ByteBuffer]? {
        RESPToken(reply).elements?.map(\.base)
    }
}
