import Engines
import Logging
import NIOCore
import Protocol

/// One client connection speaking RESP. Runs synchronously on its event loop: requests are
/// parsed as slices of the received bytes, executed, and their replies gathered in one buffer
/// that is flushed once per read burst, and never before the engine has made the writes those
/// replies acknowledge durable (see `LoopSession`).
final class ClientConnectionHandler: ChannelInboundHandler, ReplyReceiver, CommitWaiter {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Redis's client query buffer limit: a connection holding more unparsed input is closed.
    static let queryBufferLimit = 1024 * 1024 * 1024
    /// Replies buffered beyond this are flushed before the burst ends (after a commit).
    static let replyFlushThreshold = 256 * 1024
    /// Dynomite's words for a request the node's state does not serve.

    let node: NodeContext
    let loop: LoopSession
    var session: any EngineSession { loop.session }
    private var context: ChannelHandlerContext?
    var waitingForCommit = false
    var state: ClientState
    private var parser = RESPRequestParser()
    /// Clients of the memcached engine speak memcached's text protocol instead of RESP.
    private let speaksMemcached: Bool
    private var memcachedParser = MemcachedRequestParser()
    private(set) var arguments: [ByteBuffer] = []
    private var unparsed: ByteBuffer?
    /// Replies in request order: those ready, and places for those on their way.
    private var queue: ReplyQueue
    /// When the requests being processed were read (one clock call per read).
    private var readTime = 0
    /// Whether the next request runs: blocked, stopped by backpressure or CLIENT PAUSE, closing.
    private var flow = ConnectionFlow()
    /// `ip:port` of the listener this client reached (CLIENT KILL LADDR).
    let localAddress: String
    private let logger: Logger
    private let allocator: ByteBufferAllocator
    /// Whether this node's engine runs the forwarded commands (cached: read per request).
    private let forwardsCommands: Bool

