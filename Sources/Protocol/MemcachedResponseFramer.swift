import NIOCore

/// Splits a memcached backend's responses: a retrieval's `VALUE …` blocks through `END`, or a
/// single line, as the request expects. Responses are forwarded as the bytes they came as.
public struct MemcachedResponseFramer: Sendable {
    public struct Malformed: Error, Sendable {}

    public init() {}

    public mutating func next(from buffer: inout ByteBuffer, kind: MemcachedRequest.ResponseKind) throws(Malformed) -> ByteBuffer? {
        if kind == .meta || kind == .quietMeta { return try meta(from: &buffer, quiet: kind == .quietMeta) }
        let start = buffer.readerIndex
        var position = start
        let end = buffer.writerIndex
        func lineEnd(from: Int) -> Int? {
            var i = from
            while i + 1 < end {
                if buffer.getInteger(at: i, as: UInt8.self) == 13 && buffer.getInteger(at: i + 1, as: UInt8.self) == 10 { return i }
                i += 1
            }
            return nil
        }
        func starts(_ at: Int, _ lineEnd: Int, with prefix: StaticString) -> Bool {
            let count = prefix.utf8CodeUnitCount
            guard lineEnd - at >= count else { return false }
            for k in 0..<count where buffer.getInteger(at: at + k, as: UInt8.self) != prefix.utf8Start[k] { return false }
            return true
        }
        while true {
            guard let lineEndIndex = lineEnd(from: position) else { return nil }
            let isError = starts(position, lineEndIndex, with: "ERROR") || starts(position, lineEndIndex, with: "CLIENT_ERROR")
                || starts(position, lineEndIndex, with: "SERVER_ERROR")
            if kind == .line || isError || (starts(position, lineEndIndex, with: "END") && lineEndIndex - position == 3) {
                return buffer.readSlice(length: lineEndIndex + 2 - start)
            }
            if kind == .stats {
                // STAT <name> <value> lines until END.
                guard starts(position, lineEndIndex, with: "STAT ") else { throw Malformed() }
                position = lineEndIndex + 2
                continue
            }
            guard starts(position, lineEndIndex, with: "VALUE ") else { throw Malformed() }
            // VALUE <key> <flags> <bytes> [<cas>]
            let header = String(decoding: buffer.getBytes(at: position, length: lineEndIndex - position)!, as: UTF8.self)
            let fields = header.split(separator: " ")
            guard fields.count >= 4, let length = Int(fields[3]), length >= 0 else { throw Malformed() }
            position = lineEndIndex + 2 + length + 2
            guard position <= end else { return nil }
        }
    }

    /// A meta answer: one line, or `VA <size> <flags>*` and `size` bytes of data; for a quiet
    /// request, then `MN` (consumed, not returned), or `MN` alone for a suppressed answer.
    private func meta(from buffer: inout ByteBuffer, quiet: Bool) throws(Malformed) -> ByteBuffer? {
        let view = buffer.readableBytesView
        guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let start = buffer.readerIndex
        let line = view[start..<newline]
        guard line.last == 13 else { throw Malformed() }
        if quiet, line.elementsEqual("MN\r".utf8) {
            buffer.moveReaderIndex(forwardBy: newline + 1 - start)
            return ByteBuffer()
        }
        var end = newline + 1
        if line.starts(with: "VA ".utf8) {
            let fields = line.dropFirst(3).split(separator: UInt8(ascii: " "), maxSplits: 1)
            guard let first = fields.first, let size = Int(String(decoding: first.filter { $0 != 13 }, as: UTF8.self)), size >= 0 else {
                throw Malformed()
            }
            end += size + 2
        }
        if quiet {
            guard buffer.writerIndex >= end + 4 else { return nil }
            guard buffer.getString(at: end, length: 4) == "MN\r\n" else { throw Malformed() }
            let answer = buffer.getSlice(at: start, length: end - start)!
            buffer.moveReaderIndex(to: end + 4)
            return answer
        }
        guard buffer.writerIndex >= end else { return nil }
        return buffer.readSlice(length: end - start)
    }
}
