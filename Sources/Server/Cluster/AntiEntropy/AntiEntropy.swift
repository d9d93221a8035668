import Engines
import Logging
import NIOCore
import Protocol
import Ring

/// Anti-entropy (DESIGN.md §5c): compares this node's copy of its token ranges with the owners
/// of the same tokens in every other rack and DC, and moves only what differs, both ways.
///
/// A pass walks `RepairPlanning.tasks`; for each task it asks both copies for segment digests
/// (`DYNAMIS.DIGEST`, ≤ 1,024 segments a request), lists the (key, version) pairs of the
/// segments that differ (`DYNAMIS.KEYVERSIONS`), and sends each newer state to the copy that
/// lacks it (`DYNAMIS.STATE` → `DYNAMIS.APPLY`, applied only if not older: last writer wins,
/// tombstones and absolute expiry as in hinted handoff). Passes run every
/// `anti_entropy_interval` and when `/repair` asks; state transfers are held to
/// `anti_entropy_throttle` bytes per second.
///
/// Runs on one event loop, through that loop's coordinator, one pass at a time.
final class AntiEntropy: RepairPassOwner {
    private let loop: LoopSession
    private let node: NodeContext
    let logger: Logger
    let clientID: Int
    let throttle: Int
    private let interval: Int64
    private var pass: (any RangePass)?
    private var nextCycle: Int64

    init(loop: LoopSession, node: NodeContext, logger: Logger) {
        self.loop = loop
        self.node = node
        self.logger = logger
        self.clientID = node.nextClientID.add(1, ordering: .relaxed).oldValue
        self.throttle = node.config.antiEntropyThrottle
        self.interval = Int64(node.config.antiEntropyInterval) * 1000
        self.nextCycle = WallClock.nowMillis() + Int64(node.config.antiEntropyInterval) * 1000
    }

    /// Called on the loop every tick: goes on with the running pass, or starts one when asked
    /// or when the cycle is due.
    func tick() {
        guard let coordinator = loop.coordinator else { return }
        if let pass { return pass.pump() }
        let now = WallClock.nowMillis()
        let range: ClosedRange<UInt32>
        if let requested = node.repair.takeRequest() {
            range = requested
        } else if interval > 0, now >= nextCycle {
            range = 0...UInt32.max
        } else {
            return
        }
        nextCycle = now + interval
        let tasks = RepairPlanning.tasks(coordinator.cluster.topology, within: range).compactMap { task -> RepairPass.PeerTask? in
            coordinator.cluster.peerIndex[task.peer].map { RepairPass.PeerTask(task: task, peer: .peer($0)) }
        }
        let status = node.repair
        let started: any RangePass
        if node.config.dataStore == .rocksdb {
            started = RepairPass(owner: self, coordinator: coordinator, status: status, targets: tasks)
        } else {
            started = BackendRepairPass(owner: self, coordinator: coordinator, status: status,
                                        pieces: RepairPlanning.pieces(coordinator.cluster.topology, within: range))
        }
        status.running.store(true, ordering: .relaxed)
        status.rangesTotal.store(started.targets.count, ordering: .relaxed)
        status.rangesDone.store(0, ordering: .relaxed)
        status.rangesFailed.store(0, ordering: .relaxed)
        logger.info("anti-entropy: repair of tokens \(range.lowerBound)-\(range.upperBound) started: \(started.targets.count) range(s) to compare with the other racks' owners")
        pass = started
        started.pump()
    }

    func finished(_ finished: any RangePass) {
        guard pass === finished else { return }
        pass = nil
        let status = node.repair
        status.running.store(false, ordering: .relaxed)
        status.passesCompleted.add(1, ordering: .relaxed)
        status.lastPassFinishedAt.store(WallClock.nowMillis(), ordering: .relaxed)
        logger.info("anti-entropy: pass finished: \(finished.summary)")
    }
}

/// What runs repair passes: anti-entropy, and a node streaming the ranges a membership change
/// gives it (the same comparison against an empty or partial copy moves the whole range).
protocol RepairPassOwner: AnyObject {
    var logger: Logger { get }
    var clientID: Int { get }
    /// State bytes per second.
    var throttle: Int { get }
    func finished(_ pass: any RangePass)
}

/// A pass over token ranges against other nodes: `RepairPass` (versioned copies compared by
/// digests) or `BackendRangePass` (a backend's keys copied by SCAN + DUMP).
protocol RangePass: AnyObject {
    var targets: [RepairPass.PeerTask] { get }
    /// Tasks that stopped on an error (a peer down, a failed request), for the owner to retry.
    var failedTargets: [RepairPass.PeerTask] { get }
    /// Keys that could not be moved (their task went on).
    var failedTransfers: Int { get }
    var summary: String { get }
    /// Goes on as far as replies and the throttle allow.
    func pump()
}

