import Engines
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Protocol
import Ring

/// Why a request to a peer got no answer, in Dynomite's words (`ERR Peer: ...`).
enum PeerError {
    static let notConnected = EngineError("ERR Peer: Peer Node is not connected", cause: .peer)
    static let lost = EngineError("ERR Peer: Peer Node connection lost", cause: .peer)
    static let timedOut = EngineError("ERR Peer: Peer Node timed out", cause: .peer)
    static let overloaded = EngineError("ERR Peer: too many requests in flight to the peer", cause: .peer)
}

/// One outgoing connection from an event loop to a peer, multiplexing many requests.
///
/// Requests are framed into an outbound buffer and written once per loop pass; responses are
/// matched by request id, in any order. A request unanswered after the timeout fails (the
/// connection stays up: one slow request does not fail the others), and its late response is
/// dropped. When the peer goes away, everything in flight fails at once, new requests fail
/// fast, and the connection is retried with capped exponential backoff.
final class PeerConnection: @unchecked Sendable {  // only used on its event loop
    let eventLoop: EventLoop
    let peer: Node
    private let peerIndex: Int
    private let status: PeerStatus
    private let hello: String
    private let authentication: PeerAuthentication
    /// The connected channel while the handshake runs; requests wait in `outbound` until the
    /// peer's welcome.
    private var handshaking: Channel?
    private var clientNonce = ""
    private let timeout: TimeAmount
    private let logger: Logger
    /// Set when `secure_server_option` wants this link encrypted (mutual TLS with the cluster CA).
    private let tls: NIOSSLContext?
    private var link: LinkState
    private var inFlight = InFlightRequests()
    private var outbound: ByteBuffer
    private var flushScheduled = false
    /// The deadline of the requests queued for the next flush: the clock is read once per
    /// loop pass, not once per request.
    private var passDeadline = NIODeadline.now()
    private var timeoutTask: RepeatedTask?
    /// This connection's request outcomes (read by a scrape, on this loop).
    private(set) var counters = PeerCounters()
    /// A safety net far above what client backpressure lets through; beyond it requests fail
    /// with an error rather than being queued without bound (or dropped silently).
    static let maxInFlight = 1_000_000

