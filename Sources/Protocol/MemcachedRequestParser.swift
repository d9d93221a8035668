import NIOCore

/// Parses memcached text-protocol requests, answering malformed ones the way memcached does.
public struct MemcachedRequestParser: Sendable {
    /// Longest command line accepted (multi-key gets make long lines).
    public static let maxLineLength = 64 * 1024
    public static let maxKeyLength = 250
    /// memcached's default item size limit (`-I 1m`).
    public static let maxValueLength = 1024 * 1024

    public enum Outcome {
        case request(MemcachedRequest)
        /// Reply this to the client (`ERROR`, `CLIENT_ERROR ...`, `SERVER_ERROR ...`); `close`
        /// when the stream cannot be trusted any more.
        case reply(String, close: Bool)
    }

    /// Bytes of a too-large value still to discard (memcached swallows them, then answers).
    private var swallowing = 0

    public init() {}

    /// The next request or error reply, or nil when more bytes are needed.
    public mutating func next(from buffer: inout ByteBuffer) -> Outcome? {
        if swallowing > 0 {
            let skip = min(swallowing, buffer.readableBytes)
            buffer.moveReaderIndex(forwardBy: skip)
            swallowing -= skip
            if swallowing > 0 { return nil }
            return .reply("SERVER_ERROR object too large for cache", close: false)
        }
        guard let newline = buffer.readableBytesView.prefix(Self.maxLineLength + 2).firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > Self.maxLineLength { return .reply("CLIENT_ERROR line too long", close: true) }
            return nil
        }
        let lineStart = buffer.readerIndex
        var lineEnd = newline  // absolute index of '\n'
        if lineEnd > lineStart, buffer.getInteger(at: lineEnd - 1, as: UInt8.self) == 13 { lineEnd -= 1 }
        let lineLength = newline + 1 - lineStart
        let tokens = Self.tokens(buffer, from: lineStart, to: lineEnd)
        guard let first = tokens.first else {
            buffer.moveReaderIndex(forwardBy: lineLength)
            return .reply("ERROR", close: false)
        }
        let name = String(decoding: buffer.getBytes(at: first.lowerBound, length: first.count)!, as: UTF8.self)
        guard let command = MemcachedRequest.Command(rawValue: name) else {
            buffer.moveReaderIndex(forwardBy: lineLength)
            return .reply("ERROR", close: false)
        }
        func slice(_ r: Range<Int>) -> ByteBuffer { buffer.getSlice(at: r.lowerBound, length: r.count)! }
        func text(_ r: Range<Int>) -> String { String(decoding: buffer.getBytes(at: r.lowerBound, length: r.count)!, as: UTF8.self) }
        func badFormat(_ text: String = "CLIENT_ERROR bad command line format") -> Outcome {
            buffer.moveReaderIndex(forwardBy: lineLength)
            return .reply(text, close: false)
        }
        // memcached answers a wrong number of arguments as an unknown command.
        func wrongArity() -> Outcome { badFormat("ERROR") }
        let isNoreply = tokens.count > 1 && text(tokens[tokens.count - 1]) == "noreply"
        let arguments = Array(tokens.dropFirst())

