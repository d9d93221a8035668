import Engines
import Logging
import NIOCore
import Protocol
import Ring

extension Coordinator {
    /// Peer `target` did not acknowledge `request` (down, refused, timed out, storage down):
    /// it gets a hint for each of the request's keys. Hints do not count toward consistency.
    func missed(_ request: Request, target: Target) {
        guard case .peer(let peer) = target, peer < cluster.peers.count, let hints = node.hints else { return }
        let name = cluster.peers[peer].name
        switch request {
        case .resp(let spec, let args):
            guard let keys = ClusterKeys.indexes(spec, args) else { return }
            for i in keys where i < args.count { hints.record(target: name, key: args[i]) }
        case .memcached(let memcached):
            for key in memcached.keys { hints.record(target: name, key: key) }
        }
    }
}

/// Hinted handoff's replay (DESIGN.md §5a): once a target with hints is reachable again, each
/// hinted key's *current state* goes to it with the state's version, read from this node's own
/// copy when it holds one, else from another live replica. On the RocksDB engine the state is
/// `DYNAMIS.STATE` (version, absolute expiry, DUMP payload), written on the target with
/// `DYNAMIS.APPLY`, which applies it only if not older; on the Redis engine it is `DUMP` +
/// `PEXPIRETIME`, applied with
/// `RESTORE … REPLACE ABSTTL` or `DEL`. A hint is removed once its state is acknowledged,
/// unless the key missed another write meanwhile.
///
/// Runs on one event loop (its coordinator sends everything), a pass per target at a time,
/// `hinted_handoff_throttle` bytes of state per second per target.
final class HintReplayer {
    private let loop: LoopSession
    fileprivate let store: HintStore
    /// `hinted_handoff_throttle`, bytes per second per target.
    fileprivate let throttle: Int
    /// How a key's state is read and written: DYNAMIS.STATE / DYNAMIS.APPLY (RocksDB, versioned),
    /// DUMP + PEXPIRETIME / RESTORE (Redis engine), mg / ms or md (memcached engine).
    fileprivate enum StateKind { case versioned, redis, memcached }
    fileprivate let kind: StateKind
    private let logger: Logger
    fileprivate let clientID: Int
    private var passes: [String: HintPass] = [:]
    /// A target whose last pass failed is retried no sooner than this (ms).
    private var retryAfter: [String: Int64] = [:]

    init(loop: LoopSession, store: HintStore, node: NodeContext, logger: Logger) {
        self.loop = loop
        self.store = store
        self.throttle = node.config.hintedHandoffThrottle
        switch node.config.dataStore {
        case .rocksdb: kind = .versioned
        case .redis: kind = .redis
        case .memcached: kind = .memcached
        }
        self.logger = logger
        self.clientID = node.nextClientID.add(1, ordering: .relaxed).oldValue
        self.settle = Int64(node.config.timeoutMilliseconds * node.settings.timeoutFactor.load(ordering: .relaxed))
    }

    /// Called on the loop every tick: starts a pass for each reachable target with hints, and
    /// lets throttled passes go on.
    func tick() {
        guard let coordinator = loop.coordinator else { return }
        let now = WallClock.nowMillis()
        for (name, count) in store.pending where passes[name] == nil && !probing.contains(name) && (retryAfter[name] ?? 0) <= now {
            guard let peer = coordinator.cluster.peerIndex[name] else { continue }
            guard coordinator.links.connection(to: peer, client: clientID).isConnected else { continue }
            if let ready = readyAt[name] {
                guard ready <= now else { continue }
                readyAt[name] = nil
                logger.info("hinted handoff: \(name) is answering; sending it the state of \(count) key(s) it missed")
                let pass = HintPass(replayer: self, coordinator: coordinator, target: name, peer: .peer(peer))
                passes[name] = pass
                pass.pump()
                continue
            }
            // A link can be up while its node is frozen (SIGSTOP, a stalled VM): a pass starts
            // only once the target answers, and then one `timeout` later. Every write that waited
            // in its sockets while it was frozen has by then either run or been refused as late
            // (its key hinted), so no state races a write it already contains.
            probing.insert(name)
            let context = Coordinator.Context(client: clientID, resp3: false, read: .dcOne, write: .dcOne)
            // A memcached node is asked in its clients' protocol (a RESP request would reach its memcached).
            let probe: Coordinator.Request = kind == .memcached
                ? .memcached(MemcachedStateCopy.request("version\r\n")!)
                : .resp(Self.probe, [ByteBuffer(string: "exists"), ByteBuffer(string: "dynamis:probe")])
            coordinator.send(to: .peer(peer), .request, probe, context, isWrite: false, receiver: Probe { [self] answered in
                                 probing.remove(name)
                                 guard answered else {
                                     retryAfter[name] = WallClock.nowMillis() + 2000
                                     return
                                 }
                                 readyAt[name] = WallClock.nowMillis() + settle
                             }, index: 0)
        }
        for pass in passes.values { pass.pump() }
    }

