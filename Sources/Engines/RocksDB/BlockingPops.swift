import NIOConcurrencyHelpers
import NIOCore
import Protocol
import Synchronization

/// Clients blocked in BLPOP and friends, by key. A push to a key wakes its waiters, each of
/// which retries on its own event loop; the count lets pushes skip the lock when nobody waits.
final class BlockingRegistry: Sendable {
    private let waiters = NIOLockedValueBox<[[UInt8]: [BlockedPop]]>([:])
    private let count = Atomic<Int>(0)

    func register(_ waiter: BlockedPop) {
        waiters.withLockedValue { map in
            for key in waiter.keys { map[key, default: []].append(waiter) }
        }
        count.add(1, ordering: .relaxed)
    }

    func unregister(_ waiter: BlockedPop) {
        waiters.withLockedValue { map in
            for key in waiter.keys {
                map[key]?.removeAll { $0 === waiter }
                if map[key]?.isEmpty == true { map[key] = nil }
            }
        }
        count.subtract(1, ordering: .relaxed)
    }

    var hasWaiters: Bool { count.load(ordering: .relaxed) > 0 }
    var waiting: Int { count.load(ordering: .relaxed) }

    /// Wakes the oldest client waiting on `key`. Waking only one keeps service first come, first
    /// served even when waiters sit on different event loops; a waiter that gets an element
    /// passes the signal on (see `BlockedPop.retry`), so the next one tries while data remains.
    func keyReady(_ key: [UInt8]) {
        guard count.load(ordering: .relaxed) > 0 else { return }
        guard let oldest = waiters.withLockedValue({ $0[key]?.first }) else { return }
        oldest.eventLoop.execute { oldest.retry() }
    }

    /// Ends client `id`'s wait (CLIENT UNBLOCK) on its own loop; false when it is not waiting.
    func unblock(client id: Int, withError: Bool) -> Bool {
        guard count.load(ordering: .relaxed) > 0,
              let waiter = waiters.withLockedValue({ map in map.values.lazy.flatMap { $0 }.first { $0.client == id } }) else { return false }
        waiter.eventLoop.execute { waiter.unblock(withError: withError) }
        return true
    }

    /// Drops every waiter of a closed connection.
    func cancel(client: Int, on eventLoop: EventLoop) {
        let gone = waiters.withLockedValue { map in map.values.flatMap { $0 }.filter { $0.client == client && $0.eventLoop === eventLoop } }
        for waiter in Set(gone.map(ObjectIdentifier.init)).compactMap({ id in gone.first { ObjectIdentifier($0) == id } }) {
            waiter.eventLoop.execute { waiter.finish() }
        }
    }
}

/// One blocked client; its state is only touched on its event loop.
final class BlockedPop: @unchecked Sendable {  // mutable state is confined to `eventLoop`
    let eventLoop: EventLoop
    let keys: [[UInt8]]
    let client: Int
    private let sequence: Int
    private var receiver: (any ReplyReceiver)?
    private let attempt: () -> Result<ByteBuffer, EngineError>?
    private let registry: BlockingRegistry
    private var timeout: Scheduled<Void>?

    init(eventLoop: EventLoop, keys: [[UInt8]], origin: RequestOrigin, registry: BlockingRegistry,
         attempt: @escaping () -> Result<ByteBuffer, EngineError>?) {
        self.eventLoop = eventLoop
        self.keys = keys
        self.client = origin.client
        self.sequence = origin.sequence
        self.receiver = origin.receiver
        self.registry = registry
        self.attempt = attempt
    }

    private var timedOutReply = ByteBuffer()

    func start(timeoutSeconds: Double, timedOutReply: ByteBuffer) {
        self.timedOutReply = timedOutReply
        registry.register(self)
        if timeoutSeconds > 0 {
            timeout = eventLoop.scheduleTask(in: .nanoseconds(Int64(timeoutSeconds * 1_000_000_000))) { [self] in
                deliver(.success(timedOutReply))
            }
        }
    }

    /// CLIENT UNBLOCK: the timeout's reply now, or Redis's UNBLOCKED error.
    func unblock(withError: Bool) {
        deliver(.success(withError ? ByteBuffer(string: "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n") : timedOutReply))
    }

    /// A key became ready: try again; on success answer, stop waiting, and pass the signal on
    /// to the next waiter in case elements remain.
    func retry() {
        guard receiver != nil, let reply = attempt() else { return }
        deliver(reply)
    }

    private func deliver(_ reply: Result<ByteBuffer, EngineError>) {
        guard let receiver else { return }
        finish()
        receiver.receive(reply, for: sequence)
    }

    /// Stops waiting (the connection closed, or an answer went out). A signal meant for this
    /// waiter may have been its last: the next waiter on its keys gets a look.
    func finish() {
        guard receiver != nil else { return }
        receiver = nil
        timeout?.cancel()
        registry.unregister(self)
        for key in keys { registry.keyReady(key) }
    }
}

extension RocksDBSession {
    /// Whether a blocked pop's source key now holds its type (a list, or a sorted set for the
    /// Z forms): only then does a wrong-type answer concern the client (BLMOVE's destination).
    func sourceIsPoppable(_ pop: BlockingPop, _ args: [ByteBuffer]) -> Bool {
        guard pop.moves else { return false }
        return (try? storage.readMeta(args[1], now: WallClock.nowMillis()))??.type == .list
    }

    /// What LMOVE, LMPOP and ZMPOP did, besides writing their reply: the blocking forms act on it
    /// without reading the reply's bytes.
    enum PopOutcome {
        case popped
        case empty
        /// Refused with this error text (also written as the reply).
        case refused(String)
    }