/// One pass: its tasks one after another; in each, digest chunks, then differing segments,
/// then transfers, a few in flight.
final class RepairPass: RangePass {
    /// One task: a token range compared with one copy (a peer; every copy's for backend repair).
    struct PeerTask {
        let task: RepairPlanning.Task
        let peer: Target
    }

    unowned let owner: any RepairPassOwner
    /// Tasks that stopped on an error (a peer down, a failed request), for the owner to retry.
    private(set) var failedTargets: [PeerTask] = []
    /// Transfers that failed (the task went on; the key is left for the next pass).
    private(set) var failedTransfers = 0
    let coordinator: Coordinator
    let status: RepairStatus
    let targets: [PeerTask]
    private var targetIndex = -1
    private var chunks: [ClosedRange<UInt32>] = []
    /// Segments whose digests differ, to split into refined buckets.
    private var refining: [ClosedRange<UInt32>] = []
    /// Buckets whose digests differ, to list.
    private var differing: [ClosedRange<UInt32>] = []
    private var transfers: [(key: [UInt8], pull: Bool)] = []
    /// Replies awaited before the next step (digests or key lists of both copies).
    private var awaiting = 0
    private var inFlight = 0
    private var pumping = false
    private var again = false
    private var taskFailed: String?
    private lazy var pacer = TransferPacer(rate: owner.throttle, now: WallClock.nowMillis())
    private var wakeScheduled = false
    private var digestReplies: [[UInt8]?] = [nil, nil]
    private var versionLists: [[[UInt8]: UInt64]] = [[:], [:]]
    private var segmentsDiffering = 0
    private var pulled = 0
    private var pushed = 0
    private var failedRanges = 0
    static let maxInFlight = 16

    private static let digestSpec = CommandTable.lookup("dynamis.digest")!
    private static let keyVersionsSpec = CommandTable.lookup("dynamis.keyversions")!

    /// Lists every key of the ranges instead of comparing digests first: a copy that is mostly
    /// missing (a node streaming a range it gains) would find nearly every bucket different, and
    /// listing costs one paged scan instead of a digest and a key list per bucket.
    let listsEverything: Bool

    init(owner: any RepairPassOwner, coordinator: Coordinator, status: RepairStatus, targets: [PeerTask], listsEverything: Bool = false) {
        self.listsEverything = listsEverything
        self.owner = owner
        self.coordinator = coordinator
        self.status = status
        self.targets = targets
    }

    var summary: String {
        "\(targets.count - failedRanges) of \(targets.count) range(s) compared, \(segmentsDiffering) segment(s) differed, \(pulled) key(s) pulled, \(pushed) pushed"
    }

    private var current: PeerTask { targets[targetIndex] }

    private func context(version: UInt64 = 0) -> Coordinator.Context {
        Coordinator.Context(client: owner.clientID, resp3: false, read: .dcOne, write: .dcOne, version: version)
    }

    /// Advances as far as replies and the throttle allow. Replies from this node's own engine
    /// arrive inside `send`, so a pump started by a reply only marks that another round is due.
    func pump() {
        if pumping { again = true; return }
        pumping = true
        defer { pumping = false }
        repeat {
            again = false
            step()
        } while again
    }

    private func step() {
        pacer.refill(now: WallClock.nowMillis())
        while inFlight < Self.maxInFlight, !transfers.isEmpty, pacer.start() {
            let next = transfers.removeFirst()
            inFlight += 1
            transfer(next.key, pull: next.pull)
        }
        if !transfers.isEmpty, inFlight < Self.maxInFlight, !wakeScheduled {
            // The throttle holds the rest back: go on when the pacer has room again.
            wakeScheduled = true
            let bound = NIOLoopBound(self, eventLoop: coordinator.loop.eventLoop)
            coordinator.loop.eventLoop.scheduleTask(in: .milliseconds(pacer.delay)) {
                bound.value.wakeScheduled = false
                bound.value.pump()
            }
        }
        guard awaiting == 0, inFlight == 0, transfers.isEmpty else { return }
        if let reason = taskFailed {
            taskFailed = nil
            failedRanges += 1
            failedTargets.append(current)
            status.rangesFailed.add(1, ordering: .relaxed)
            owner.logger.info("\(status.prefix == "repair" ? "anti-entropy" : "stream"): comparing tokens \(current.task.range.lowerBound)-\(current.task.range.upperBound) with \(current.task.peer) stopped: \(reason)")
            chunks = []
            refining = []
            differing = []
        }
        if let bucket = differing.first {
            differing.removeFirst()
            return list(bucket)
        }
        if let segment = refining.first {
            refining.removeFirst()
            return digest(segment, bits: TokenSegments.refinedBits)
        }
        if let chunk = chunks.first {
            chunks.removeFirst()
            return digest(chunk, bits: TokenSegments.bits)
        }
        if targetIndex >= 0 { status.rangesDone.add(1, ordering: .relaxed) }
        targetIndex += 1
        guard targetIndex < targets.count else { return owner.finished(self) }
        if listsEverything {
            differing = RepairPlanning.digestChunks(current.task.range, segments: 64)
        } else {
            chunks = RepairPlanning.digestChunks(current.task.range, segments: 1024)
        }
        again = true
    }

