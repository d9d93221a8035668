import NIOCore
import Testing
@testable import Protocol

/// The request encoder that peers and backends parse: exact bytes for every length class, and
/// a round trip through the request parser.
@Suite struct RESPEncodingTests {
    static let lengths = [0, 1, 9, 10, 99, 100, 999, 1000, 12_345]

    @Test func encodesEveryLengthClassExactly() {
        var arguments = [ByteBuffer(string: "SET")]
        var expected = Array("$3\r\nSET\r\n".utf8)
        for (i, length) in Self.lengths.enumerated() {
            // Binary bytes, CR and LF included.
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) }
            arguments.append(ByteBuffer(bytes: bytes))
            expected += Array("$\(length)\r\n".utf8) + bytes + [13, 10]
        }
        expected = Array("*\(arguments.count)\r\n".utf8) + expected
        var out = ByteBuffer(string: "prefix")
        RESPEncoding.request(arguments, into: &out)
        #expect(Array(out.readableBytesView) == Array("prefix".utf8) + expected)
    }

    @Test func aSliceOfArgumentsRoundTripsThroughTheParser() throws {
        let words = (0..<12).map { String(repeating: "w", count: $0 * 7) }
        var out = ByteBuffer()
        RESPEncoding.request(words.map { ByteBuffer(string: $0) }[2...], into: &out)
        RESPEncoding.request([ByteBuffer(string: "PING")], into: &out)
        var driver = ParserDriver()
        try driver.feed(Array(out.readableBytesView)[...])
        #expect(driver.commands == [Array(words[2...]), ["PING"]])
    }
}
