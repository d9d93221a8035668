import NIOCore
import Protocol

/// Redis's standard error texts, shared by every engine.
enum RedisError {
    static let wrongType = "WRONGTYPE Operation against a key holding the wrong kind of value"
    static let notInteger = "ERR value is not an integer or out of range"
    static let notFloat = "ERR value is not a valid float"
    static let syntax = "ERR syntax error"
    static let overflow = "ERR increment or decrement would overflow"
    static let stringTooLong = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"

    static func invalidExpireTime(_ command: String) -> String {
        "ERR invalid expire time in '\(command)' command"
    }

    static func arity(_ command: String) -> String {
        "ERR wrong number of arguments for '\(command)' command"
    }
}

extension ByteBuffer {
    /// The argument as a Redis integer (`string2ll` rules), or nil.
    @inlinable
    var redisInteger: Int? {
        withUnsafeReadableBytes { RedisInteger.parse($0) }
    }

    var bytes: [UInt8] { getBytes(at: readerIndex, length: readableBytes) ?? [] }
    var text: String { String(decoding: readableBytesView, as: UTF8.self) }
}

extension ReplyWriter {
    /// Writes an error and gives nil, for a parser that answers with its result or nothing.
    mutating func refusing<T>(_ message: String) -> T? {
        error(message)
        return nil
    }
}