    // MARK: Digests

    /// Both copies' digests of `chunk` in buckets of `bits` bits: segments first (what differs
    /// is refined), then a differing segment's refined buckets (what differs is listed).
    private func digest(_ chunk: ClosedRange<UInt32>, bits: Int) {
        var args = [ByteBuffer(string: "dynamis.digest"), ByteBuffer(string: String(chunk.lowerBound)),
                    ByteBuffer(string: String(chunk.upperBound))]
        if bits != TokenSegments.bits { args.append(ByteBuffer(string: String(bits))) }
        digestReplies = [nil, nil]
        awaiting = 2
        for (side, target) in [Target.local, current.peer].enumerated() {
            send(to: target, .resp(Self.digestSpec, args), receiver: Callback { [self] reply in
                awaiting -= 1
                switch reply {
                case .success(let parts):
                    if let parts, parts.count == 2, let digests = RESPToken(parts[0]).bulk {
                        digestReplies[side] = Array(digests.readableBytesView)
                    } else {
                        taskFailed = taskFailed ?? "unexpected DYNAMIS.DIGEST reply"
                    }
                case .failure(let why): taskFailed = taskFailed ?? why
                }
                if awaiting == 0, taskFailed == nil, let local = digestReplies[0], let remote = digestReplies[1] {
                    compare(chunk, bits: bits, local, remote)
                }
                pump()
            })
        }
    }

    private func compare(_ chunk: ClosedRange<UInt32>, bits: Int, _ local: [UInt8], _ remote: [UInt8]) {
        guard let found = RepairPlanning.differingBuckets(chunk, bits: bits, local: local, remote: remote) else {
            taskFailed = "digest replies of different lengths"
            return
        }
        if bits == TokenSegments.bits {
            status.segmentsCompared.add(local.count / 8, ordering: .relaxed)
            status.segmentsDiffering.add(found.count, ordering: .relaxed)
            segmentsDiffering += found.count
            refining += found
        } else {
            differing += found
        }
    }

    /// Sends to a copy, counting the request's bytes and the reply's when the copy is the peer.
    private func send(to target: Target, _ request: Coordinator.Request, version: UInt64 = 0, receiver: Callback) {
        if target != Target.local {
            if case .resp(_, let args) = request { status.bytesExchanged.add(args.reduce(0) { $0 + $1.readableBytes }, ordering: .relaxed) }
            receiver.countsBytes = status
        }
        coordinator.send(to: target, .request, request, context(version: version), isWrite: version != 0, receiver: receiver, index: 0)
    }

    // MARK: Key lists

    private func list(_ segment: ClosedRange<UInt32>) {
        versionLists = [[:], [:]]
        awaiting = 2
        page(segment, side: 0, after: nil)
        page(segment, side: 1, after: nil)
    }

    private func page(_ segment: ClosedRange<UInt32>, side: Int, after: ByteBuffer?) {
        var args = [ByteBuffer(string: "dynamis.keyversions"), ByteBuffer(string: String(segment.lowerBound)),
                    ByteBuffer(string: String(segment.upperBound))]
        if let after { args.append(after) }
        let target = side == 0 ? Target.local : current.peer
        send(to: target, .resp(Self.keyVersionsSpec, args), receiver: Callback { [self] reply in
            switch reply {
            case .success(let parts):
                guard let parts, parts.count % 2 == 1 else {
                    taskFailed = taskFailed ?? "unexpected DYNAMIS.KEYVERSIONS reply"
                    break
                }
                var i = 1
                while i + 1 < parts.count {
                    if let key = RESPToken(parts[i]).bulk, let text = RESPToken(parts[i + 1]).bulkText, let version = UInt64(text) {
                        versionLists[side][Array(key.readableBytesView)] = version
                    }
                    i += 2
                }
                if taskFailed == nil, let cursor = RESPToken(parts[0]).bulk {
                    return page(segment, side: side, after: cursor)
                }
            case .failure(let why): taskFailed = taskFailed ?? why
            }
            awaiting -= 1
            if awaiting == 0, taskFailed == nil { plan() }
            pump()
        })
    }

