import NIOCore
import TestSupport
import Testing
@testable import Protocol

/// Feeds bytes to the parser the way the connection handler does: appending each read to the
/// unparsed remainder, then parsing as many complete requests as there are.
struct ParserDriver {
    var parser = RESPRequestParser()
    var pending = ByteBuffer()
    var commands: [[String]] = []

    mutating func feed(_ bytes: ArraySlice<UInt8>) throws(RESPProtocolError) {
        pending.writeBytes(bytes)
        var args: [ByteBuffer] = []
        while try parser.next(from: &pending, into: &args) {
            commands.append(args.map { String(decoding: $0.readableBytesView, as: UTF8.self) })
        }
    }
}

func resp(_ args: [String]) -> [UInt8] {
    var out = Array("*\(args.count)\r\n".utf8)
    for a in args { out += Array("$\(a.utf8.count)\r\n\(a)\r\n".utf8) }
    return out
}

@Suite struct RESPRequestParserTests {
    static let pipeline: [UInt8] =
        resp(["SET", "key", "value"]) + Array("PING\r\n".utf8) + resp(["GET", ""]) + Array("*0\r\n".utf8)
        + Array("set \"a b\" 'c d'\n".utf8) + resp(["MSET", "k1", "v\r\n1", "k2", "v2"]) + Array("\r\n".utf8)
        + resp(["ECHO", String(repeating: "x", count: 300)])
    static let expected: [[String]] = [
        ["SET", "key", "value"], ["PING"], ["GET", ""], ["set", "a b", "c d"],
        ["MSET", "k1", "v\r\n1", "k2", "v2"], ["ECHO", String(repeating: "x", count: 300)],
    ]

    @Test func parsesAWholePipeline() throws {
        var driver = ParserDriver()
        try driver.feed(Self.pipeline[...])
        #expect(driver.commands == Self.expected)
        #expect(driver.pending.readableBytes == 0)
    }

    @Test func splitAtEveryByteBoundaryGivesTheSameCommands() throws {
        let bytes = Self.pipeline
        for cut in 1..<bytes.count {
            var driver = ParserDriver()
            try driver.feed(bytes[0..<cut])
            try driver.feed(bytes[cut...])
            #expect(driver.commands == Self.expected, "cut at \(cut)")
        }
    }

    @Test func oneByteAtATime() throws {
        var driver = ParserDriver()
        for i in Self.pipeline.indices { try driver.feed(Self.pipeline[i...i]) }
        #expect(driver.commands == Self.expected)
    }

