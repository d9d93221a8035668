import NIOCore

/// A memcached text-protocol request, checked and ready to forward as the bytes it came as.
public struct MemcachedRequest: Sendable {
    public enum Command: String, Sendable {
        case get, gets, gat, gats
        case set, add, replace, append, prepend, cas
        case delete, incr, decr, touch
        case version, quit, flushAll = "flush_all", verbosity, stats
        /// The meta commands (memcached 1.6): get, set, delete, arithmetic, no-op, debug.
        case mg, ms, md, ma, mn, me

        public var isMeta: Bool {
            switch self {
            case .mg, .ms, .md, .ma, .mn, .me: return true
            default: return false
            }
        }
    }

    /// What the backend answers with: a VALUE…END block, or one line.
    public enum ResponseKind: UInt8, Sendable {
        case values
        case line
        /// `STAT …` lines through `END` (stats).
        case stats
        /// A meta command's answer: one line, or `VA <size> …` and its data block.
        case meta
        /// A quiet meta command sent with an `mn` behind it: the answer memcached did not
        /// suppress (or nothing) and then `MN`, which the framer consumes.
        case quietMeta
    }

    public let command: Command
    /// The keys, as slices of the request.
    public let keys: [ByteBuffer]
    /// The whole request: command line and data block, CRLFs included.
    public let raw: ByteBuffer
    /// `noreply`: the backend sends nothing back, and neither does Dynamis.
    public let noreply: Bool
    /// A meta command's `q` flag: memcached leaves out its uninteresting answers (a miss for
    /// mg, success for ms/md/ma). Which ones depends on what happened, so the backend gets the
    /// request with an `mn` behind it and its answer ends at `MN` (`quietMeta`).
    public let quiet: Bool
    /// An mg that changes the item (T touches, N creates on a miss): replicated as a write.
    public let metaWrite: Bool

    public init(command: Command, keys: [ByteBuffer], raw: ByteBuffer, noreply: Bool, quiet: Bool = false, metaWrite: Bool = false) {
        self.command = command
        self.keys = keys
        self.raw = raw
        self.noreply = noreply
        self.quiet = quiet
        self.metaWrite = metaWrite
    }

    public var responseKind: ResponseKind {
        switch command {
        case .get, .gets, .gat, .gats: return .values
        case .stats: return .stats
        case .mg, .ms, .md, .ma, .me: return quiet ? .quietMeta : .meta
        default: return .line
        }
    }
}

extension MemcachedRequest {
    /// The tokens of the command line, as absolute index ranges of `raw`, and where the line ends
    /// (just past its '\n').
    private var commandLine: (tokens: [Range<Int>], end: Int) {
        let view = raw.readableBytesView
        let newline = view.firstIndex(of: UInt8(ascii: "\n")) ?? view.endIndex - 1
        var lineEnd = newline
        if lineEnd > raw.readerIndex, raw.getInteger(at: lineEnd - 1, as: UInt8.self) == 13 { lineEnd -= 1 }
        return (MemcachedRequestParser.tokens(raw, from: raw.readerIndex, to: lineEnd), newline + 1)
    }

    /// The same request without `noreply`. In a cluster every replica answers the coordinator,
    /// which drops the answer in the client's place (a replica that sends nothing back cannot
    /// be told apart from one that is gone).
    public func expectingReply() -> MemcachedRequest {
        guard noreply else { return self }
        let line = commandLine
        var out = ByteBuffer()
        out.reserveCapacity(raw.readableBytes)
        for (i, token) in line.tokens.dropLast().enumerated() {
            if i > 0 { out.writeInteger(UInt8(ascii: " ")) }
            out.writeImmutableBuffer(raw.getSlice(at: token.lowerBound, length: token.count)!)
        }
        out.writeStaticString("\r\n")
        if line.end < raw.writerIndex {
            out.writeImmutableBuffer(raw.getSlice(at: line.end, length: raw.writerIndex - line.end)!)
        }
        return MemcachedRequest(command: command, keys: keys, raw: out, noreply: false, quiet: quiet, metaWrite: metaWrite)
    }

    /// A `cas` request as the `set` of the same key, flags, exptime and data, expecting a reply:
    /// what the other replicas get once one replica accepted the cas.
    public func casAsSet() -> MemcachedRequest {
        let line = commandLine
        var out = ByteBuffer()
        out.reserveCapacity(raw.readableBytes)
        out.writeStaticString("set")
        var keyStart = 0
        for (i, token) in line.tokens.enumerated() where i >= 1 && i <= 4 {
            out.writeInteger(UInt8(ascii: " "))
            if i == 1 { keyStart = out.writerIndex }
            out.writeImmutableBuffer(raw.getSlice(at: token.lowerBound, length: token.count)!)
        }
        out.writeStaticString("\r\n")
        if line.end < raw.writerIndex {
            out.writeImmutableBuffer(raw.getSlice(at: line.end, length: raw.writerIndex - line.end)!)
        }
        let key = out.getSlice(at: keyStart, length: keys[0].readableBytes)!
        return MemcachedRequest(command: .set, keys: [key], raw: out, noreply: false)
    }

    /// The same retrieval command (`get`, `gets`, `gat`, `gats` with its exptime) for some of
    /// its keys: a multi-key get split across owners.
    public func retrieval(of subset: [ByteBuffer]) -> MemcachedRequest {
        let line = commandLine
        var out = ByteBuffer()
        out.reserveCapacity(raw.readableBytes)
        for (i, token) in line.tokens.prefix(line.tokens.count - keys.count).enumerated() {
            if i > 0 { out.writeInteger(UInt8(ascii: " ")) }
            out.writeImmutableBuffer(raw.getSlice(at: token.lowerBound, length: token.count)!)
        }
        var starts: [Int] = []
        starts.reserveCapacity(subset.count)
        for key in subset {
            out.writeInteger(UInt8(ascii: " "))
            starts.append(out.writerIndex)
            out.writeImmutableBuffer(key)
        }
        out.writeStaticString("\r\n")
        // Sliced once the buffer is complete: a slice taken earlier would make each write copy it.
        let sliced = zip(starts, subset).map { out.getSlice(at: $0, length: $1.readableBytes)! }
        return MemcachedRequest(command: command, keys: sliced, raw: out, noreply: false)
    }

    /// Whether the command changes data (everything but the plain retrievals and `version`).
    public var isWrite: Bool {
        switch command {
        case .get, .gets, .version, .quit, .verbosity, .me, .mn: return false
        case .mg: return metaWrite
        default: return true
        }
    }
}

extension MemcachedRequest {
    /// A meta command's flag tokens (after the key, and after ms's data length), as text.
    public var metaFlags: [Substring] {
        guard command.isMeta else { return [] }
        let line = commandLine
        let skip = command == .ms ? 3 : 2
        return line.tokens.dropFirst(skip).map { token in
            Substring(String(decoding: raw.getBytes(at: token.lowerBound, length: token.count) ?? [], as: UTF8.self))
        }
    }
}