    private var probing: Set<String> = []
    /// Targets that answered a probe, and when their pass may start.
    private var readyAt: [String: Int64] = [:]
    /// A write older than this is refused by its replica (the peers' `timeout`).
    private let settle: Int64
    private static let probe = CommandTable.lookup("exists")!

    fileprivate func finished(_ pass: HintPass, completely: Bool) {
        guard passes[pass.target] === pass else { return }
        passes[pass.target] = nil
        if !completely { retryAfter[pass.target] = WallClock.nowMillis() + 2000 }
        if completely, store.pending[pass.target] == nil {
            logger.info("hinted handoff: \(pass.target) caught up (\(pass.delivered) key(s) sent)")
        } else if !completely {
            logger.info("hinted handoff: sending to \(pass.target) stopped after \(pass.delivered) key(s) (\(pass.reason)); will retry")
        }
    }
}

/// One target's replay pass: walks its hints in key order, a few in flight at once.
private final class HintPass {
    unowned let replayer: HintReplayer
    let coordinator: Coordinator
    let target: String
    let peer: Target
    private var cursor: [UInt8]?
    private var queue: [HintStore.Hint] = []
    private var exhausted = false
    private var inFlight = 0
    private var failed = false
    private var windowStart = WallClock.nowMillis()
    private var bytesInWindow = 0
    private(set) var delivered = 0
    static let maxInFlight = 16

    init(replayer: HintReplayer, coordinator: Coordinator, target: String, peer: Target) {
        self.replayer = replayer
        self.coordinator = coordinator
        self.target = target
        self.peer = peer
    }

    func pump() {
        let now = WallClock.nowMillis()
        if now - windowStart >= 1000 {
            windowStart = now
            bytesInWindow = 0
        }
        while !failed, inFlight < Self.maxInFlight, bytesInWindow < replayer.throttle {
            if queue.isEmpty {
                if exhausted { break }
                queue = replayer.store.hints(for: target, after: cursor, limit: 256)
                if queue.count < 256 { exhausted = true }
                guard let last = queue.last else { break }
                cursor = last.storedKey
            }
            let hint = queue.removeFirst()
            if now - hint.recordedAt > replayer.store.window {
                replayer.store.remove(hint, target: target, dropped: true)
                continue
            }
            // A membership change moved the key away from the target: its new owner got the
            // key by the change's stream, and a copy here would be one the target no longer owns.
            if !coordinator.holdsCopy(target, token: coordinator.tokenizer.token(of: hint.key)) {
                replayer.store.remove(hint, target: target)
                continue
            }
            inFlight += 1
            HintDelivery(pass: self, hint: hint).start()
        }
        if inFlight == 0, (failed || (exhausted && queue.isEmpty)) { replayer.finished(self, completely: !failed) }
    }

    func delivered(_ hint: HintStore.Hint, bytes: Int) {
        inFlight -= 1
        delivered += 1
        bytesInWindow += bytes
        replayer.store.remove(hint, target: target)
        pump()
    }

    /// Why the pass stopped, for the log.
    private(set) var reason = ""

    func failed(_ hint: HintStore.Hint, _ why: String) {
        inFlight -= 1
        if !failed { reason = why }
        failed = true
        if inFlight == 0 { replayer.finished(self, completely: false) }
    }

    func context(version: UInt64) -> Coordinator.Context {
        Coordinator.Context(client: replayer.clientID, resp3: false, read: .dcOne, write: .dcOne, version: version)
    }
}