    @Test func aThousandPipelinedCommandsStayInOrder() throws {
        var bytes: [UInt8] = []
        for i in 0..<1000 { bytes += resp(["SET", "key:\(i)", "value:\(i)"]) }
        var driver = ParserDriver()
        // Reads of an awkward size, so requests straddle reads.
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + 997)
            try driver.feed(bytes[offset..<end])
            offset = end
        }
        #expect(driver.commands.count == 1000)
        for i in 0..<1000 { #expect(driver.commands[i] == ["SET", "key:\(i)", "value:\(i)"]) }
    }

    @Test func argumentsAreSlicesOfTheReceivedBuffer() throws {
        var buffer = ByteBuffer(bytes: resp(["GET", "k"]))
        var parser = RESPRequestParser()
        var args: [ByteBuffer] = []
        #expect(try parser.next(from: &buffer, into: &args))
        #expect(args.count == 2)
        #expect(args[1].readableBytesView.elementsEqual("k".utf8))
    }

    static func error(_ text: String) -> RESPProtocolError? {
        var driver = ParserDriver()
        do {
            try driver.feed(Array(text.utf8)[...])
            return nil
        } catch {
            return error
        }
    }

    @Test func limitsAndMalformedHeadersAreProtocolErrors() {
        #expect(Self.error("*1\r\n$536870913\r\n") == RESPProtocolError("invalid bulk length"))
        #expect(Self.error("*1\r\n$536870912\r\n") == nil)  // exactly 512 MB is allowed: it waits for the data
        #expect(Self.error("*1048577\r\n") == RESPProtocolError("invalid multibulk length"))
        #expect(Self.error("*1048576\r\n") == nil)
        #expect(Self.error("*abc\r\n") == RESPProtocolError("invalid multibulk length"))
        #expect(Self.error("*01\r\n") == RESPProtocolError("invalid multibulk length"))
        #expect(Self.error("*1\r\n$-1\r\n") == RESPProtocolError("invalid bulk length"))
        #expect(Self.error("*1\r\n$x\r\n") == RESPProtocolError("invalid bulk length"))
        #expect(Self.error("*2\r\nfoo\r\n") == RESPProtocolError("expected '$', got 'f'"))
        #expect(Self.error("SET \"unbalanced\n") == RESPProtocolError("unbalanced quotes in request"))
        #expect(Self.error("SET 'a'b\n") == RESPProtocolError("unbalanced quotes in request"))
    }

    @Test func overlongLinesAreRefusedWithoutWaitingForever() {
        let inline = String(repeating: "a", count: 64 * 1024 + 1)
        #expect(Self.error(inline) == RESPProtocolError("too big inline request"))
        #expect(Self.error("*" + String(repeating: "1", count: 70_000)) == RESPProtocolError("too big mbulk count string"))
        #expect(Self.error("*1\r\n$" + String(repeating: "1", count: 70_000)) == RESPProtocolError("too big bulk count string"))
        // Just under the limit an inline request still parses.
        var driver = ParserDriver()
        #expect(throws: Never.self) { try driver.feed(Array((String(repeating: "a", count: 64 * 1024 - 10) + "\r\n").utf8)[...]) }
        #expect(driver.commands.count == 1)
    }

    /// A declared 500 MB bulk allocates nothing up front: the parser waits, holding only what
    /// arrived.
    @Test func hugeDeclaredBulkWaitsWithoutAllocating() throws {
        var driver = ParserDriver()
        try driver.feed(Array("*2\r\n$3\r\nGET\r\n$500000000\r\nabc".utf8)[...])
        #expect(driver.commands.isEmpty)
        #expect(driver.pending.readableBytes < 100)
        #expect(driver.pending.capacity < 1024 * 1024)
    }

    @Test func inlineQuotingFollowsRedis() throws {
        var driver = ParserDriver()
        try driver.feed(Array("set k \"a\\x41\\n\\\"q\\\"\" 'it\\'s' \t  \r\n".utf8)[...])
        #expect(driver.commands == [["set", "k", "aA\n\"q\"", "it's"]])
    }

    /// Random bytes never crash the parser and never make it loop: each call either consumes
    /// bytes, reports a protocol error, or waits for more input.
    @Test func randomGarbageNeverCrashesOrHangs() {
        var generator = SplitMix64(seed: 0x5eed_1234)
        let alphabet: [UInt8] = Array("*$\r\n0123456789-abcSETGET \"'\\x".utf8) + [0, 255, 128]
        var errors = 0
        for _ in 0..<3000 {
            var driver = ParserDriver()
            let length = Int(generator.next() % 200)
            var bytes: [UInt8] = []
            for _ in 0..<length {
                let r = generator.next()
                bytes.append(r % 3 == 0 ? UInt8(truncatingIfNeeded: r >> 8) : alphabet[Int(r >> 16) % alphabet.count])
            }
            var offset = 0
            do {
                while offset < bytes.count {
                    let end = min(bytes.count, offset + 1 + Int(generator.next() % 17))
                    try driver.feed(bytes[offset..<end])
                    offset = end
                }
                #expect(driver.pending.readableBytes <= bytes.count)
            } catch {
                errors += 1
            }
        }
        #expect(errors > 0)  // the generator does produce malformed input
    }
}
