import Engines
import NIOCore
import Protocol
import Ring

/// Walks every key of one node's backend (redis-server behind the Redis engine) with SCAN,
/// through the coordinator: this node's own engine or a peer. Each page's keys whose token is
/// in `ranges` go to `page`, which calls `next` when it is done with them; `done` ends the walk
/// (nil: every key seen; else why it stopped). A backend has no token order, so a range costs
/// a scan of the whole keyspace.
final class BackendKeyWalk: ReplyReceiver {
    private let coordinator: Coordinator
    private let target: Target
    private let ranges: [ClosedRange<UInt32>]
    private let clientID: Int
    private let page: ([ByteBuffer], @escaping () -> Void) -> Void
    private let done: (String?) -> Void
    private var cursor = "0"
    private static let scanSpec = CommandTable.lookup("scan")!
    static let pageSize = "1000"

    init(coordinator: Coordinator, target: Target, ranges: [ClosedRange<UInt32>], clientID: Int,
         page: @escaping ([ByteBuffer], @escaping () -> Void) -> Void, done: @escaping (String?) -> Void) {
        self.coordinator = coordinator
        self.target = target
        self.ranges = ranges
        self.clientID = clientID
        self.page = page
        self.done = done
    }

    func start() {
        let args = [ByteBuffer(string: "scan"), ByteBuffer(string: cursor), ByteBuffer(string: "COUNT"), ByteBuffer(string: Self.pageSize)]
        let context = Coordinator.Context(client: clientID, resp3: false, read: .dcOne, write: .dcOne)
        coordinator.send(to: target, .request, .resp(Self.scanSpec, args), context, isWrite: false, receiver: self, index: 0)
    }

    func receive(_ reply: Result<ByteBuffer, EngineError>, for sequence: Int) {
        let bytes: ByteBuffer
        switch reply {
        case .failure(let error): return done(error.message)
        case .success(let answer): bytes = answer
        }
        guard let parts = MergedReply.elements(bytes), parts.count == 2, let next = RESPToken(parts[0]).bulkText,
              let keys = MergedReply.elements(parts[1]) else {
            return done("unexpected SCAN reply \(String(buffer: bytes).prefix(60))")
        }
        let tokenizer = coordinator.tokenizer
        let inRange = keys.compactMap { RESPToken($0).bulk }.filter { key in
            let token = tokenizer.token(of: key.readableBytesView)
            return ranges.contains { $0.contains(token) }
        }
        cursor = next
        page(inRange) { [self] in
            if cursor == "0" { done(nil) } else { start() }
        }
    }
}

/// The Redis engine's way to move a range (DESIGN.md §5b): for each target, the source
/// node's keys in the range (a SCAN of its backend), each copied here as DUMP + PEXPIRETIME
/// read from the source and written with `RESTORE … REPLACE ABSTTL` (or `DEL` when the source
/// has no such key any more). Without versions the source's state wins: the catch-up pass
/// copies every key of the range again once every coordinator writes to this node too.
final class BackendRangePass: RangePass {
    unowned let owner: any RepairPassOwner
    let coordinator: Coordinator
    let status: RepairStatus
    let targets: [RepairPass.PeerTask]
    private(set) var failedTargets: [RepairPass.PeerTask] = []
    private(set) var failedTransfers = 0
    private var index = -1
    private var queue: [ByteBuffer] = []
    private var pageDone: (() -> Void)?
    private var inFlight = 0
    private var copied = 0
    private lazy var pacer = TransferPacer(rate: owner.throttle, now: WallClock.nowMillis())
    private var waitingForWindow = false
    static let maxInFlight = 16

    init(owner: any RepairPassOwner, coordinator: Coordinator, status: RepairStatus, targets: [RepairPass.PeerTask]) {
        self.owner = owner
        self.coordinator = coordinator
        self.status = status
        self.targets = targets
    }

    var summary: String {
        "\(targets.count - failedTargets.count) of \(targets.count) range(s) copied, \(copied) key(s) copied, \(failedTransfers) failed"
    }

