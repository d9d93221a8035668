import Logging
import NIOCore
import NIOPosix
import Protocol

/// How requests and responses look on a backend connection.
protocol BackendWire: Sendable {
    init()
    /// The next complete response for a request of `kind`, or nil when more bytes are needed.
    mutating func next(from buffer: inout ByteBuffer, kind: UInt8) throws -> ByteBuffer?
}

/// A redis-server: RESP replies, one per request.
struct RESPWire: BackendWire {
    private var framer = RESPReplyFramer()
    mutating func next(from buffer: inout ByteBuffer, kind: UInt8) throws -> ByteBuffer? {
        try framer.next(from: &buffer)
    }
}

/// A memcached: text responses, shaped by the request.
struct MemcachedWire: BackendWire {
    private var framer = MemcachedResponseFramer()
    mutating func next(from buffer: inout ByteBuffer, kind: UInt8) throws -> ByteBuffer? {
        try framer.next(from: &buffer, kind: MemcachedRequest.ResponseKind(rawValue: kind) ?? .line)
    }
}

/// A request waiting for its backend reply. Outside the generic connection class so that
/// `CircularBuffer<InFlight>` is specialized instead of looking up generic metadata per call.
private struct InFlight {
    /// nil once the request has timed out: its reply is then dropped.
    var receiver: (any ReplyReceiver)?
    let sequence: Int
    /// What shape of response to expect (memcached), 0 for RESP.
    let kind: UInt8
    let deadline: NIODeadline
}

/// One pipelined connection from an event loop to the backend (redis-server or memcached).
///
/// Requests are appended to an outbound buffer and written once per loop pass (`flush`);
/// replies are matched to requests in order and handed over as raw slices. A request still
/// unanswered after `timeout` fails with a Storage error, and its reply, when it comes, is
/// dropped in its turn. When the backend goes away, everything in flight fails at once, new
/// requests fail fast, and the connection is retried with capped exponential backoff.
final class BackendConnection<Wire: BackendWire>: ReplyReceiver, @unchecked Sendable {  // only used on its event loop
    let eventLoop: EventLoop
    private let options: BackendOptions
    private let logger: Logger
    private var link: LinkState
    private var inFlight = CircularBuffer<InFlight>()
    private var outbound: ByteBuffer
    private var wire = Wire()
    private var unparsed: ByteBuffer?
    private var timeoutTask: RepeatedTask?
    /// The deadline of the requests queued since the last flush: the clock is read once per
    /// loop pass, not once per request (requests of a pass are written together anyway).
    private var passDeadline: NIODeadline?

