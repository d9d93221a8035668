import Engines
import Logging
import NIOCore
import Protocol

/// One client connection speaking RESP. Runs synchronously on its event loop: requests are
/// parsed as slices of the received bytes, executed, and their replies gathered in one buffer
/// that is flushed once per read burst, after the engine has made the burst's writes durable.
final class ClientConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Redis's client query buffer limit: a connection holding more unparsed input is closed.
    static let queryBufferLimit = 1024 * 1024 * 1024
    /// Replies buffered beyond this are flushed before the burst ends (after a commit).
    static let replyFlushThreshold = 256 * 1024

    let node: NodeContext
    let session: any EngineSession
    var state: ClientState
    private var parser = RESPRequestParser()
    private var arguments: [ByteBuffer] = []
    private var unparsed: ByteBuffer?
    private var reply: ReplyWriter
    private var closing = false
    private let logger: Logger

    init(node: NodeContext, channel: Channel, logger: Logger) {
        self.node = node
        self.session = node.engine.makeSession()
        self.logger = logger
        let id = node.nextClientID.add(1, ordering: .relaxed).oldValue
        self.state = ClientState(id: id, address: channel.remoteAddress?.description ?? "?")
        self.reply = ReplyWriter(buffer: channel.allocator.buffer(capacity: 4096))
        arguments.reserveCapacity(8)
    }

    func channelActive(context: ChannelHandlerContext) {
        node.connectedClients.add(1, ordering: .relaxed)
        node.totalConnections.add(1, ordering: .relaxed)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        node.connectedClients.subtract(1, ordering: .relaxed)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if closing { return }
        var incoming = unwrapInboundIn(data)
        if unparsed == nil {
            process(&incoming, context: context)
            if incoming.readableBytes > 0, !closing { unparsed = incoming }
        } else {
            unparsed!.writeBuffer(&incoming)
            var buffer = unparsed!
            unparsed = nil  // keep the storage uniquely referenced while it is parsed
            process(&buffer, context: context)
            if buffer.readableBytes > 0, !closing {
                if buffer.readerIndex > 64 * 1024 { buffer.discardReadBytes() }
                unparsed = buffer
            }
        }
        if let pending = unparsed, pending.readableBytes > Self.queryBufferLimit {
            logger.warning("closing client \(state.address): query buffer over \(Self.queryBufferLimit) bytes")
            closing = true
            unparsed = nil
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush(context: context)
        if closing {
            context.close(promise: nil)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // Backpressure: stop reading requests while the client is not reading replies.
        context.channel.setOption(ChannelOptions.autoRead, value: context.channel.isWritable).whenFailure { _ in }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("client \(state.address): \(error)")
        context.close(promise: nil)
    }

    private func process(_ buffer: inout ByteBuffer, context: ChannelHandlerContext) {
        while !closing {
            do {
                guard try parser.next(from: &buffer, into: &arguments) else { return }
            } catch {
                reply.error("ERR Protocol error: \(error.message)")
                closing = true
                return
            }
            dispatch(context: context)
            if reply.buffer.readableBytes > Self.replyFlushThreshold { flush(context: context) }
        }
    }

    private func dispatch(context: ChannelHandlerContext) {
        guard let spec = CommandTable.lookup(arguments[0]) else {
            return reply.error(bytes: UnknownCommand.message(arguments))
        }
        guard spec.acceptsArgumentCount(arguments.count) else {
            return reply.error("ERR wrong number of arguments for '\(spec.name)' command")
        }
        if spec.flags.contains(.connection) {
            executeConnectionCommand(spec, arguments)
        } else {
            session.execute(spec, arguments, reply: &reply)
        }
    }

    /// Makes buffered writes durable, then sends the buffered replies.
    private func flush(context: ChannelHandlerContext) {
        session.endOfBurst()
        if let failure = session.failure {
            // Writes whose replies are buffered did not reach the WAL: none of those replies
            // may go out. The client gets the error and the connection closes.
            logger.error("client \(state.address): \(failure)")
            reply.buffer.clear()
            reply.error(failure)
            closing = true
        }
        guard reply.buffer.readableBytes > 0 else { return }
        context.writeAndFlush(wrapOutboundOut(reply.buffer), promise: nil)
        // NIO usually writes small replies at once and lets go of the buffer, so clearing it
        // reuses the same storage; if a write is still pending, this copies on write instead.
        reply.buffer.clear()
    }

    /// The connection must close once its replies are flushed (QUIT).
    func closeAfterReply() { closing = true }

    var replyWriter: ReplyWriter {
        get { reply }
        _modify { yield &reply }
    }
}

/// Per-connection state that commands read and change.
struct ClientState {
    let id: Int
    let address: String
    var name: String?
    var libraryName: String?
    var libraryVersion: String?
    let connectedAt = ContinuousClock.now
}
