import Engines
import Logging
import NIOCore
import NIOEmbedded
import TestSupport
import Testing
@testable import Server

/// The client connection handler in `EmbeddedChannel`s on one `EmbeddedEventLoop`, over a real
/// RocksDB engine and no sockets: reply order across local answers, errors, transactions and a
/// blocked pop; replies to writes held until their group commits; requests split across reads.
// The limit catches a hang, not slowness: in the full parallel run on two cores a test can wait
// over a minute for a thread of the cooperative pool (every suite then reports ~78 s).
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ClientConnectionHandlerTests {
    /// One node (no peers) with its loop session on an embedded event loop.
    final class Fixture {
        let directory = TemporaryDirectory()
        let loop = EmbeddedEventLoop()
        let engine: RocksDBEngine
        let node: NodeContext
        let session: LoopSession

        init() throws {
            engine = try RocksDBEngine(options: RocksDBOptions(directory: directory.path), keyHashIdentity: "fnv") { key in
                var h: UInt32 = 2_166_136_261
                for b in key { h = (h ^ UInt32(b)) &* 16_777_619 }
                return h
            }
            node = NodeContext(config: DynamisConfig(), engine: engine)
            session = LoopSession(eventLoop: loop, session: engine.makeSession(eventLoop: loop))
        }

        deinit {
            engine.shutdown()
            directory.remove()
        }

        /// A connected client channel with the handler in its pipeline.
        func connect() throws -> EmbeddedChannel {
            let channel = EmbeddedChannel(loop: loop)
            try channel.pipeline.syncOperations.addHandler(
                ClientConnectionHandler(node: node, loop: session, channel: channel, logger: Logger(label: "test")))
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            return channel
        }
    }

    static func encode(_ commands: [[String]]) -> ByteBuffer {
        var out = ByteBuffer()
        for command in commands {
            out.writeString("*\(command.count)\r\n")
            for word in command { out.writeString("$\(word.utf8.count)\r\n\(word)\r\n") }
        }
        return out
    }

    /// Everything written to the client so far.
    static func output(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }

    @Test func pipelinedRepliesKeepOrderAcrossErrorsAndTransactions() throws {
        let fixture = try Fixture()
        let client = try fixture.connect()
        try client.writeInbound(Self.encode([
            ["SET", "a", "1"], ["GET", "a"], ["NOPE"], ["GET"], ["INCR", "a"], ["MULTI"], ["INCR", "a"], ["GET"], ["EXEC"],
            ["MULTI"], ["INCR", "a"], ["EXEC"], ["GET", "a"],
        ]))
        fixture.loop.run()
        #expect(try Self.output(client) == "+OK\r\n$1\r\n1\r\n-ERR unknown command 'NOPE', with args beginning with: \r\n"
            + "-ERR wrong number of arguments for 'get' command\r\n:2\r\n+OK\r\n+QUEUED\r\n"
            + "-ERR wrong number of arguments for 'get' command\r\n"
            + "-EXECABORT Transaction discarded because of previous errors.\r\n+OK\r\n+QUEUED\r\n*1\r\n:3\r\n$1\r\n3\r\n")
        _ = try client.finish()
    }

    /// A write's reply waits for its group's commit (a task on the loop after the read), so no
    /// client ever hears +OK for a write that a crash could still lose; a read of committed
    /// data answers at once.
    @Test func writeRepliesWaitForTheCommitReadsDoNot() throws {
        let fixture = try Fixture()
        let client = try fixture.connect()
        try client.writeInbound(Self.encode([["SET", "k", "v"], ["GET", "k"]]))
        #expect(try Self.output(client) == "")
        fixture.loop.run()
        #expect(try Self.output(client) == "+OK\r\n$1\r\nv\r\n")
        try client.writeInbound(Self.encode([["GET", "k"]]))
        #expect(try Self.output(client) == "$1\r\nv\r\n")
        _ = try client.finish()
    }

    /// A pipeline behind a blocked BLPOP is not read until the pop answers, then answers in order;
    /// another connection's push on the same loop wakes it.
    @Test func aBlockedPopHoldsThePipelineBehindItUntilAPushWakesIt() throws {
        let fixture = try Fixture()
        let waiter = try fixture.connect(), pusher = try fixture.connect()
        try waiter.writeInbound(Self.encode([["BLPOP", "q", "0"], ["PING"], ["LLEN", "q"]]))
        fixture.loop.run()
        #expect(try Self.output(waiter) == "")
        try pusher.writeInbound(Self.encode([["RPUSH", "q", "x", "y"]]))
        fixture.loop.run()
        #expect(try Self.output(pusher) == ":2\r\n")
        #expect(try Self.output(waiter) == "*2\r\n$1\r\nq\r\n$1\r\nx\r\n+PONG\r\n:1\r\n")
        _ = try waiter.finish()
        _ = try pusher.finish()
    }

    /// A request cut anywhere across reads is answered once, when its last byte arrives.
    @Test func aRequestSplitAcrossReadsIsAnsweredOnceComplete() throws {
        let fixture = try Fixture()
        let client = try fixture.connect()
        let whole = Self.encode([["SET", "split", "value"]])
        for cut in [1, 5, 17, whole.readableBytes - 1] {
            try client.writeInbound(whole.getSlice(at: 0, length: cut)!)
            fixture.loop.run()
            #expect(try Self.output(client) == "", "answered after \(cut) bytes")
            try client.writeInbound(whole.getSlice(at: cut, length: whole.readableBytes - cut)!)
            fixture.loop.run()
            #expect(try Self.output(client) == "+OK\r\n", "cut at \(cut)")
        }
        _ = try client.finish()
    }
}