    init(node: NodeContext, loop: LoopSession, channel: Channel, logger: Logger) {
        self.node = node
        self.loop = loop
        self.allocator = channel.allocator
        self.forwardsCommands = node.forwardsCommands
        self.speaksMemcached = node.engine.clientProtocol == .memcached
        self.logger = logger
        let id = node.nextClientID.add(1, ordering: .relaxed).oldValue
        self.state = ClientState(id: id, address: Self.ipPort(channel.remoteAddress))
        self.localAddress = Self.ipPort(channel.localAddress)
        self.queue = ReplyQueue(allocator: channel.allocator)
        if node.config.requirePass != nil {
            state.authenticated = false
            parser.limits = .unauthenticated
        }
        arguments.reserveCapacity(8)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        loop.counters.connectionsOpened += 1
        let open = node.connectedClients.wrappingAdd(1, ordering: .relaxed).newValue
        node.totalConnections.add(1, ordering: .relaxed)
        if open > node.config.maxClients {
            // Redis accepts, answers with the error, and closes; memcached says it in its own words.
            logger.warning("refusing client \(state.address): maxclients (\(node.config.maxClients)) connections are open")
            loop.counters.disconnects[DisconnectCause.maxClients.rawValue] += 1
            flow.close()
            let text = speaksMemcached ? "ERROR Too many open connections\r\n" : "-ERR max number of clients reached\r\n"
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: text)), promise: nil)
            context.close(promise: nil)
            return
        }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        node.clients.add(.init(id: state.id, address: state.address, localAddress: localAddress) {
            bound.eventLoop.execute { bound.value.killed() }
        })
        context.fireChannelActive()
    }

    /// `client_timeout`: an idle client is closed, unless it waits on a blocking command or for
    /// replies still on their way (as in Redis, blocked clients are not timed out).
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            guard flow.mayTimeOut, !queue.isWaiting else { return }
            logger.info("closing client \(state.address): idle for more than \(node.config.clientTimeoutSeconds) s (client_timeout)")
            loop.counters.disconnects[DisconnectCause.idleTimeout.rawValue] += 1
            flow.close()
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        node.clients.remove(state.id)
        if !state.watching.isEmpty { session.unwatch(&state.watching) }
        session.clientClosed(state.id)
        loop.counters.connectionsClosed += 1
        node.connectedClients.subtract(1, ordering: .relaxed)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if flow.isClosing { return }
        readTime = monotonicMicros()
        queue.reading(at: readTime)
        var incoming = unwrapInboundIn(data)
        if unparsed == nil {
            process(&incoming, context: context)
            if incoming.readableBytes > 0, !flow.isClosing { unparsed = incoming }
        } else {
            unparsed!.writeBuffer(&incoming)
            var buffer = unparsed!
            unparsed = nil  // keep the storage uniquely referenced while it is parsed
            process(&buffer, context: context)
            if buffer.readableBytes > 0, !flow.isClosing {
                if buffer.readerIndex > 64 * 1024 { buffer.discardReadBytes() }
                unparsed = buffer
            }
        }
        if let pending = unparsed, pending.readableBytes > Self.queryBufferLimit {
            logger.warning("closing client \(state.address): query buffer over \(Self.queryBufferLimit) bytes")
            loop.counters.disconnects[DisconnectCause.queryBufferLimit.rawValue] += 1
            flow.close()
            unparsed = nil
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if loop.mustWait {
            loop.wait(self)
            return
        }
        sendReplies(failure: nil, context: context)
    }

    /// Called by the loop session once the group this connection waited for is committed.
    func flushAfterCommit(failure: String?) {
        guard let context else { return }
        sendReplies(failure: failure, context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // Backpressure: stop reading requests while the client is not reading replies.
        context.channel.setOption(ChannelOptions.autoRead, value: context.channel.isWritable && !flow.readsStopped).whenFailure { _ in }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let tls = NodeTLS.describe(error) {
            logger.warning("client \(state.address): \(tls); closing the connection")
            context.close(promise: nil)
            return
        }
        logger.debug("client \(state.address): \(error)")
        context.close(promise: nil)
    }

    private func process(_ buffer: inout ByteBuffer, context: ChannelHandlerContext) {
        if speaksMemcached { return processMemcached(&buffer, context: context) }
        while true {
            let next = flow.mayRunNext(placesHeld: queue.placesHeld)
            perform(next.action, context)
            guard next.run else { return }
            let mark = buffer.readerIndex
            do {
                guard try parser.next(from: &buffer, into: &arguments) else { return }
            } catch {
                loop.counters.errors[ErrorCause.protocolError.rawValue] += 1
                queue.ready.error("ERR Protocol error: \(error.message)")
                keepReplyOrder()
                flow.close()
                return
            }
            if let deadline = pauseDeadline() {
                holdForPause(until: deadline, &buffer, rewindTo: mark, context: context)
                return
            }
            dispatch(context: context)
            // A reply written here (an unknown command, arity or NOAUTH error too) queues behind
            // replies still on their way.
            keepReplyOrder()
            if queue.ready.buffer.readableBytes > Self.replyFlushThreshold, !waitingForCommit {
                // A large burst: commit now rather than buffer without bound.
                sendReplies(failure: loop.commitNow(), context: context)
            }
        }
    }

    /// Whether CLIENT PAUSE holds the parsed command back (every command, or writes only).
    @inline(__always)
    private func pauseDeadline() -> Int64? {
        // One relaxed load when no pause is in force: the request path pays nothing more.
        guard node.pause.isActive else { return nil }
        let isWrite = CommandTable.lookup(arguments[0])?.flags.contains(.write) ?? false
        return node.pause.deadline(now: WallClock.nowMillis(), isWrite: isWrite)
    }

    private func dispatch(context: ChannelHandlerContext) {
        let spec: CommandSpec
        switch Admission.command(arguments, from: .client(authenticated: state.authenticated), forwardsCommands: forwardsCommands) {
        case .success(let row): spec = row
        case .failure(let rejection):
            loop.counters.errors[rejection.cause.rawValue] += 1
            return rejected(rejection)
        }
        if state.transaction.isOpen || spec.flags.contains(.transactionControl) {
            return transactionCommand(spec)
        }
        if spec.flags.contains(.connection) {
            loop.counters.otherRequests += 1
            executeConnectionCommand(spec, arguments)
            keepReplyOrder()
            return
        }
        var payload = 0
        for argument in arguments { payload &+= argument.readableBytes }
        loop.counters.payloadSizes.record(payload)
        if let coordinator = loop.coordinator {
            return coordinate(coordinator, spec)
        }
        // On a pooled backend connection a blocking pop would stall every client sharing it.
        if let refusal = Admission.check(spec, sharedConnection: forwardsCommands) { return queue.ready.error(refusal.text) }
        let isWrite = spec.flags.contains(.write)
        if isWrite { loop.counters.writeRequests += 1 } else { loop.counters.readRequests += 1 }
        if let refusal = Admission.check(node.settings.state, isWrite: isWrite) {
            loop.counters.refusedByState += 1
            loop.counters.errors[ErrorCause.nodeState.rawValue] += 1
            queue.ready.error(refusal.text)
        } else {
            loop.counters.countDatastore(spec, bytes: payload)
            switch session.execute(spec, arguments, origin: nextOrigin, reply: &queue.ready) {
            case .answered: break
            case .later:
                if spec.flags.contains(.blocking) { flow.blocked(on: queue.nextSequence) }
                appendDeferred(write: isWrite)  // the engine answers later, through `receive`
                return
            case .failed(let error):
                countFailure(error)
                queue.ready.error(error.message)
            }
        }
        queue.answered(write: isWrite)
        keepReplyOrder()
    }

    /// A node with peers: the coordinator sends the request to its replicas. The node's state
    /// is checked where the request reaches this node's own storage, as in Dynomite.
    private func coordinate(_ coordinator: Coordinator, _ spec: CommandSpec) {
        let isWrite = spec.flags.contains(.write)
        if isWrite { loop.counters.writeRequests += 1 } else { loop.counters.readRequests += 1 }
        let context = Coordinator.Context(client: state.id, resp3: queue.ready.resp3,
                                          read: state.consistency ?? node.settings.readConsistency,
                                          write: state.consistency ?? node.settings.writeConsistency)
        let sequence = queue.nextSequence
        if let outcome = coordinator.execute(spec, arguments, context, receiver: self, sequence: sequence) {
            switch outcome {
            case .success(var bytes): queue.ready.buffer.writeBuffer(&bytes)
            case .failure(let error):
                countFailure(error)
                queue.ready.error(error.message)
            }
            queue.answered(write: isWrite)
            keepReplyOrder()
        } else {
            appendDeferred(write: isWrite)
        }
    }

    /// Performs what the flow's transition asks for.
    private func perform(_ action: ConnectionFlow.Action, _ context: ChannelHandlerContext) {
        switch action {
        case .none: break
        case .stopReading:
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        case .resume:
            // Read again, and run the requests that waited in the input.
            context.channel.setOption(ChannelOptions.autoRead, value: context.channel.isWritable).whenFailure { _ in }
            processUnparsed(context)
            if queue.ready.buffer.readableBytes > 0 || queue.firstArrived {
                loop.wait(self)
            }
        }
    }

    /// Runs the requests that waited in the input (behind a blocked command, backpressure or a pause).
    private func processUnparsed(_ context: ChannelHandlerContext) {
        guard var pending = unparsed else { return }
        unparsed = nil
        process(&pending, context: context)
        if pending.readableBytes > 0, !flow.isClosing { unparsed = pending }
    }

    private func processMemcached(_ buffer: inout ByteBuffer, context: ChannelHandlerContext) {
        while true {
            // The same backpressure as RESP: noreply writes hold places too, so a client
            // pipelining them cannot queue without bound in front of slow replicas.
            let next = flow.mayRunNext(placesHeld: queue.placesHeld)
            perform(next.action, context)
            guard next.run else { return }
            guard let outcome = memcachedParser.next(from: &buffer) else { return }
            switch outcome {
            case .reply(let text, let close):
                queue.ready.buffer.writeString(text)
                queue.ready.buffer.writeStaticString("\r\n")
                if close { flow.close() }
            case .request(let request):
                if request.command == .quit {
                    flow.close()
                    return
                }
                if request.command == .mn {
                    // The no-op answers in its place, after everything before it.
                    queue.ready.buffer.writeStaticString("MN\r\n")
                    keepReplyOrder()
                    continue
                }
                let isRead = !request.isWrite
                if isRead { loop.counters.readRequests += 1 } else { loop.counters.writeRequests += 1 }
                if let coordinator = loop.coordinator {
                    coordinateMemcached(coordinator, request, isRead: isRead)
                    continue
                }
                // `version` is answered whatever the state, as PING is.
                if request.command != .version, let refusal = Admission.check(node.settings.state, isWrite: !isRead) {
                    loop.counters.refusedByState += 1
                    loop.counters.errors[ErrorCause.nodeState.rawValue] += 1
                    if !request.noreply {
                        queue.ready.buffer.writeString("SERVER_ERROR \(refusal.memcachedText)\r\n")
                    }
                } else {
                    switch session.execute(memcached: request, origin: nextOrigin, reply: &queue.ready) {
                    case .answered: break
                    case .later:
                        appendDeferred(write: !isRead)
                        continue
                    case .failed(let error):
                        countFailure(error)
                        if !request.noreply {
                            var text = MemcachedReplies.serverError(error.message)
                            queue.ready.buffer.writeBuffer(&text)
                        }
                    }
                }
                queue.answered(write: !isRead)
            }
            keepReplyOrder()
            if queue.ready.buffer.readableBytes > Self.replyFlushThreshold, !waitingForCommit {
                sendReplies(failure: loop.commitNow(), context: context)
            }
        }
    }

    /// A memcached-engine node with peers. The reply is the replicas' memcached answer, or the
    /// coordinator's failure as SERVER_ERROR. A `noreply` request still holds its place among the
    /// replies on their way (with an empty reply), so replicas that fall behind slow its writer
    /// down like anyone else's.
    private func coordinateMemcached(_ coordinator: Coordinator, _ request: MemcachedRequest, isRead: Bool) {
        let context = Coordinator.Context(client: state.id, resp3: false, read: node.settings.readConsistency,
                                          write: node.settings.writeConsistency)
        let receiver: any ReplyReceiver = request.noreply ? SilencedReply(self) : self
        if let outcome = coordinator.execute(memcached: request, context, receiver: receiver, sequence: queue.nextSequence) {
            var bytes: ByteBuffer
            switch outcome {
            case .success(let reply): bytes = reply
            case .failure(let error):
                countFailure(error)
                bytes = MemcachedReplies.serverError(error.message)
            }
            if request.noreply { return }
            queue.ready.buffer.writeBuffer(&bytes)
            queue.answered(write: !isRead)
            keepReplyOrder()
        } else {
            appendDeferred(write: !isRead)
        }
    }

    /// The answer to a `noreply` request: counted, then replaced by nothing.
    fileprivate func silenced(_ result: Result<ByteBuffer, EngineError>, for sequence: Int) {
        if case .failure(let error) = result { countFailure(error) }
        deferredReplyArrived(sequence, ByteBuffer())
    }

    /// The origin of the request being executed: this connection, and the reply's number.
    private var nextOrigin: RequestOrigin {
        RequestOrigin(client: state.id, receiver: self, sequence: queue.nextSequence)
    }

    /// A reply just written behind one still on its way must wait its turn.
    @inline(__always)
    private func keepReplyOrder() { queue.keepOrder(readTime: readTime) }

    /// Holds a place for a reply an engine or the coordinator will produce later.
    private func appendDeferred(write: Bool) { queue.expect(write: write, readTime: readTime) }

    /// Counts a failure (this node's storage, its peers, its state) by the cause it carries.
    private func countFailure(_ error: EngineError) {
        let cause: ErrorCause = switch error.cause {
        case .storage: .storage
        case .peer: .peer
        case .nodeState: .nodeState
        }
        loop.counters.errors[cause.rawValue] += 1
    }

    private func recordLatency(reads: Int32, writes: Int32, since start: Int, now: Int) {
        let micros = max(0, now - start)
        if reads > 0 { loop.counters.readLatency.record(micros, times: Int(reads)) }
        if writes > 0 { loop.counters.writeLatency.record(micros, times: Int(writes)) }
    }

    /// A reply the engine produced after `execute` returned.
    func receive(_ result: Result<ByteBuffer, EngineError>, for sequence: Int) {
        switch result {
        case .success(let bytes):
            deferredReplyArrived(sequence, bytes)
        case .failure(let error):
            countFailure(error)
            if speaksMemcached {
                // memcached clients know SERVER_ERROR; the message keeps its "Storage: ..." source.
                deferredReplyArrived(sequence, MemcachedReplies.serverError(error.message))
            } else {
                var writer = ReplyWriter(buffer: allocator.buffer(capacity: 64))
                writer.error(error.message)
                deferredReplyArrived(sequence, writer.buffer)
            }
        }
    }

    private func deferredReplyArrived(_ sequence: Int, _ bytes: ByteBuffer) {
        let arrival = queue.arrived(sequence, bytes)
        guard arrival != .unknown else { return }
        if flow.replyArrived(sequence), let context {
            // Unblocked: run the requests that queued up behind it.
            processUnparsed(context)
        }
        // Replies become sendable only in order. Many arrive together (one backend read holds
        // many), so they are sent once, at the end of the loop's pass: one write per client.
        if arrival == .sendable { loop.wait(self) }
    }

    /// Sends the buffered replies, or, when the writes they acknowledge failed, the error and
    /// closes: none of those replies may go out.
    private func sendReplies(failure: String?, context: ChannelHandlerContext) {
        if let failure {
            logger.error("client \(state.address): \(failure)")
            queue.ready.buffer.clear()
            queue.ready.error(failure)
            flow.close()
        }
        let now = monotonicMicros()
        let wrote = queue.drain(now: now, sendPlaces: failure == nil, send: { context.write(wrapOutboundOut($0), promise: nil) },
                                record: { reads, writes, since in recordLatency(reads: reads, writes: writes, since: since, now: now) })
        if wrote {
            context.flush()
            // What the socket could not take stays queued in the channel: a client that does not
            // read its replies is cut off before they grow past the limit.
            if !context.channel.isWritable, !flow.isClosing,
               let queued = try? context.channel.syncOptions?.getOption(.bufferedWritableBytes),
               queued + queue.ready.buffer.readableBytes > node.config.clientOutputBufferLimit {
                logger.warning("closing client \(state.address): \(queued) bytes of replies unread, over client_output_buffer_limit (\(node.config.clientOutputBufferLimit))")
                loop.counters.disconnects[DisconnectCause.outputBufferLimit.rawValue] += 1
                flow.close()
                unparsed = nil
                context.close(promise: nil)
                return
            }
        }
        if flow.isClosing, !queue.isWaiting || failure != nil {
            unparsed = nil
            context.close(promise: nil)
            return
        }
        perform(flow.repliesDrained(placesHeld: queue.placesHeld), context)
    }

    /// `ip:port`, as Redis prints client addresses.
    static func ipPort(_ address: SocketAddress?) -> String {
        guard let address, let ip = address.ipAddress, let port = address.port else { return address?.description ?? "?" }
        return "\(ip):\(port)"
    }

    /// CLIENT KILL reached this connection: it closes now (after what is already answered).
    func killed() {
        guard let context, flow.close() else { return }
        logger.info("closing client \(state.address): killed by CLIENT KILL")
        context.close(promise: nil)
    }

    /// CLIENT PAUSE in force for this command: the command goes back to the input, reading
    /// stops, and processing resumes at the deadline (or sooner, at CLIENT UNPAUSE's next check).
    private func holdForPause(until deadline: Int64, _ buffer: inout ByteBuffer, rewindTo mark: Int, context: ChannelHandlerContext) {
        buffer.moveReaderIndex(to: mark)
        perform(flow.holdForPause(), context)
        let delay = max(1, min(deadline - WallClock.nowMillis(), 100))
        // Checked at most every 100 ms, so CLIENT UNPAUSE releases the client soon after.
        context.eventLoop.scheduleTask(in: .milliseconds(delay)) { [self] in
            guard let context = self.context else { return }
            // Still paused: the command is held again, and the check rescheduled.
            perform(flow.pauseCheckDue(placesHeld: queue.placesHeld), context)
        }
    }

    /// The client proved it knows the password: lift the pre-auth request limits.
    func authenticated() {
        state.authenticated = true
        parser.limits = RESPLimits()
    }

    /// The connection must close once its replies are flushed (QUIT).
    func closeAfterReply() { flow.close() }

    var replyWriter: ReplyWriter {
        get { queue.ready }
        _modify { yield &queue.ready }
    }
}

/// Where the replicas' answer to a memcached `noreply` request goes: to its connection, which
/// sends nothing for it.
private final class SilencedReply: ReplyReceiver {
    // Strong, as a receiver's reference is everywhere: a replica may answer after the client left.
    private let connection: ClientConnectionHandler

    init(_ connection: ClientConnectionHandler) { self.connection = connection }

    func receive(_ reply: Result<ByteBuffer, EngineError>, for sequence: Int) {
        connection.silenced(reply, for: sequence)
    }
}

/// Per-connection state that commands read and change.
struct ClientState {
    let id: Int
    let address: String
    var name: String?
    var libraryName: String?
    var libraryVersion: String?
    /// True once the client has authenticated, or from the start when no password is set.
    var authenticated = true
    /// Set by `DYNO_CONFIG:CONN_CONSISTENCY`: this connection's read and write consistency,
    /// instead of the node's.
    var consistency: DynamisConfig.Consistency?
    let connectedAt = ContinuousClock.now
    /// MULTI: outside a transaction, or the commands queued for EXEC.
    var transaction = TransactionQueue.none
    var watching = WatchList()
}
