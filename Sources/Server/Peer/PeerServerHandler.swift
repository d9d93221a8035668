import Engines
import Logging
import NIOCore
import Protocol

/// One incoming peer connection (`dyn_listen`): executes each request frame on this node's
/// own engine, or, for a write forwarded from another datacenter, replicates it within this
/// DC first. Responses carry their request's id and go out as soon as they are ready (in any
/// order), once per read burst, and never before the writes they acknowledge are committed.
final class PeerServerHandler: ChannelInboundHandler, ReplyReceiver, CommitWaiter {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let node: NodeContext
    private let loop: LoopSession
    private let logger: Logger
    /// Requests from one peer connection share one engine client id, so a forwarding engine
    /// keeps them in order on one backend connection.
    private let clientID: Int
    private var context: ChannelHandlerContext?
    /// Response frames ready to send; the engine writes replies straight into its buffer.
    private var out: ReplyWriter
    var waitingForCommit = false
    private var parser = RESPRequestParser()
    private var frames = PeerFrameReader()
    private var arguments: [ByteBuffer] = []
    private var peerName = "?"
    private let authentication: PeerAuthentication
    /// Set once the connector proved the secret (or said hello, with no secret configured).
    private var authenticated = false
    private var nonce = ""
    /// Set by `PeerTLSSniffer` once the connection's first bytes show TLS or plaintext.
    var encrypted = false

    /// A stamped write older than this (its coordinator's `timeout`) is refused: see `run`.
    private var expiryMillis: Int64 { Int64(node.config.timeoutMilliseconds * node.settings.timeoutFactor.load(ordering: .relaxed)) }