    /// Starts the pass (later calls do nothing: the walk drives itself).
    func pump() {
        guard index < 0 else { return }
        next()
    }

    private func next() {
        if index >= 0 { status.rangesDone.add(1, ordering: .relaxed) }
        index += 1
        guard index < targets.count else { return owner.finished(self) }
        let target = targets[index]
        BackendKeyWalk(coordinator: coordinator, target: target.peer, ranges: [target.task.range], clientID: owner.clientID,
                       page: { [self] keys, more in
                           status.keysCompared.add(keys.count, ordering: .relaxed)
                           queue = keys
                           pageDone = more
                           drain()
                       },
                       done: { [self] failure in
                           if let failure {
                               failedTargets.append(target)
                               status.rangesFailed.add(1, ordering: .relaxed)
                               owner.logger.info("stream: copying tokens \(target.task.range.lowerBound)-\(target.task.range.upperBound) from \(target.task.peer) stopped: \(failure)")
                           }
                           next()
                       }).start()
    }

    /// Copies the page's keys, a few in flight, within the throttle; then asks for the next page.
    private func drain() {
        pacer.refill(now: WallClock.nowMillis())
        while inFlight < Self.maxInFlight, !queue.isEmpty, pacer.start() {
            let key = queue.removeFirst()
            inFlight += 1
            BackendKeyCopy(pass: self, key: key, source: targets[index].peer).start()
        }
        if !queue.isEmpty, inFlight < Self.maxInFlight, !waitingForWindow {
            waitingForWindow = true
            let bound = NIOLoopBound(self, eventLoop: coordinator.loop.eventLoop)
            coordinator.loop.eventLoop.scheduleTask(in: .milliseconds(pacer.delay)) {
                bound.value.waitingForWindow = false
                bound.value.drain()
            }
        }
        if inFlight == 0, queue.isEmpty, let more = pageDone {
            pageDone = nil
            more()
        }
    }

    fileprivate func copiedKey(bytes: Int, ok: Bool) {
        inFlight -= 1
        pacer.finished(bytes: bytes)
        if ok {
            copied += 1
            status.keysPulled.add(1, ordering: .relaxed)
        } else {
            failedTransfers += 1
            status.transferErrors.add(1, ordering: .relaxed)
        }
        drain()
    }
}

/// One key's state from the source to this node: DUMP and PEXPIRETIME, then RESTORE or DEL.
private final class BackendKeyCopy: ReplyReceiver {
    private unowned let pass: BackendRangePass
    private let key: ByteBuffer
    private let source: Target
    private var dump: ByteBuffer?
    private var expireTime: ByteBuffer?
    private var bytes = 0

    init(pass: BackendRangePass, key: ByteBuffer, source: Target) {
        self.pass = pass
        self.key = key
        self.source = source
    }

    private var context: Coordinator.Context {
        Coordinator.Context(client: pass.owner.clientID, resp3: false, read: .dcOne, write: .dcOne)
    }

    func start() {
        StateCopy.readState(of: key, from: source, via: pass.coordinator, context: context, receiver: self, indexes: (0, 1))
    }

    func receive(_ reply: Result<ByteBuffer, EngineError>, for index: Int) {
        guard !finished else { return }
        guard case .success(let answer) = reply, !RESPToken(answer).isError else { return finishOnce(ok: false) }
        switch index {
        case 0: dump = answer
        case 1: expireTime = answer
        default: return finishOnce(ok: true)
        }
        guard let dump, let expireTime else { return }
        guard let request = StateCopy.writeState(of: key, dump: dump, expireTime: expireTime) else { return finishOnce(ok: false) }
        if case .resp(_, let args) = request { bytes = args.reduce(0) { $0 + $1.readableBytes } }
        var context = self.context
        context.version = pass.coordinator.node.clock.next()
        pass.coordinator.send(to: Target.local, .request, request, context, isWrite: true, receiver: self, index: 2)
    }

    private var finished = false

    private func finishOnce(ok: Bool) {
        guard !finished else { return }
        finished = true
        pass.copiedKey(bytes: bytes, ok: ok)
    }
}
