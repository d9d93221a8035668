import NIOCore

/// Redis's request-size limits; exceeding one is a protocol error that closes the connection.
public struct RESPLimits: Sendable {
    public var maxBulkLength: Int = 512 * 1024 * 1024
    public var maxMultibulkLength: Int = 1024 * 1024
    public var maxInlineLength: Int = 64 * 1024

    public init() {}

    /// Redis's tighter limits for a client that has not authenticated yet, so an unknown peer
    /// cannot make the server buffer much.
    public static let unauthenticated: RESPLimits = {
        var limits = RESPLimits()
        limits.maxMultibulkLength = 10
        limits.maxBulkLength = 16384
        return limits
    }()
}

/// A malformed request. `message` follows `-ERR Protocol error: ` in the reply.
public struct RESPProtocolError: Error, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// Parses client requests (RESP multibulk and inline) into argument slices of the received
/// buffer, without copying values.
///
/// The parser is resumable: on a partial request it leaves the buffer's reader index at the
/// start of the request and remembers how far it got, so a large request arriving in many reads
/// is scanned once, not once per read.
public struct RESPRequestParser: Sendable {
    public var limits: RESPLimits

    /// Progress through a partial multibulk request, relative to the request's first byte.
    private var expectedArguments = 0
    private var resumeOffset = 0
    private var argumentRanges: [(offset: Int, length: Int)] = []
    private var inMultibulk = false

    public init(limits: RESPLimits = RESPLimits()) {
        self.limits = limits
    }

    /// Parses one request from `buffer` into `arguments` (cleared first).
    /// Returns `false` when the request is not complete yet; `buffer` is then left unchanged.
    /// Empty requests (`*0`, blank inline lines) are skipped.
    public mutating func next(from buffer: inout ByteBuffer, into arguments: inout [ByteBuffer]) throws(RESPProtocolError) -> Bool {
        while true {
            guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return false }
            if inMultibulk || first == UInt8(ascii: "*") {
                switch try parseMultibulk(&buffer, into: &arguments) {
                case .complete: return true
                case .incomplete: return false
                case .empty: continue
                }
            } else {
                switch try parseInline(&buffer, into: &arguments) {
                case .complete: return true
                case .incomplete: return false
                case .empty: continue
                }
            }
        }
    }

    private enum Outcome { case complete, incomplete, empty }

    private mutating func parseMultibulk(_ buffer: inout ByteBuffer, into arguments: inout [ByteBuffer]) throws(RESPProtocolError) -> Outcome {
        let start = buffer.readerIndex
        let available = buffer.readableBytes
        if !inMultibulk {
            guard let lineEnd = findCR(buffer, from: 1, limit: limits.maxInlineLength) else {
                if available > limits.maxInlineLength { throw RESPProtocolError("too big mbulk count string") }
                return .incomplete
            }
            guard lineEnd + 1 < available else { return .incomplete }
            guard let count = parseInteger(buffer, from: 1, to: lineEnd), count <= 1024 * 1024 * 1024 else {
                throw RESPProtocolError("invalid multibulk length")
            }
            if count > limits.maxMultibulkLength {
                throw RESPProtocolError(limits.maxMultibulkLength < 1024 ? "unauthenticated multibulk length" : "invalid multibulk length")
            }
            if count <= 0 {
                buffer.moveReaderIndex(forwardBy: lineEnd + 2)
                return .empty
            }
            inMultibulk = true
            expectedArguments = count
            resumeOffset = lineEnd + 2
            argumentRanges.removeAll(keepingCapacity: true)
        }
        while argumentRanges.count < expectedArguments {
            guard resumeOffset < available else { return .incomplete }
            let marker = buffer.getInteger(at: start + resumeOffset, as: UInt8.self)!
            guard let lineEnd = findCR(buffer, from: resumeOffset + 1, limit: limits.maxInlineLength) else {
                if available - resumeOffset > limits.maxInlineLength { throw RESPProtocolError("too big bulk count string") }
                return .incomplete
            }
            guard marker == UInt8(ascii: "$") else {
                throw RESPProtocolError("expected '$', got '\(Character(Unicode.Scalar(marker)))'")
            }
            guard lineEnd + 1 < available else { return .incomplete }
            guard let length = parseInteger(buffer, from: resumeOffset + 1, to: lineEnd),
                  length >= 0, length <= 512 * 1024 * 1024
            else { throw RESPProtocolError("invalid bulk length") }
            if length > limits.maxBulkLength {
                throw RESPProtocolError(limits.maxBulkLength < 1024 * 1024 ? "unauthenticated bulk length" : "invalid bulk length")
            }
            let dataStart = lineEnd + 2
            // Like Redis, the two bytes after the data are skipped without being checked.
            guard available >= dataStart + length + 2 else { return .incomplete }
            argumentRanges.append((dataStart, length))
            resumeOffset = dataStart + length + 2
        }
        arguments.removeAll(keepingCapacity: true)
        for range in argumentRanges {
            arguments.append(buffer.getSlice(at: start + range.offset, length: range.length)!)
        }
        buffer.moveReaderIndex(forwardBy: resumeOffset)
        inMultibulk = false
        argumentRanges.removeAll(keepingCapacity: true)
        return .complete
    }

    private mutating func parseInline(_ buffer: inout ByteBuffer, into arguments: inout [ByteBuffer]) throws(RESPProtocolError) -> Outcome {
        let available = buffer.readableBytes
        let newline: Int? = buffer.withUnsafeReadableBytes { bytes in
            bytes.prefix(limits.maxInlineLength + 2).firstIndex(of: UInt8(ascii: "\n"))
        }
        guard let newline else {
            if available > limits.maxInlineLength { throw RESPProtocolError("too big inline request") }
            return .incomplete
        }
        var lineLength = newline
        if lineLength > 0, buffer.getInteger(at: buffer.readerIndex + lineLength - 1, as: UInt8.self) == UInt8(ascii: "\r") {
            lineLength -= 1
        }
        if lineLength > limits.maxInlineLength { throw RESPProtocolError("too big inline request") }
        let line = buffer.getBytes(at: buffer.readerIndex, length: lineLength)!
        guard let words = InlineSplitter.split(line) else { throw RESPProtocolError("unbalanced quotes in request") }
        buffer.moveReaderIndex(forwardBy: newline + 1)
        if words.isEmpty { return .empty }
        arguments.removeAll(keepingCapacity: true)
        for word in words {
            arguments.append(ByteBuffer(bytes: word))
        }
        return .complete
    }

    /// Offset (relative to the reader index) of the first `\r` at or after `from`, looking at
    /// most `limit` bytes ahead.
    private func findCR(_ buffer: ByteBuffer, from: Int, limit: Int) -> Int? {
        buffer.withUnsafeReadableBytes { bytes in
            guard from < bytes.count else { return nil }
            let end = min(bytes.count, from + limit + 1)
            var i = from
            while i < end {
                if bytes[i] == 13 { return i }
                i += 1
            }
            return nil
        }
    }

    /// Redis's `string2ll` over bytes [from, to): optional '-', digits, no leading zeros.
    private func parseInteger(_ buffer: ByteBuffer, from: Int, to: Int) -> Int? {
        buffer.withUnsafeReadableBytes { bytes in
            RedisInteger.parse(UnsafeRawBufferPointer(rebasing: bytes[from..<to]))
        }
    }
}