        switch command {
        case .get, .gets, .gat, .gats:
            let keyTokens = (command == .gat || command == .gats) ? Array(arguments.dropFirst()) : arguments
            guard !keyTokens.isEmpty else { return wrongArity() }
            if command == .gat || command == .gats, Int(text(arguments[0])) == nil {
                return badFormat("CLIENT_ERROR invalid exptime argument")
            }
            guard keyTokens.allSatisfy({ $0.count <= Self.maxKeyLength }) else { return badFormat() }
            let raw = buffer.readSlice(length: lineLength)!
            return .request(MemcachedRequest(command: command, keys: keyTokens.map { raw.getSlice(at: $0.lowerBound - lineStart + raw.readerIndex, length: $0.count)! },
                                             raw: raw, noreply: false))
        case .set, .add, .replace, .append, .prepend, .cas:
            let expected = command == .cas ? 5 : 4
            guard arguments.count == expected || (arguments.count == expected + 1 && isNoreply) else { return wrongArity() }
            guard arguments[0].count <= Self.maxKeyLength,
                  UInt32(text(arguments[1])) != nil, Int(text(arguments[2])) != nil,
                  let length = Int(text(arguments[3])), length >= 0,
                  command != .cas || UInt64(text(arguments[4])) != nil
            else { return badFormat() }
            let key = slice(arguments[0])
            switch dataBlock(&buffer, lineLength: lineLength, length: length) {
            case .incomplete: return nil
            case .answered(let outcome): return outcome
            case .complete(let raw): return .request(MemcachedRequest(command: command, keys: [key], raw: raw, noreply: isNoreply))
            }
        case .delete:
            guard arguments.count >= 1, arguments.count <= 3 else { return wrongArity() }
            guard arguments[0].count <= Self.maxKeyLength else { return badFormat() }
            let usage = "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]"
            if arguments.count == 3 && !isNoreply { return badFormat(usage) }
            if arguments.count >= 2, !isNoreply || arguments.count == 3, text(arguments[1]) != "0" { return badFormat(usage) }
            let key = slice(arguments[0])
            return .request(MemcachedRequest(command: command, keys: [key], raw: buffer.readSlice(length: lineLength)!, noreply: isNoreply))
        case .incr, .decr:
            guard arguments.count == 2 || (arguments.count == 3 && isNoreply) else { return wrongArity() }
            guard arguments[0].count <= Self.maxKeyLength else { return badFormat() }
            guard UInt64(text(arguments[1])) != nil else {
                buffer.moveReaderIndex(forwardBy: lineLength)
                return .reply("CLIENT_ERROR invalid numeric delta argument", close: false)
            }
            let key = slice(arguments[0])
            return .request(MemcachedRequest(command: command, keys: [key], raw: buffer.readSlice(length: lineLength)!, noreply: isNoreply))
        case .touch:
            guard arguments.count == 2 || (arguments.count == 3 && isNoreply) else { return wrongArity() }
            guard arguments[0].count <= Self.maxKeyLength else { return badFormat() }
            guard Int(text(arguments[1])) != nil else { return badFormat("CLIENT_ERROR invalid exptime argument") }
            let key = slice(arguments[0])
            return .request(MemcachedRequest(command: command, keys: [key], raw: buffer.readSlice(length: lineLength)!, noreply: isNoreply))
        case .version, .stats:
            // memcached answers these whatever the last word says.
            return .request(MemcachedRequest(command: command, keys: [], raw: buffer.readSlice(length: lineLength)!, noreply: false))
        case .mn:
            return .request(MemcachedRequest(command: command, keys: [], raw: buffer.readSlice(length: lineLength)!, noreply: false))
        case .mg, .md, .ma, .me:
            // Flags, key length and base64 keys are the backend's to check: it answers them as
            // memcached does, because it is memcached.
            guard let keyToken = arguments.first else { return command == .me ? badFormat() : wrongArity() }
            let flags = arguments.dropFirst().map(text)
            let quiet = command != .me && flags.contains("q")
            let metaWrite = command == .mg && flags.contains { $0.hasPrefix("T") || $0.hasPrefix("N") }
            let raw = buffer.readSlice(length: lineLength)!
            let key = raw.getSlice(at: keyToken.lowerBound - lineStart + raw.readerIndex, length: keyToken.count)!
            return .request(MemcachedRequest(command: command, keys: [key], raw: raw, noreply: false, quiet: quiet, metaWrite: metaWrite))
        case .ms:
            guard arguments.count >= 1 else { return wrongArity() }
            guard arguments.count >= 2, text(arguments[1]).allSatisfy({ ("0"..."9").contains($0) }), let length = Int(text(arguments[1])) else {
                return badFormat()
            }
            let quiet = arguments.dropFirst(2).contains { text($0) == "q" }
            let key = slice(arguments[0])
            switch dataBlock(&buffer, lineLength: lineLength, length: length) {
            case .incomplete: return nil
            case .answered(let outcome): return outcome
            case .complete(let raw): return .request(MemcachedRequest(command: command, keys: [key], raw: raw, noreply: false, quiet: quiet))
            }
        case .quit, .flushAll, .verbosity:
            return .request(MemcachedRequest(command: command, keys: [], raw: buffer.readSlice(length: lineLength)!, noreply: isNoreply))
        }
    }

    private enum DataBlock {
        case complete(ByteBuffer)
        case incomplete
        case answered(Outcome)
    }

    /// A storage command's (or ms's) data block after its line: the whole request once every
    /// byte is here, or memcached's answer to a value too large (read and discarded first) or
    /// to a block not ending in CRLF (then the next line is read as a command, as memcached
    /// resynchronises).
    private mutating func dataBlock(_ buffer: inout ByteBuffer, lineLength: Int, length: Int) -> DataBlock {
        if length > Self.maxValueLength {
            buffer.moveReaderIndex(forwardBy: lineLength)
            swallowing = length + 2
            return next(from: &buffer).map { .answered($0) } ?? .incomplete
        }
        let total = lineLength + length + 2
        guard buffer.readableBytes >= total else { return .incomplete }
        let endOfData = buffer.readerIndex + lineLength + length
        guard buffer.getInteger(at: endOfData, as: UInt8.self) == 13, buffer.getInteger(at: endOfData + 1, as: UInt8.self) == 10 else {
            buffer.moveReaderIndex(forwardBy: lineLength)
            swallowing = 0
            return .answered(.reply("CLIENT_ERROR bad data chunk", close: false))
        }
        return .complete(buffer.readSlice(length: total)!)
    }

    /// Space-separated tokens of [from, to), as absolute index ranges.
    public static func tokens(_ buffer: ByteBuffer, from: Int, to: Int) -> [Range<Int>] {
        var result: [Range<Int>] = []
        var start: Int?
        var i = from
        while i < to {
            let c = buffer.getInteger(at: i, as: UInt8.self)!
            if c == 32 {
                if let s = start { result.append(s..<i); start = nil }
            } else if start == nil {
                start = i
            }
            i += 1
        }
        if let s = start { result.append(s..<to) }
        return result
    }
}
