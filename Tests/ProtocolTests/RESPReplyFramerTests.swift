import NIOCore
import Testing
@testable import Protocol

@Suite struct RESPReplyFramerTests {
    static let replies: [String] = [
        "+OK\r\n", "-ERR bad\r\n", ":42\r\n", "$5\r\nhello\r\n", "$-1\r\n", "$0\r\n\r\n", "*-1\r\n", "*0\r\n",
        "*3\r\n$1\r\na\r\n:1\r\n*2\r\n+x\r\n$-1\r\n", "%1\r\n+k\r\n*1\r\n:2\r\n", "_\r\n", ",3.14\r\n",
        "*2\r\n*0\r\n$4\r\nb\r\nc\r\n", "$4\r\n\r\n\r\n\r\n",
    ]

    func frame(_ chunks: [ArraySlice<UInt8>]) throws -> [String] {
        var framer = RESPReplyFramer()
        var buffer = ByteBuffer()
        var out: [String] = []
        for chunk in chunks {
            buffer.writeBytes(chunk)
            while let reply = try framer.next(from: &buffer) {
                out.append(String(decoding: reply.readableBytesView, as: UTF8.self))
            }
        }
        return out
    }

    @Test func splitsEveryReplyShape() throws {
        let stream = Array(Self.replies.joined().utf8)
        #expect(try frame([stream[...]]) == Self.replies)
    }

    @Test func anySplitPointGivesTheSameReplies() throws {
        let stream = Array(Self.replies.joined().utf8)
        for cut in 1..<stream.count {
            #expect(try frame([stream[..<cut], stream[cut...]]) == Self.replies, "cut \(cut)")
        }
        #expect(try frame(stream.indices.map { stream[$0...$0] }) == Self.replies)
    }

    @Test func garbageIsReported() {
        var framer = RESPReplyFramer()
        var buffer = ByteBuffer(string: "?what\r\n")
        #expect(throws: RESPReplyFramer.Malformed.self) { try framer.next(from: &buffer) }
    }
}