    /// An argument or type error: the error text, for a caller that decides on it.
    struct Refusal: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }

    /// The outcome of one attempt at a blocking pop.
    enum PopAttempt {
        case popped(ByteBuffer)
        case empty
        /// Refused (Redis's error text: wrong type, a bad argument).
        case error(String)
        /// The storage failed.
        case failed(EngineError)
    }

    /// BLPOP/BRPOP/BZPOPMIN/BZPOPMAX key [key ...] timeout, BLMOVE/BRPOPLPUSH, and
    /// BLMPOP/BZMPOP timeout numkeys key [key ...] LEFT|RIGHT|MIN|MAX [COUNT n].
    /// Answers at once when it can (or on an error); otherwise waits (`.later`).
    func blockingPop(_ pop: BlockingPop, _ args: [ByteBuffer], origin: RequestOrigin, reply: inout ReplyWriter) -> Execution {
        let multi = if case .multi = pop { true } else { false }
        guard let timeout = Double(args[multi ? 1 : args.count - 1].text), timeout.isFinite else {
            reply.error("ERR timeout is not a float or out of range")
            return .answered
        }
        guard timeout >= 0 else {
            reply.error("ERR timeout is negative")
            return .answered
        }
        let resp3 = reply.resp3
        let moves = pop.moves
        switch attemptPop(pop, args, resp3: resp3) {
        case .popped(var bytes):
            reply.buffer.writeBuffer(&bytes)
            // What BLMOVE pushed may be what another client waits for (chains of BLMOVEs).
            if moves { engine.blocking.keyReady(args[2].bytes) }
            return .answered
        case .error(let text):
            reply.error(text)
            return .answered
        case .failed(let error):
            return .failed(error)
        case .empty:
            break
        }
        let keys: [[UInt8]]
        if multi {
            // The first attempt validated numkeys.
            let count = args[2].redisInteger ?? 0
            keys = args[3..<(3 + count)].map(\.bytes)
        } else {
            keys = moves ? [args[1].bytes] : args[1..<(args.count - 1)].map(\.bytes)
        }
        let waiter = BlockedPop(eventLoop: eventLoop, keys: keys, origin: origin, registry: engine.blocking) { [self] in
            switch attemptPop(pop, args, resp3: resp3) {
            case .popped(let bytes):
                if moves { engine.blocking.keyReady(args[2].bytes) }
                return .success(bytes)
            case .empty: return nil
            case .error(let text) where text == RedisError.wrongType && !sourceIsPoppable(pop, args):
                // A key woken by a write that left it another type (MULTI; LPUSH; DEL; SET) is
                // not served: the client stays blocked, as in Redis.
                return nil
            case .error(let text):
                var writer = ReplyWriter(buffer: ByteBufferAllocator().buffer(capacity: 64), resp3: resp3)
                writer.error(text)
                return .success(writer.buffer)
            case .failed(let error):
                return .failure(error)
            }
        }
        var timedOut = ReplyWriter(buffer: ByteBufferAllocator().buffer(capacity: 8), resp3: resp3)
        timedOut.nullArray()
        waiter.start(timeoutSeconds: timeout, timedOutReply: timedOut.buffer)
        return .later
    }

    /// One attempt, over the keys in order.
    func attemptPop(_ pop: BlockingPop, _ args: [ByteBuffer], resp3: Bool) -> PopAttempt {
        var out = ReplyWriter(buffer: ByteBufferAllocator().buffer(capacity: 64), resp3: resp3)
        do throws(StoreError) {
            switch pop {
            case .first(let list, let fromStart):
                for key in args[1..<(args.count - 1)] {
                    if list {
                        guard let value = try lists.pop(key, count: 1, left: fromStart)?.first else { continue }
                        out.arrayHeader(2)
                        out.bulk(key)
                        out.bulk(bytes: value)
                        return .popped(out.buffer)
                    }
                    guard let entry = try zsets.pop(key, count: 1, max: !fromStart)?.first else { continue }
                    out.arrayHeader(3)
                    out.bulk(key)
                    out.bulk(bytes: entry.member)
                    writeScore(entry.score, &out)
                    return .popped(out.buffer)
                }
                return .empty
            case .multi(let list):
                // LMPOP/ZMPOP's own parsing, errors and reply, without the timeout.
                var popArgs = [ByteBuffer(string: list ? "LMPOP" : "ZMPOP")]
                popArgs.append(contentsOf: args[2...])
                let outcome = list ? try lmpop(popArgs, &out) : try zmpop(popArgs, &out)
                switch outcome {
                case .refused(let text): return .error(text)
                case .empty: return .empty
                case .popped: return .popped(out.buffer)
                }
            case .move(let rpoplpush):
                let moveArgs = rpoplpush ? [args[0], args[1], args[2]] : Array(args[0..<5])
                switch try lmove(moveArgs, &out, rpoplpush: rpoplpush) {
                case .refused(let text): return .error(text)
                case .empty: return .empty
                case .popped: break
                }
                engine.blocking.keyReady(args[2].bytes)
                return .popped(out.buffer)
            }
        } catch .storage(let error) {
            return .failed(Self.storageError(error))
        } catch {
            return .error(error.redisMessage)
        }
    }
}

extension ReplyWriter {
    /// Writes the error reply and reports it as the pop's outcome.
    mutating func refuse(_ text: String) -> RocksDBSession.PopOutcome {
        error(text)
        return .refused(text)
    }
}
