import NIOCore
import NIOPosix
import Protocol

/// A pipelined RESP connection: each batch is one write; its replies come back as one future.
final class NetworkChannel: CommandChannel {
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel
    private let handler: NIOLoopBound<BatchReplyHandler>

    init(host: String, port: Int, password: String?) throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let handler = try loop.submit { NIOLoopBound(BatchReplyHandler(), eventLoop: loop) }.wait()
        self.handler = handler
        do {
            channel = try ClientBootstrap(group: loop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(handler.value)
                    }
                }
                .connect(host: host, port: port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw ToolError("cannot connect to \(host):\(port): \(error)")
        }
        if let password {
            let reply = try execute(Command("AUTH", password))
            if let e = reply.errorText {
                close()
                throw ToolError("AUTH failed at \(host):\(port): \(e)")
            }
        }
    }

    func send(_ batch: [Command]) -> Pending {
        var out = channel.allocator.buffer(capacity: 64 * batch.count)
        for command in batch { RESPEncoding.request(command, into: &out) }
        let promise = channel.eventLoop.makePromise(of: [ByteBuffer].self)
        let count = batch.count
        let handler = self.handler
        let channel = self.channel
        let outbound = out
        channel.eventLoop.execute {
            handler.value.expect(count, promise)
            channel.writeAndFlush(outbound).cascadeFailure(to: promise)
        }
        let future = promise.futureResult
        return Pending {
            let buffers: [ByteBuffer]
            do { buffers = try future.wait() } catch { throw ToolError("connection failed: \(error)") }
            var replies: [Reply] = []
            replies.reserveCapacity(buffers.count)
            for b in buffers { replies.append(try Reply.decode(b)) }
            return replies
        }
    }

    func close() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

/// Frames replies and hands each batch's replies to its promise, in order.
final class BatchReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private var framer = RESPReplyFramer()
    private var buffered: ByteBuffer?
    private var waiting: [(count: Int, promise: EventLoopPromise<[ByteBuffer]>)] = []
    private var head = 0
    private var collected: [ByteBuffer] = []

    func expect(_ count: Int, _ promise: EventLoopPromise<[ByteBuffer]>) {
        waiting.append((count, promise))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if buffered == nil { buffered = incoming } else { buffered!.writeBuffer(&incoming) }
        do {
            while head < waiting.count, let reply = try framer.next(from: &buffered!) {
                collected.append(reply)
                if collected.count == waiting[head].count {
                    waiting[head].promise.succeed(collected)
                    collected = []
                    head += 1
                }
            }
        } catch {
            fail(ToolError("malformed reply from the server"), context: context)
            return
        }
        if head == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            head = 0
        }
        if buffered?.readableBytes == 0 { buffered = nil }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(ToolError("the server closed the connection"), context: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(error, context: context)
    }

    private func fail(_ error: Error, context: ChannelHandlerContext?) {
        for w in waiting[head...] { w.promise.fail(error) }
        waiting.removeAll()
        head = 0
        context?.close(promise: nil)
    }
}