    init(eventLoop: EventLoop, options: BackendOptions, logger: Logger) {
        self.eventLoop = eventLoop
        self.options = options
        self.logger = logger
        self.link = LinkState(retryCapMilliseconds: options.retryCapMilliseconds)
        self.outbound = ByteBufferAllocator().buffer(capacity: 16 * 1024)
        let interval = TimeAmount.milliseconds(Int64(max(5, min(options.timeoutMilliseconds / 4, 100))))
        timeoutTask = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] _ in
            self?.expireTimedOut()
        }
        // Made on its loop (the RESP3 pool, on its first request): connecting at once lets the
        // requests that follow queue for the first connect instead of failing.
        if eventLoop.inEventLoop { connect() } else { eventLoop.execute { self.connect() } }
    }

    var hasUnflushedRequests: Bool { outbound.readableBytes > 0 }

    /// Queues a request (encoded as RESP); its reply goes to `origin.receiver`. Returns the
    /// error to answer at once when the request cannot be sent.
    func send(_ arguments: [ByteBuffer], origin: RequestOrigin) -> EngineError? {
        guard link.acceptsRequests else { return EngineError.refused }
        guard inFlight.count < options.maxInFlight else { return EngineError.overloaded }
        RESPEncoding.request(arguments, into: &outbound)
        inFlight.append(InFlight(receiver: origin.receiver, sequence: origin.sequence, kind: 0, deadline: deadline()))
        return nil
    }

    /// Queues a request already in the backend's wire format. Without `kind` (memcached's
    /// `noreply`) nothing is expected back.
    func send(raw request: ByteBuffer, kind: UInt8?, origin: RequestOrigin) -> EngineError? {
        guard link.acceptsRequests else { return EngineError.refused }
        guard inFlight.count < options.maxInFlight else { return EngineError.overloaded }
        var request = request
        outbound.writeBuffer(&request)
        if let kind {
            inFlight.append(InFlight(receiver: origin.receiver, sequence: origin.sequence, kind: kind, deadline: deadline()))
        }
        return nil
    }

    /// The replies to this connection's own AUTH (sequence 0) and HELLO 3 (sequence 1).
    func receive(_ reply: Result<ByteBuffer, EngineError>, for sequence: Int) {
        if case .success(let bytes) = reply, bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) == UInt8(ascii: "-") {
            logger.error("backend \(options.host):\(options.port) refused \(sequence == 0 ? "AUTH" : "HELLO 3"): \(String(buffer: bytes))")
        }
    }

    private func deadline() -> NIODeadline {
        if let passDeadline { return passDeadline }
        let deadline = NIODeadline.now() + .milliseconds(Int64(options.timeoutMilliseconds))
        passDeadline = deadline
        return deadline
    }

    /// Writes every queued request in one go.
    func flush() {
        passDeadline = nil
        guard outbound.readableBytes > 0, let channel = link.channel else { return }
        channel.writeAndFlush(outbound, promise: nil)
        outbound.clear()
    }

    // MARK: - Connection lifecycle

    private func connect() {
        guard link.startConnecting() else { return }
        // Requests taken while connecting fail like the connection if it does not come up.
        ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.milliseconds(Int64(options.timeoutMilliseconds)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(BackendReplyHandler(connection: self))
                }
            }
            .connect(host: options.host, port: options.port)
            .whenComplete { result in
                switch result {
                case .success(let channel): self.connected(channel)
                case .failure(let error):
                    guard let delay = self.link.failed() else { return }
                    self.logger.debug("backend \(self.options.host):\(self.options.port) refused: \(error)")
                    self.failAll(EngineError.refused)
                    self.scheduleReconnect(in: delay)
                }
            }
    }

    private func connected(_ channel: Channel) {
        guard link.connected(channel) else {
            channel.close(promise: nil)
            return
        }
        logger.notice("connected to backend \(options.host):\(options.port)")
        if options.password != nil || options.resp3 {
            // AUTH, then HELLO 3 for the RESP3 pool, go first on the connection, ahead of
            // anything queued while connecting, so every request runs authenticated and gets its
            // replies in its client's protocol.
            var queued = outbound
            outbound.clear()
            let queuedInFlight = inFlight
            inFlight.removeAll()
            if let password = options.password {
                _ = send([ByteBuffer(string: "AUTH"), ByteBuffer(string: password)],
                         origin: RequestOrigin(client: 0, receiver: self, sequence: 0))
            }
            if options.resp3 {
                _ = send([ByteBuffer(string: "HELLO"), ByteBuffer(string: "3")], origin: RequestOrigin(client: 0, receiver: self, sequence: 1))
            }
            outbound.writeBuffer(&queued)
            inFlight.append(contentsOf: queuedInFlight)
        }
        flush()
    }

    private func scheduleReconnect(in delay: TimeAmount) {
        eventLoop.scheduleTask(in: delay) { self.connect() }
    }

    /// The channel closed or failed: everything in flight fails, and a reconnect is scheduled.
    func disconnected() {
        let wasReady = link.channel != nil
        guard let delay = link.failed() else { return }
        if wasReady { logger.warning("lost backend \(options.host):\(options.port)") }
        failAll(EngineError.lost)
        scheduleReconnect(in: delay)
    }

    private func failAll(_ error: EngineError) {
        outbound.clear()
        unparsed = nil
        wire = Wire()
        while let entry = inFlight.popFirst() { entry.receiver?.receive(.failure(error), for: entry.sequence) }
    }

    // MARK: - Replies

    func received(_ data: ByteBuffer) {
        var buffer: ByteBuffer
        if var pending = unparsed {
            var data = data
            pending.writeBuffer(&data)
            buffer = pending
            unparsed = nil
        } else {
            buffer = data
        }
        do {
            while let head = inFlight.first, let reply = try wire.next(from: &buffer, kind: head.kind) {
                inFlight.removeFirst()
                head.receiver?.receive(.success(reply), for: head.sequence)
            }
        } catch {
            logger.error("backend sent malformed data; reconnecting")
            closeChannel()
            return
        }
        if inFlight.isEmpty, buffer.readableBytes > 0 {
            logger.error("backend sent a reply nobody asked for; reconnecting")
            closeChannel()
            return
        }
        if buffer.readableBytes > 0 { unparsed = buffer }
    }

    private func expireTimedOut() {
        let now = NIODeadline.now()
        var index = inFlight.startIndex
        while index != inFlight.endIndex, inFlight[index].deadline <= now {
            if let receiver = inFlight[index].receiver {
                inFlight[index].receiver = nil
                receiver.receive(.failure(EngineError.timedOut), for: inFlight[index].sequence)
            }
            index = inFlight.index(after: index)
        }
    }

    private func closeChannel() {
        link.channel?.close(promise: nil)
    }

    /// Closes for good. A second call does nothing: the pool's deinit may run after the loop
    /// is gone, where even cancelling a task would try to schedule on it.
    func close() {
        guard !link.isClosed else { return }
        link.close()?.close(promise: nil)
        timeoutTask?.cancel()
        failAll(EngineError.lost)
    }
}

/// Feeds a backend channel's bytes and closure to its `BackendConnection`.
final class BackendReplyHandler<Wire: BackendWire>: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let connection: BackendConnection<Wire>

    init(connection: BackendConnection<Wire>) { self.connection = connection }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection.received(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.disconnected()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