    init(node: NodeContext, loop: LoopSession, channel: Channel, logger: Logger) {
        self.authentication = PeerAuthentication(secret: node.config.peerSecret ?? node.config.requirePass)
        self.node = node
        self.loop = loop
        self.logger = logger
        self.clientID = node.nextClientID.add(1, ordering: .relaxed).oldValue
        self.out = ReplyWriter(buffer: channel.allocator.buffer(capacity: 16 * 1024))
        self.peerName = channel.remoteAddress?.description ?? "?"
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func channelActive(context: ChannelHandlerContext) {
        if authentication.secret != nil {
            nonce = PeerAuthentication.nonce()
            sendHello("challenge \(nonce)", context)
        }
        context.fireChannelActive()
    }

    private func sendHello(_ text: String, _ context: ChannelHandlerContext) {
        var frame = context.channel.allocator.buffer(capacity: text.utf8.count + 32)
        PeerFrame(kind: .hello, id: 0, payload: ByteBuffer(string: text)).write(into: &frame)
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }

    /// The listener's half of `PeerAuthentication`'s handshake.
    private func handshake(_ text: String, _ context: ChannelHandlerContext) {
        let words = text.split(separator: " ")
        if words.first == "auth" {
            guard !authenticated, authentication.secret != nil, words.count == 3,
                  PeerAuthentication.matches(words[1], authentication.connectorProof(Substring(nonce))) else {
                logger.error("peer \(peerName) failed authentication (a different peer_secret?); closing the connection")
                context.close(promise: nil)
                return
            }
            authenticated = true
            logger.info("peer connected: \(peerName)")
            sendHello("welcome \(authentication.listenerProof(words[2]))", context)
            return
        }
        peerName = text
        // The hello names the connector: "name dc rack token".
        if words.count >= 3, !encrypted,
           NodeTLS.linkRequiresTLS(option: node.config.secureServerOption, localRack: node.config.rack, localDatacenter: node.config.datacenter,
                                   peerRack: String(words[2]), peerDatacenter: String(words[1])) {
            logger.error("peer \(words[0]) (\(words[1])/\(words[2])) connected in plaintext, but secure_server_option \(node.config.secureServerOption) requires TLS on that link; refusing it")
            context.close(promise: nil)
            return
        }
        if authentication.secret == nil {
            authenticated = true
            logger.info("peer connected: \(peerName)")
            sendHello("welcome", context)
        }
    }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelInactive(context: ChannelHandlerContext) {
        loop.session.clientClosed(clientID)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do {
            try frames.read(unwrapInboundIn(data)) { handle($0, context) }
        } catch {
            errorCaught(context: context, error: error)
        }
    }

    private func handle(_ frame: PeerFrame, _ context: ChannelHandlerContext) {
        var frame = frame
        switch frame.kind {
        case .hello:
            handshake(String(buffer: frame.payload), context)
        case .request, .forwarded:
            guard authenticated else {
                logger.error("peer \(peerName) sent a request before the handshake completed; closing the connection")
                context.close(promise: nil)
                return
            }
            if frame.flags.contains(.memcached) { return executeMemcached(frame, context) }
            guard (try? parser.next(from: &frame.payload, into: &arguments)) == true, frame.payload.readableBytes == 0 else {
                logger.error("peer \(peerName) sent a request that is not one RESP command; closing the connection")
                context.close(promise: nil)
                return
            }
            execute(frame)
        case .response, .failure:
            logger.error("peer \(peerName) sent a response on an incoming connection; closing it")
            context.close(promise: nil)
        }
    }

    private func execute(_ frame: PeerFrame) {
        let id = frame.id
        let spec: CommandSpec
        switch Admission.command(arguments, from: .peer, forwardsCommands: node.forwardsCommands) {
        case .success(let row): spec = row
        case .failure(let rejection):
            // The coordinator checked the command already; a peer with another command table
            // (a mixed-version cluster) gets the error as its reply.
            return respond(id, .response, PendingReply.errorBytes(rejection.message(arguments)))
        }
        if spec.flags.contains(.peerOnly) { return respond(id, .response, node.membership.answer(arguments, from: peerName)) }
        run(.resp(spec, arguments), frame, isWrite: spec.flags.contains(.write))
    }

    /// A memcached request, framed as its client sent it (the memcached engine's cluster).
    private func executeMemcached(_ frame: PeerFrame, _ context: ChannelHandlerContext) {
        var payload = frame.payload
        var memcachedParser = MemcachedRequestParser()
        guard case .request(let request) = memcachedParser.next(from: &payload), payload.readableBytes == 0,
              !request.noreply, request.command != .quit else {
            logger.error("peer \(peerName) sent a request that is not one memcached request expecting a reply; closing the connection")
            context.close(promise: nil)
            return
        }
        guard node.engine.clientProtocol == .memcached else {
            return respond(frame.id, .response, MemcachedReplies.serverError("ERR Dynomite: this node's engine does not speak memcached"))
        }
        run(.memcached(request), frame, isWrite: request.isWrite)
    }

    /// Runs a checked request: a write forwarded from another DC is coordinated within this
    /// DC; anything else goes to this node's own engine, if the node's state lets it.
    private func run(_ request: Coordinator.Request, _ frame: PeerFrame, isWrite: Bool) {
        let id = frame.id
        let resp3 = frame.flags.contains(.resp3)
        if isWrite { loop.counters.writeRequests += 1 } else { loop.counters.readRequests += 1 }
        let sequence = Int(bitPattern: UInt(id))
        if frame.kind == .forwarded, let coordinator = loop.coordinator {
            node.clock.observe(frame.stamp)
            let context = Coordinator.Context(client: clientID, resp3: resp3, read: .dcOne, write: .dcOne, forwarded: true,
                                              version: frame.stamp)
            let outcome: Result<ByteBuffer, EngineError>?
            switch request {
            case .resp(let spec, let args): outcome = coordinator.execute(spec, args, context, receiver: self, sequence: sequence)
            case .memcached(let memcached): outcome = coordinator.execute(memcached: memcached, context, receiver: self, sequence: sequence)
            }
            switch outcome {
            case .success(let bytes)?: respond(id, .response, bytes)
            case .failure(let error)?: respond(id, .failure, ByteBuffer(string: error.message))
            case nil: break
            }
            return
        }
        if let refusal = Admission.check(node.settings.state, isWrite: isWrite) {
            loop.counters.refusedByState += 1
            return respond(id, .failure, ByteBuffer(string: refusal.text))
        }
        if isWrite, frame.stamp != 0, WallClock.nowMillis() - WriteVersion.millis(frame.stamp) > expiryMillis {
            // The coordinator gave up on this write long ago (a node frozen by SIGSTOP or a
            // stalled network delivers it late) and left a hint: the hint brings the key's state.
            // Running it now could apply a non-idempotent write (INCR, LPUSH) on top of that state.
            node.lateWritesRefused.add(1, ordering: .relaxed)
            return respond(id, .failure, ByteBuffer(string: "ERR Peer: the write arrived after its coordinator's timeout; not applied"))
        }
        // A peer's connection serves every client of its coordinator: a replica never waits.
        if case .resp(let spec, _) = request, let refusal = Admission.check(spec, sharedConnection: true) {
            return respond(id, .response, PendingReply.errorBytes(refusal.text))
        }
        let lengthAt = PeerFrame.begin(.response, id: id, into: &out.buffer)
        out.resp3 = resp3
        let origin = RequestOrigin(client: clientID, receiver: self, sequence: sequence)
        let execution: Execution
        let session = loop.session
        if isWrite, frame.stamp != 0 {
            // The coordinator's version: written with the data, and this node's clock moves past it.
            node.clock.observe(frame.stamp)
            session.version = frame.stamp
        }
        switch request {
        case .resp(let spec, let args):
            loop.counters.countDatastore(spec, args)
            execution = session.execute(spec, args, origin: origin, reply: &out)
        case .memcached(let memcached): execution = session.execute(memcached: memcached, origin: origin, reply: &out)
        }
        session.version = 0
        switch execution {
        case .answered:
            PeerFrame.finish(lengthAt: lengthAt, in: &out.buffer)
        case .later:
            out.buffer.moveWriterIndex(to: lengthAt - PeerFrame.lengthOffset)  // drop the header: the reply comes later
        case .failed(let error):
            // The storage could not run it: a failure frame, which the coordinator counts as a
            // missing replica, never as that replica's answer.
            out.buffer.moveWriterIndex(to: lengthAt - PeerFrame.lengthOffset)
            respond(id, .failure, ByteBuffer(string: error.message))
        }
    }

    private func respond(_ id: UInt64, _ kind: PeerFrame.Kind, _ payload: ByteBuffer) {
        PeerFrame(kind: kind, id: id, payload: payload).write(into: &out.buffer)
    }

    /// A reply that came after `execute` returned (forwarding engines, forwarded writes).
    func receive(_ reply: Result<ByteBuffer, EngineError>, for sequence: Int) {
        let id = UInt64(UInt(bitPattern: sequence))
        switch reply {
        case .success(let bytes): respond(id, .response, bytes)
        case .failure(let error): respond(id, .failure, ByteBuffer(string: error.message))
        }
        loop.wait(self)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if loop.mustWait {
            loop.wait(self)
            return
        }
        flush(context)
    }

    func flushAfterCommit(failure: String?) {
        guard let context else { return }
        if let failure {
            // The writes these responses acknowledge are not durable: the coordinator must see
            // them fail (connection lost), not succeed.
            logger.error("peer \(peerName): \(failure); closing the connection")
            out.buffer.clear()
            context.close(promise: nil)
            return
        }
        flush(context)
    }

    private func flush(_ context: ChannelHandlerContext) {
        guard out.buffer.readableBytes > 0 else { return }
        context.writeAndFlush(wrapOutboundOut(out.buffer), promise: nil)
        out.buffer = context.channel.allocator.buffer(capacity: 16 * 1024)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let tls = NodeTLS.describe(error) {
            logger.error("peer \(peerName): \(tls); refusing it")
            context.close(promise: nil)
            return
        }
        logger.error("peer \(peerName): \(error); closing the connection")
        context.close(promise: nil)
    }
}
