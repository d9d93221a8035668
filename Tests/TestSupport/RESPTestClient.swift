import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A RESP reply, decoded for assertions.
public indirect enum RESPValue: Equatable, CustomStringConvertible, Sendable {
    case simple(String)
    case error(String)
    case integer(Int)
    case bulk([UInt8]?)
    case array([RESPValue]?)
    case other(String)

    public var description: String {
        switch self {
        case .simple(let s): return "+\(s)"
        case .error(let s): return "-\(s)"
        case .integer(let i): return ":\(i)"
        case .bulk(let b): return b.map { "\"\(String(decoding: $0, as: UTF8.self))\"" } ?? "(nil)"
        case .array(let a): return a.map { "[" + $0.map(\.description).joined(separator: ", ") + "]" } ?? "(nil array)"
        case .other(let s): return s
        }
    }

    public var string: String? {
        switch self {
        case .simple(let s): return s
        case .bulk(let b?): return String(decoding: b, as: UTF8.self)
        default: return nil
        }
    }
}

public struct TestClientError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A blocking RESP client over a raw socket, for tests. Every read times out (no test can hang
/// on a server that stops answering).
public final class RESPTestClient {
    /// -1 once closed. An initializer that throws after setting every property still runs
    /// `deinit`, so a descriptor closed on failure must not be closed again: by then its number
    /// may belong to another thread's file.
    public private(set) var fd: Int32
    private var buffer: [UInt8] = []

    public init(port: Int, host: String = "127.0.0.1", timeoutSeconds: Int = 10) throws {
        _ = sigpipeIgnored
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestClientError("socket() failed: errno \(errno)") }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let failure = errno
            Glibc.close(fd)
            fd = -1
            throw TestClientError("connect to \(host):\(port) failed: errno \(failure)")
        }
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
    }

    /// Closes the connection now (a test that needs the server to see a client leave).
    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// Encodes a command as a RESP multibulk request.
    public static func encode(_ args: [[UInt8]]) -> [UInt8] {
        var out = Array("*\(args.count)\r\n".utf8)
        for arg in args {
            out += Array("$\(arg.count)\r\n".utf8)
            out += arg
            out += [13, 10]
        }
        return out
    }

    public func sendRaw(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw TestClientError("write failed: errno \(errno)") }
            sent += n
        }
    }

    public func send(_ args: [[UInt8]]) throws { try sendRaw(Self.encode(args)) }
    public func send(_ args: [String]) throws { try send(args.map { Array($0.utf8) }) }

    /// Sends a command and returns the raw bytes of its reply.
    public func rawCommand(_ args: [[UInt8]]) throws -> [UInt8] {
        try send(args)
        return try readRawReply()
    }

    @discardableResult
    public func command(_ args: String...) throws -> RESPValue { try command(args) }

    @discardableResult
    public func command(_ args: [String]) throws -> RESPValue {
        try send(args)
        return try readReply()
    }

    public func readReply() throws -> RESPValue {
        let raw = try readRawReply()
        var index = 0
        return RESPReplyParser.decode(raw, &index)!
    }

    /// Reads exactly one complete reply and returns its bytes.
    public func readRawReply() throws -> [UInt8] {
        while true {
            if let length = RESPReplyParser.completeLength(buffer, from: 0) {
                let reply = Array(buffer[0..<length])
                buffer.removeFirst(length)
                return reply
            }
            try fill()
        }
    }

    /// Reads one line, CRLF included.
    public func readLine() throws -> [UInt8] {
        while true {
            if let end = RESPReplyParser.line(buffer, 0) {
                let line = Array(buffer[0..<(end + 2)])
                buffer.removeFirst(end + 2)
                return line
            }
            try fill()
        }
    }

    public func readExactly(_ count: Int) throws -> [UInt8] {
        while buffer.count < count { try fill() }
        let bytes = Array(buffer[0..<count])
        buffer.removeFirst(count)
        return bytes
    }

    /// True when the server closed the connection (reads return EOF) within the timeout.
    public func isClosedByPeer() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
            buffer += chunk[0..<n]
        }
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n == 0 { throw TestClientError("connection closed by server") }
        if n < 0 { throw TestClientError("read failed or timed out: errno \(errno)") }
        buffer += chunk[0..<n]
    }
}

/// Frames and decodes RESP2/RESP3 replies.
public enum RESPReplyParser {
    static func line(_ b: [UInt8], _ from: Int) -> Int? {
        var i = from
        while i + 1 < b.count {
            if b[i] == 13 && b[i + 1] == 10 { return i }
            i += 1
        }
        return nil
    }

    /// The length of the complete reply starting at `from`, or nil if more bytes are needed.
    public static func completeLength(_ b: [UInt8], from: Int) -> Int? {
        guard from < b.count, let end = line(b, from) else { return nil }
        let header = String(decoding: b[(from + 1)..<end], as: UTF8.self)
        let next = end + 2
        switch b[from] {
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "_"), UInt8(ascii: ","),
             UInt8(ascii: "#"), UInt8(ascii: "("):
            return next - from
        case UInt8(ascii: "$"), UInt8(ascii: "="), UInt8(ascii: "!"):
            let n = Int(header) ?? -1
            if n < 0 { return next - from }
            return b.count >= next + n + 2 ? next + n + 2 - from : nil
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"), UInt8(ascii: "|"):
            var n = Int(header) ?? -1
            if n < 0 { return next - from }
            if b[from] == UInt8(ascii: "%") || b[from] == UInt8(ascii: "|") { n *= 2 }
            var position = next
            for _ in 0..<n {
                guard let length = completeLength(b, from: position) else { return nil }
                position += length
            }
            return position - from
        default:
            return next - from
        }
    }

    public static func decode(_ b: [UInt8], _ i: inout Int) -> RESPValue? {
        guard let end = line(b, i) else { return nil }
        let type = b[i]
        let header = String(decoding: b[(i + 1)..<end], as: UTF8.self)
        i = end + 2
        switch type {
        case UInt8(ascii: "+"): return .simple(header)
        case UInt8(ascii: "-"): return .error(header)
        case UInt8(ascii: ":"): return .integer(Int(header) ?? 0)
        case UInt8(ascii: "_"): return .bulk(nil)
        case UInt8(ascii: "$"), UInt8(ascii: "="):
            let n = Int(header) ?? -1
            if n < 0 { return .bulk(nil) }
            let value = Array(b[i..<(i + n)])
            i += n + 2
            return .bulk(value)
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: "%"):
            var n = Int(header) ?? -1
            if n < 0 { return .array(nil) }
            if type == UInt8(ascii: "%") { n *= 2 }
            var items: [RESPValue] = []
            for _ in 0..<n { items.append(decode(b, &i)!) }
            return .array(items)
        default:
            return .other(String(Character(Unicode.Scalar(type))) + header)
        }
    }
}