    init(eventLoop: EventLoop, peer: Node, peerIndex: Int, status: PeerStatus, local: Node, tls: NIOSSLContext?,
         authentication: PeerAuthentication, timeoutMilliseconds: Int, retryCapMilliseconds: Int, logger: Logger) {
        self.eventLoop = eventLoop
        self.tls = tls
        self.authentication = authentication
        self.peer = peer
        self.peerIndex = peerIndex
        self.status = status
        self.hello = "\(local.name) \(local.datacenter) \(local.rack) \(local.token)"
        self.timeout = .milliseconds(Int64(timeoutMilliseconds))
        self.link = LinkState(retryCapMilliseconds: max(retryCapMilliseconds, 100))
        self.logger = logger
        self.outbound = ByteBufferAllocator().buffer(capacity: 16 * 1024)
        let interval = TimeAmount.milliseconds(Int64(max(5, min(timeoutMilliseconds / 4, 100))))
        timeoutTask = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] _ in
            self?.expireTimedOut()
        }
        eventLoop.execute { self.connect() }
    }

    var isConnected: Bool { link.channel != nil }
    /// Connected and past the handshake: a request now would be sent, not refused.
    var isReady: Bool { link.acceptsRequests }

    /// Queues a request; its answer goes to `receiver` as `sequence`. Returns the error to
    /// answer at once when the request cannot be sent.
    func send(_ kind: PeerFrame.Kind, flags: PeerFrame.Flags, stamp: UInt64 = 0, _ arguments: ArraySlice<ByteBuffer>,
              receiver: any ReplyReceiver, sequence: Int) -> EngineError? {
        enqueue(kind, flags: flags, stamp: stamp, receiver: receiver, sequence: sequence) { RESPEncoding.request(arguments, into: &$0) }
    }

    /// Queues a request whose payload is already framed (a memcached request as it came).
    func send(_ kind: PeerFrame.Kind, flags: PeerFrame.Flags, stamp: UInt64 = 0, raw payload: ByteBuffer,
              receiver: any ReplyReceiver, sequence: Int) -> EngineError? {
        enqueue(kind, flags: flags, stamp: stamp, receiver: receiver, sequence: sequence) { $0.writeImmutableBuffer(payload) }
    }

    @inline(__always)
    private func enqueue(_ kind: PeerFrame.Kind, flags: PeerFrame.Flags, stamp: UInt64, receiver: any ReplyReceiver, sequence: Int,
                         payload: (inout ByteBuffer) -> Void) -> EngineError? {
        guard link.acceptsRequests else {
            counters.notSent += 1
            return PeerError.notConnected
        }
        guard inFlight.span < Self.maxInFlight else {
            counters.notSent += 1
            return PeerError.overloaded
        }
        counters.sent += 1
        let lengthAt = PeerFrame.begin(kind, flags: flags, id: inFlight.nextID, stamp: stamp, into: &outbound)
        payload(&outbound)
        PeerFrame.finish(lengthAt: lengthAt, in: &outbound)
        if !flushScheduled { passDeadline = .now() + timeout }
        _ = inFlight.add(.init(receiver: receiver, sequence: sequence, deadline: passDeadline))
        scheduleFlush()
        return nil
    }

    /// Requests go out once per loop pass, after every connection of the pass has added its own.
    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        eventLoop.execute { self.flush() }
    }

    private func flush() {
        flushScheduled = false
        guard outbound.readableBytes > 0, let channel = link.channel else { return }
        channel.writeAndFlush(outbound, promise: nil)
        outbound = channel.allocator.buffer(capacity: 16 * 1024)
    }

    // MARK: - Connection lifecycle

    private func connect() {
        guard link.startConnecting() else { return }
        ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .connectTimeout(timeout)
            .channelInitializer { [tls] channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: nil))
                    }
                    try channel.pipeline.syncOperations.addHandler(PeerResponseHandler(connection: self))
                }
            }
            .connect(host: peer.host, port: peer.port)
            .whenComplete { result in
                switch result {
                case .success(let channel): self.connected(channel)
                case .failure(let error):
                    guard !self.link.isClosed else { return }
                    if !self.link.everConnected || self.link.isFirstFailure {
                        self.logger.debug("peer \(self.peer.name) refused: \(error)")
                    }
                    guard let delay = self.link.failed() else { return }
                    self.failAll(PeerError.notConnected)
                    self.scheduleReconnect(in: delay)
                }
            }
    }

    private func connected(_ channel: Channel) {
        guard !link.isClosed else {
            channel.close(promise: nil)
            return
        }
        handshaking = channel
        sendHello(hello, on: channel)
        // A peer that never answers the handshake is dropped and retried like a refused one.
        eventLoop.scheduleTask(in: timeout) {
            if let stuck = self.handshaking, stuck === channel {
                self.logger.warning("peer \(self.peer.name) did not complete the handshake in time")
                stuck.close(promise: nil)
            }
        }
    }

    private func sendHello(_ text: String, on channel: Channel) {
        var frame = channel.allocator.buffer(capacity: text.utf8.count + 32)
        PeerFrame(kind: .hello, id: 0, payload: ByteBuffer(string: text)).write(into: &frame)
        channel.writeAndFlush(frame, promise: nil)
    }

    /// The listener's side of the handshake (see `PeerAuthentication`).
    private func handshake(_ text: String, on channel: Channel) {
        let words = text.split(separator: " ")
        switch (words.first, authentication.secret) {
        case ("challenge", nil):
            logger.error("peer \(peer.name) requires a peer secret; set peer_secret (or requirepass) as on that node")
            channel.close(promise: nil)
        case ("challenge", _) where words.count == 2:
            clientNonce = PeerAuthentication.nonce()
            sendHello("auth \(authentication.connectorProof(words[1])) \(clientNonce)", on: channel)
        case ("welcome", nil) where words.count == 1:
            established(channel)
        case ("welcome", _) where words.count == 2 && PeerAuthentication.matches(words[1], authentication.listenerProof(Substring(clientNonce))):
            established(channel)
        case ("welcome", _):
            logger.error("peer \(peer.name) did not prove it knows the peer secret; not linking to it")
            channel.close(promise: nil)
        default:
            logger.error("peer \(peer.name) sent an unexpected handshake message; closing the connection")
            channel.close(promise: nil)
        }
    }

    private func established(_ channel: Channel) {
        handshaking = nil
        guard link.connected(channel) else {
            channel.close(promise: nil)
            return
        }
        status.up(peerIndex)
        logger.info("connected to peer \(peer)")
        flush()
    }

    private func scheduleReconnect(in delay: TimeAmount) {
        eventLoop.scheduleTask(in: delay) { self.connect() }
    }

    /// The channel closed or failed: everything in flight fails and a reconnect is scheduled.
    func disconnected() {
        let wasReady = link.channel != nil
        if handshaking != nil, !wasReady, link.isFirstFailure {
            logger.warning("peer \(peer.name) closed the connection during the handshake (a different peer_secret?)")
        }
        handshaking = nil
        guard let delay = link.failed() else { return }
        if wasReady {
            status.down(peerIndex)
            logger.warning("lost peer \(peer)")
        }
        failAll(PeerError.lost)
        scheduleReconnect(in: delay)
    }

    private func failAll(_ error: EngineError) {
        outbound.clear()
        let failed = inFlight.removeAll()
        counters.lost += failed.count
        // In id order: the send order, so a client's replies are failed in its request order.
        for entry in failed { entry.receiver.receive(.failure(error), for: entry.sequence) }
    }

    // MARK: - Responses

    func received(_ frame: PeerFrame) {
        switch frame.kind {
        case .response, .failure:
            guard let entry = inFlight.take(frame.id) else { return }  // timed out earlier
            if frame.kind == .response { counters.answered += 1 } else { counters.refused += 1 }
            if frame.kind == .response {
                entry.receiver.receive(.success(frame.payload), for: entry.sequence)
            } else {
                entry.receiver.receive(.failure(EngineError(String(buffer: frame.payload), cause: .peer)), for: entry.sequence)
            }
        case .hello:
            guard let channel = handshaking else {
                logger.error("peer \(peer.name) sent a handshake message after the handshake; closing the connection")
                return closeChannel()
            }
            handshake(String(buffer: frame.payload), on: channel)
        case .request, .forwarded:
            logger.error("peer \(peer.name) sent a request on an outgoing connection; closing it")
            closeChannel()
        }
    }

    /// A malformed frame closes only this connection.
    func malformed(_ error: Error) {
        if let tls = NodeTLS.describe(error) {
            if link.isFirstFailure || link.everConnected { logger.error("peer \(peer.name): \(tls); not linking to it") }
            return closeChannel()
        }
        logger.error("peer \(peer.name) sent a malformed frame (\(error)); closing the connection")
        closeChannel()
    }

    private func expireTimedOut() {
        let expired = inFlight.expire(now: .now())
        counters.timedOut += expired.count
        for entry in expired { entry.receiver.receive(.failure(PeerError.timedOut), for: entry.sequence) }
    }

    private func closeChannel() {
        link.channel?.close(promise: nil)
        handshaking?.close(promise: nil)
    }

    func close() {
        handshaking?.close(promise: nil)
        if let channel = link.close() {
            channel.close(promise: nil)
            status.down(peerIndex)
        }
        timeoutTask?.cancel()
        failAll(PeerError.lost)
    }
}