    private func plan() {
        status.keysCompared.add(versionLists[0].count + versionLists[1].count, ordering: .relaxed)
        let (pull, push) = RepairPlanning.transfers(local: versionLists[0], remote: versionLists[1])
        transfers += pull.map { ($0, true) } + push.map { ($0, false) }
        versionLists = [[:], [:]]
    }

    // MARK: Transfers

    /// One key's state from the copy that has the newer one to the other.
    private func transfer(_ key: [UInt8], pull: Bool) {
        let keyBuffer = ByteBuffer(bytes: key)
        let (source, destination) = pull ? (current.peer, Target.local) : (Target.local, current.peer)
        send(to: source, StateTransfer.stateRequest(key: keyBuffer, chunk: coordinator.node.config.stateChunkSize), receiver: Callback { [self] reply in
            guard case .success(let parts) = reply, let parts, let state = VersionedState(parts) else {
                return transferred(ok: false, bytes: 0, pull: pull)
            }
            if state.version == 0 { return transferred(ok: true, bytes: 0, pull: pull) }  // gone meanwhile
            // A big collection moves in parts; the pacer is charged its first part.
            let transfer = StateTransfer(coordinator: coordinator, key: keyBuffer, first: state, from: source, to: [destination],
                                         client: owner.clientID) { [self] _, applied in
                if case .success = applied {
                    transferred(ok: true, bytes: key.count + (state.payload?.readableBytes ?? 0), pull: pull)
                } else {
                    transferred(ok: false, bytes: key.count + (state.payload?.readableBytes ?? 0), pull: pull)
                }
            }
            if destination != Target.local { status.bytesExchanged.add(transfer.partBytes, ordering: .relaxed) }
            transfer.start()
        })
    }

    private func transferred(ok: Bool, bytes: Int, pull: Bool) {
        inFlight -= 1
        pacer.finished(bytes: bytes)
        if ok {
            if pull { pulled += 1; status.keysPulled.add(1, ordering: .relaxed) } else { pushed += 1; status.keysPushed.add(1, ordering: .relaxed) }
        } else {
            failedTransfers += 1
            status.transferErrors.add(1, ordering: .relaxed)
        }
        pump()
    }
}

/// A DYNAMIS.STATE reply: `[version, expire-at, payload|nil]`, and a cursor when the state comes
/// in parts and more follow (`StateTransfer`).
struct VersionedState {
    let version: UInt64
    let expireAt: Int
    let payload: ByteBuffer?
    let cursor: ByteBuffer?

    init?(_ parts: [ByteBuffer]) {
        guard parts.count == 3 || parts.count == 4, let text = RESPToken(parts[0]).bulkText, let version = UInt64(text),
              let expireAt = RESPToken(parts[1]).integer else { return nil }
        self.version = version
        self.expireAt = expireAt
        self.payload = RESPToken(parts[2]).bulk
        self.cursor = parts.count == 4 ? RESPToken(parts[3]).bulk : nil
    }
}

/// A reply handed to a closure as the array's elements (nil: not an array); failures and
/// unavailability replies as their message.
final class Callback: ReplyReceiver {
    enum Outcome {
        case success([ByteBuffer]?)
        case failure(String)
    }

    private let handler: (Outcome) -> Void
    /// Where a peer's reply bytes are counted (nil for this node's own engine).
    var countsBytes: RepairStatus?

    init(_ handler: @escaping (Outcome) -> Void) { self.handler = handler }

    func receive(_ reply: Result<ByteBuffer, EngineError>, for sequence: Int) {
        if case .success(let bytes) = reply { countsBytes?.bytesExchanged.add(bytes.readableBytes, ordering: .relaxed) }
        switch reply {
        case .success(let bytes) where RESPToken(bytes).isError:
            handler(.failure(RESPToken(bytes).errorText ?? "an error reply"))
        case .success(let bytes): handler(.success(MergedReply.elements(bytes)))
        case .failure(let error): handler(.failure(error.message))
        }
    }
}