/// One hinted key: read its state from a replica other than the target, then apply it there.
final class HintDelivery: ReplyReceiver {
    fileprivate let pass: HintPass
    private let hint: HintStore.Hint
    private let key: ByteBuffer
    private var dump: ByteBuffer?
    private var expireTime: ByteBuffer?
    private var applyBytes = 0
    /// Where the state is read from (`start`).
    private var source = Target.local
    /// Times the state is read again after the target held a newer version.
    private var rereads = 0

    fileprivate init(pass: HintPass, hint: HintStore.Hint) {
        self.pass = pass
        self.hint = hint
        self.key = ByteBuffer(bytes: hint.key)
    }

    /// Step 1: the key's state, from this node when it is a replica, else from another live one.
    func start() {
        let coordinator = pass.coordinator
        let token = coordinator.tokenizer.token(of: key.readableBytesView)
        let owners = coordinator.localOwners(token).filter { $0 != pass.peer }
        let source = owners.contains(Target.local) ? Target.local : owners.first
        guard let source else { return pass.failed(hint, "no live replica to read the state from") }
        self.source = source
        let context = pass.context(version: 0)
        switch pass.replayer.kind {
        case .versioned:
            coordinator.send(to: source, .request, StateTransfer.stateRequest(key: key, chunk: coordinator.node.config.stateChunkSize),
                             context, isWrite: false, receiver: self, index: 0)
        case .redis:
            StateCopy.readState(of: key, from: source, via: coordinator, context: context, receiver: self, indexes: (1, 2))
        case .memcached:
            guard let read = MemcachedStateCopy.read(key) else { return pass.failed(hint, "a key memcached cannot be asked for") }
            coordinator.send(to: source, .request, .memcached(read), context, isWrite: false, receiver: self, index: 4)
        }
    }

    func receive(_ reply: Result<ByteBuffer, EngineError>, for step: Int) {
        let bytes: ByteBuffer
        switch reply {
        case .success(let answer): bytes = answer
        case .failure(let error): return pass.failed(hint, error.message)
        }
        switch step {
        case 0: applyVersioned(bytes)
        case 1:
            dump = bytes
            if expireTime != nil { applyUnversioned() }
        case 2:
            expireTime = bytes
            if dump != nil { applyUnversioned() }
        case 4:
            guard let write = MemcachedStateCopy.write(key, fromReply: bytes) else {
                return pass.failed(hint, "unexpected mg reply \(String(buffer: bytes).prefix(40))")
            }
            apply(.memcached(write))
        default:
            // Step 3: the target answered the apply. `:0`: it holds a newer version, which a
            // read-modify-write may have made on top of an older state: read the state again
            // (the source saw that write too, if it coordinated it), at most twice.
            if RESPToken(bytes).integer == 0, rereads < 2 {
                rereads += 1
                return start()
            }
            // An error reply (a payload the target cannot read) is logged and the hint dropped:
            // sending it again would not help.
            if bytes.readableBytesView.first == UInt8(ascii: "-") || bytes.readableBytesView.starts(with: "SERVER_ERROR".utf8)
                || bytes.readableBytesView.starts(with: "CLIENT_ERROR".utf8) {
                pass.coordinator.logger.warning("hinted handoff: \(pass.target) refused the state of a key: \(String(buffer: bytes).trimmingCharacters(in: .whitespacesAndNewlines))")
            }
            pass.delivered(hint, bytes: applyBytes)
        }
    }

    /// `[version, expire-at, payload|nil]` from DYNAMIS.STATE.
    private func applyVersioned(_ bytes: ByteBuffer) {
        guard let parts = MergedReply.elements(bytes), let state = VersionedState(parts) else {
            return pass.failed(hint, "unexpected state reply \(String(buffer: bytes).prefix(40))")
        }
        if state.version == 0 { return pass.delivered(hint, bytes: 0) }  // nothing stored anywhere: nothing to send
        // A big collection goes in parts, one at a time; the throttle is charged the first.
        let transfer = StateTransfer(coordinator: pass.coordinator, key: key, first: state, from: source, to: [pass.peer],
                                     client: pass.replayer.clientID) { [self] _, applied in receive(applied, for: 3) }
        applyBytes = transfer.partBytes
        transfer.start()
    }