/// Feeds an outgoing peer channel's frames and closure to its `PeerConnection`.
final class PeerResponseHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let connection: PeerConnection
    private var frames = PeerFrameReader()

    init(connection: PeerConnection) { self.connection = connection }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do {
            try frames.read(unwrapInboundIn(data)) { connection.received($0) }
        } catch {
            errorCaught(context: context, error: error)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.disconnected()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        connection.malformed(error)
        context.close(promise: nil)
    }
}

/// A loop's connections to every peer: `local_peer_connections` (same DC) or
/// `remote_peer_connections` (other DCs) each. A client's requests to one peer always take
/// the same connection, so each replica sees them in the client's order.
final class PeerLinks: @unchecked Sendable {  // only used on its event loop
    private let pools: [[PeerConnection]]

    init(eventLoop: EventLoop, cluster: ClusterMap, config: DynamisConfig, status: PeerStatus, tls: NodeTLS?, logger: Logger) {
        pools = cluster.peers.enumerated().map { index, peer in
            let count = peer.datacenter == cluster.local.datacenter ? config.localPeerConnections : config.remotePeerConnections
            let encrypted = NodeTLS.linkRequiresTLS(option: config.secureServerOption, localRack: cluster.local.rack,
                                                    localDatacenter: cluster.local.datacenter,
                                                    peerRack: peer.rack, peerDatacenter: peer.datacenter)
            return (0..<max(count, 1)).map { _ in
                PeerConnection(eventLoop: eventLoop, peer: peer, peerIndex: index, status: status, local: cluster.local,
                               tls: encrypted ? tls?.peerConnectorContext : nil,
                               authentication: PeerAuthentication(secret: config.peerSecret ?? config.requirePass),
                               timeoutMilliseconds: config.timeoutMilliseconds,
                               retryCapMilliseconds: config.serverRetryTimeout, logger: logger)
            }
        }
    }

    @inline(__always)
    func connection(to peer: Int, client: Int) -> PeerConnection {
        let pool = pools[peer]
        return pool.count == 1 ? pool[0] : pool[client % pool.count]
    }

    func isConnected(_ peer: Int) -> Bool { pools[peer].contains { $0.isConnected } }
    /// Every connection to the peer takes requests.
    func isReady(_ peer: Int) -> Bool { pools[peer].allSatisfy { $0.isReady } }

    /// Each peer's request outcomes over its connections from this loop.
    func counters() -> [PeerCounters] {
        pools.map { pool in pool.reduce(PeerCounters()) { $0 + $1.counters } }
    }

    func closeAll() {
        for pool in pools { for connection in pool { connection.close() } }
    }
}
