import Engines
import NIOCore
import Protocol

/// Joins the memcached replies of a request split across owners (or sent to every node).
final class MemcachedMergedReply: PartsReply {
    enum Shape {
        /// A multi-key retrieval: part `p` asked for the keys at `positions[p]` of `keys`. Its
        /// VALUE blocks come back in its request order, misses left out.
        case values(keys: [ByteBuffer], positions: [[Int]])
        /// `flush_all`: OK when every part said OK.
        case allOK
    }

    private let shape: Shape

    init(shape: Shape, parts: Int) {
        self.shape = shape
        super.init(parts: parts)
    }

    override func merge(_ replies: [ByteBuffer]) -> ByteBuffer {
        switch shape {
        case .allOK:
            for reply in replies where !reply.readableBytesView.elementsEqual("OK\r\n".utf8) { return reply }
            return ByteBuffer(string: "OK\r\n")
        case .values(let keys, let positions):
            var slots = [ByteBuffer?](repeating: nil, count: keys.count)
            for (p, reply) in replies.enumerated() {
                // An error in any part (the first, in part order) is the whole reply.
                guard let blocks = MemcachedReplies.valueBlocks(reply) else { return reply }
                var next = 0
                for position in positions[p] where next < blocks.count && blocks[next].key == keys[position] {
                    slots[position] = blocks[next].block
                    next += 1
                }
                guard next == blocks.count else {
                    return MemcachedReplies.serverError("ERR Dynomite: unexpected reply from a replica")
                }
            }
            var out = ByteBuffer()
            for case var slot? in slots { out.writeBuffer(&slot) }
            out.writeStaticString("END\r\n")
            return out
        }
    }
}

/// Reading and writing the memcached replies the coordinator handles.
enum MemcachedReplies {
    /// memcached's words for a failure: `SERVER_ERROR <source>: <text>`, from an error message
    /// in Redis's form (`ERR Peer: ...`).
    static func serverError(_ message: String) -> ByteBuffer {
        let text = message.hasPrefix("ERR ") ? message.dropFirst(4) : Substring(message)
        var out = ByteBuffer()
        out.writeStaticString("SERVER_ERROR ")
        out.writeSubstring(text)
        out.writeStaticString("\r\n")
        return out
    }

    /// The VALUE blocks of a retrieval reply (`VALUE <key> <flags> <bytes> [<cas>]`, the data,
    /// then `END`), each with its key; nil for any other reply (an error line).
    static func valueBlocks(_ reply: ByteBuffer) -> [(key: ByteBuffer, block: ByteBuffer)]? {
        var buffer = reply
        var blocks: [(key: ByteBuffer, block: ByteBuffer)] = []
        while true {
            let view = buffer.readableBytesView
            guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
            let start = buffer.readerIndex
            let line = buffer.getSlice(at: start, length: newline + 1 - start)!
            if line.readableBytesView.elementsEqual("END\r\n".utf8) {
                return buffer.readableBytes == line.readableBytes ? blocks : nil
            }
            guard line.readableBytesView.starts(with: "VALUE ".utf8), line.readableBytesView.dropLast().last == 13 else { return nil }
            let tokens = MemcachedRequestParser.tokens(buffer, from: start, to: newline - 1)
            guard tokens.count >= 4, let length = Int(String(decoding: buffer.getBytes(at: tokens[3].lowerBound, length: tokens[3].count)!, as: UTF8.self)),
                  length >= 0, buffer.readableBytes >= line.readableBytes + length + 2 else { return nil }
            let key = buffer.getSlice(at: tokens[1].lowerBound, length: tokens[1].count)!
            blocks.append((key, buffer.readSlice(length: line.readableBytes + length + 2)!))
        }
    }
}