    private func applyUnversioned() {
        guard let dump, let expireTime, let request = StateCopy.writeState(of: key, dump: dump, expireTime: expireTime) else {
            return pass.failed(hint, "unexpected state reply \(String(buffer: expireTime ?? ByteBuffer()).prefix(40))")
        }
        apply(request)
    }

    /// Step 2: the state goes to the target, in a frame stamped now (so a frozen target refuses
    /// it if it arrives after the timeout, like any late write).
    private func apply(_ request: Coordinator.Request) {
        switch request {
        case .resp(_, let args): applyBytes = args.reduce(0) { $0 + $1.readableBytes }
        case .memcached(let memcached): applyBytes = memcached.raw.readableBytes
        }
        let stamp = pass.coordinator.node.clock.next()
        pass.coordinator.send(to: pass.peer, .request, request, pass.context(version: stamp), isWrite: true, receiver: self, index: 3)
    }
}

/// The answer to a liveness probe: any reply (even an error) means the target is running.
private final class Probe: ReplyReceiver {
    private let then: (Bool) -> Void

    init(_ then: @escaping (Bool) -> Void) { self.then = then }

    func receive(_ reply: Result<ByteBuffer, EngineError>, for sequence: Int) {
        if case .success = reply { then(true) } else { then(false) }
    }
}

/// A memcached key's state between replicas (memcached 1.6's meta commands): `mg <key> v f t`
/// reads value, client flags and remaining TTL; `ms <key> <size> F<flags> T<ttl>` writes them,
/// `md <key>` removes a key the source no longer has. memcached keeps no versions: the
/// source's state at replay time is what the target gets, as on the Redis engine.
enum MemcachedStateCopy {
    /// A request parsed from its wire text (nil if it is not exactly one request).
    static func request(_ text: String) -> MemcachedRequest? { request(ByteBuffer(string: text)) }

    static func request(_ bytes: ByteBuffer) -> MemcachedRequest? {
        var buffer = bytes
        var parser = MemcachedRequestParser()
        guard case .request(let request) = parser.next(from: &buffer), buffer.readableBytes == 0 else { return nil }
        return request
    }

    static func read(_ key: ByteBuffer) -> MemcachedRequest? {
        var bytes = ByteBuffer(string: "mg ")
        bytes.writeImmutableBuffer(key)
        bytes.writeString(" v f t\r\n")
        return request(bytes)
    }

    /// The write that gives a replica the state in an `mg ... v f t` reply (`EN`: a delete);
    /// nil for any other reply.
    static func write(_ key: ByteBuffer, fromReply reply: ByteBuffer) -> MemcachedRequest? {
        let view = reply.readableBytesView
        if view.elementsEqual("EN\r\n".utf8) {
            var bytes = ByteBuffer(string: "md ")
            bytes.writeImmutableBuffer(key)
            bytes.writeString("\r\n")
            return request(bytes)
        }
        guard let lineEnd = view.firstIndex(of: UInt8(ascii: "\r")) else { return nil }
        let words = String(decoding: view[view.startIndex..<lineEnd], as: UTF8.self).split(separator: " ")
        guard words.count >= 2, words[0] == "VA", let size = Int(words[1]), size >= 0 else { return nil }
        var flags = "0"
        var ttl = -1
        for word in words.dropFirst(2) {
            if word.hasPrefix("f") { flags = String(word.dropFirst()) }
            if word.hasPrefix("t"), let value = Int(word.dropFirst()) { ttl = value }
        }
        let dataStart = lineEnd + 2
        guard view.endIndex - dataStart == size + 2 else { return nil }
        var bytes = ByteBuffer(string: "ms ")
        bytes.writeImmutableBuffer(key)
        // An item with no expiry answers t-1; T0 stores one that never expires.
        bytes.writeString(" \(size) F\(flags) T\(ttl < 0 ? 0 : max(ttl, 1))\r\n")
        bytes.writeBytes(view[dataStart..<(dataStart + size)])
        bytes.writeString("\r\n")
        return request(bytes)
    }
}
