import Dispatch
import Engines
import Logging
import NIOCore
import Protocol
import Ring

/// What a node does about membership (DESIGN.md §5b), on one event loop, every tick:
///
/// - **Gossip**: sends its epoch to every peer not known to have it (and to each peer now and
///   then), and takes a newer epoch from the answer; so a change proposed on one node reaches
///   every node, and a node that was down catches up when it is back.
/// - **Stream**: when a change in flight gives this node tokens, it pulls them with repair
///   passes (digests, key lists, newer states: `RepairPass`) from the range's owner before the
///   change, or from the other racks when that owner is down or is the node being replaced;
///   once every live peer has the change's epoch (so every coordinator writes the range to
///   this node too), a second pass catches up what was written meanwhile; then it finishes the
///   change: the next epoch, in which it owns the range. A restarted node resumes: segments
///   already copied compare equal and are skipped.
/// - **Cleanup**: once an epoch with no change in flight has been installed long enough for
///   every coordinator to read from the new owners, it drops what it no longer owns.
final class MembershipAgent: RepairPassOwner {
    static let tickMillis: Int64 = 200
    /// How often unconfirmed peers are sent this node's epoch.
    static let gossipMillis: Int64 = 1000
    /// How often every peer is sent it anyway (a peer restarted from an old file).
    static let refreshMillis: Int64 = 10_000

    private let loop: LoopSession
    private let node: NodeContext
    let logger: Logger
    let clientID: Int
    let throttle: Int
    private let cleanupDelay: Int64

    /// The epoch each peer answered with last, and when.
    private var known: [String: (epoch: UInt64, at: Int64)] = [:]
    private var asking: Set<String> = []
    private var lastGossip: Int64 = 0

    private enum Phase { case idle, copying, fallback, waitingForPeers, catchingUp }
    private var phase = Phase.idle
    private var streamEpoch: UInt64 = 0
    private var pass: (any RangePass)?
    /// The tasks that copied successfully (the catch-up pass repeats them).
    private var copied: [RepairPass.PeerTask] = []
    private var retryAt: Int64 = 0
    private var cleanedEpoch: UInt64?
    private var cleaning = false

    private static let topologySpec = CommandTable.lookup("dynamis.topology")!

    init(loop: LoopSession, node: NodeContext, logger: Logger) {
        self.loop = loop
        self.node = node
        self.logger = logger
        self.clientID = node.nextClientID.add(1, ordering: .relaxed).oldValue
        self.throttle = node.config.streamThroughput
        self.cleanupDelay = Int64(2 * node.config.timeoutMilliseconds) + 2 * Self.gossipMillis
    }

    func tick() {
        guard let coordinator = loop.coordinator, let membership = node.membership.current else { return }
        let now = WallClock.nowMillis()
        if now - lastGossip >= Self.gossipMillis {
            lastGossip = now
            gossip(coordinator, membership, now: now)
        }
        stream(coordinator, membership, now: now)
        cleanup(coordinator, membership, now: now)
    }

    // MARK: Gossip

    private func gossip(_ coordinator: Coordinator, _ membership: Membership, now: Int64) {
        let payload = ByteBuffer(string: MembershipStore.encode(membership))
        for (index, peer) in coordinator.cluster.peers.enumerated() where !asking.contains(peer.name) {
            if let seen = known[peer.name], seen.epoch >= membership.epoch, now - seen.at < Self.refreshMillis { continue }
            asking.insert(peer.name)
            let request = Coordinator.Request.resp(Self.topologySpec, [ByteBuffer(string: "dynamis.topology"), payload])
            let context = Coordinator.Context(client: clientID, resp3: false, read: .dcOne, write: .dcOne)
            coordinator.send(to: .peer(index), .request, request, context, isWrite: false, receiver: Callback { [self] reply in
                asking.remove(peer.name)
                guard case .success(let parts) = reply, let parts, parts.count == 1, let text = RESPToken(parts[0]).bulk,
                      let theirs = MembershipStore.decode(text.readableBytesView) else { return }
                known[peer.name] = (theirs.epoch, WallClock.nowMillis())
                node.membership.offer(theirs, from: peer.name)
            }, index: 0)
        }
    }

    /// A peer's epoch as far as this node knows (0: never heard).
    private func knownEpoch(_ name: String) -> UInt64 { known[name]?.epoch ?? 0 }

    // MARK: Stream

    private func stream(_ coordinator: Coordinator, _ membership: Membership, now: Int64) {
        let cluster = coordinator.cluster
        let me = cluster.local.name
        // Epoch 0 with a change is a node's own view while it waits for its join to be proposed
        // (`auto_bootstrap`): nothing to stream before the cluster agreed to it.
        guard membership.epoch > 0, membership.change != nil, membership.gainingNode(ownership: cluster.topology.ownership) == me else {
            if phase != .idle { stopStream() }
            return
        }
        if streamEpoch != membership.epoch || phase == .idle {
            streamEpoch = membership.epoch
            pass = nil
            copied = []
            phase = .copying
            retryAt = 0
            logger.notice("stream: epoch \(membership.epoch): \(membership.change!.description) gives this node tokens; streaming them")
        }
        if let pass { return pass.pump() }
        guard now >= retryAt else { return }
        switch phase {
        case .idle, .fallback, .catchingUp:
            break
        case .copying:
            let gains = membership.gains(of: me, ownership: cluster.topology.ownership)
            var targets: [RepairPass.PeerTask] = []
            var fromOtherRacks: [ClosedRange<UInt32>] = []
            for gain in gains {
                if let source = gain.source, let peer = cluster.peerIndex[source] {
                    targets.append(.init(task: .init(peer: source, range: gain.range), peer: .peer(peer)))
                    logger.info("stream: tokens \(gain.range.lowerBound)-\(gain.range.upperBound) from \(source) started")
                } else {
                    fromOtherRacks.append(gain.range)
                }
            }
            targets += otherRackTargets(fromOtherRacks, cluster)
            if node.config.dataStore == .memcached {
                // memcached cannot list its keys: a node's new range starts cold, as a cache does.
                logger.notice("stream: the memcached engine cannot enumerate keys; the new range starts cold")
                targets = []
            }
            start(targets, coordinator)
        case .waitingForPeers:
            // Every coordinator must write the range here too before the last pass, or a write
            // taken by one still on the old epoch after that pass would miss this node.
            let behind = cluster.peers.enumerated().filter { index, peer in
                node.peerStatus.isConnected(index) && knownEpoch(peer.name) < streamEpoch
            }
            guard behind.isEmpty else { return }
            phase = .catchingUp
            logger.info("stream: every live peer has epoch \(streamEpoch); catching up what was written meanwhile")
            start(copied, coordinator)
        }
    }

    private func start(_ targets: [RepairPass.PeerTask], _ coordinator: Coordinator) {
        let status = node.membership.stream
        status.running.store(true, ordering: .relaxed)
        status.rangesTotal.store(targets.count, ordering: .relaxed)
        status.rangesDone.store(0, ordering: .relaxed)
        status.rangesFailed.store(0, ordering: .relaxed)
        let started: any RangePass = node.config.dataStore == .rocksdb
            ? RepairPass(owner: self, coordinator: coordinator, status: status, targets: targets, listsEverything: phase != .catchingUp)
            : BackendRangePass(owner: self, coordinator: coordinator, status: status, targets: targets)
        pass = started
        started.pump()
    }

    /// The owners of `ranges` in the other racks of this DC (of the other DCs, when this DC has
    /// one rack): where the data is when its owner in this rack cannot send it.
    private func otherRackTargets(_ ranges: [ClosedRange<UInt32>], _ cluster: ClusterMap) -> [RepairPass.PeerTask] {
        let topology = cluster.topology
        var racks: [RackRing] = topology.localDatacenter.racks.enumerated().filter { $0.offset != topology.localRackIndex }.map(\.element)
        if racks.isEmpty {
            racks = topology.datacenters.enumerated().filter { $0.offset != topology.localDatacenterIndex }.flatMap(\.element.racks)
        }
        var targets: [RepairPass.PeerTask] = []
        for range in ranges {
            for rack in racks {
                for (j, owner) in rack.nodes.enumerated() {
                    guard let peer = cluster.peerIndex[owner.name] else { continue }
                    for theirs in rack.ranges(ownedBy: j, rule: topology.ownership) {
                        if let both = RepairPlanning.intersect(range, theirs) {
                            targets.append(.init(task: .init(peer: owner.name, range: both), peer: .peer(peer)))
                            logger.info("stream: tokens \(both.lowerBound)-\(both.upperBound) from \(owner.name) (rack \(rack.name)) started")
                        }
                    }
                }
            }
        }
        return targets
    }

    func finished(_ finished: any RangePass) {
        guard pass === finished, let coordinator = loop.coordinator else { return }
        pass = nil
        let status = node.membership.stream
        status.running.store(false, ordering: .relaxed)
        status.passesCompleted.add(1, ordering: .relaxed)
        status.lastPassFinishedAt.store(WallClock.nowMillis(), ordering: .relaxed)
        let failed = finished.failedTargets
        let succeeded = finished.targets.filter { target in !failed.contains { $0.task == target.task } }
        logger.info("stream: pass finished: \(finished.summary)")
        switch phase {
        case .copying, .fallback:
            copied += succeeded
            if failed.isEmpty, finished.failedTransfers == 0 {
                phase = .waitingForPeers
                for target in succeeded {
                    logger.info("stream: tokens \(target.task.range.lowerBound)-\(target.task.range.upperBound) from \(target.task.peer) finished")
                }
            } else if phase == .copying, finished.failedTransfers == 0 {
                // The owner in this rack could not send: the same tokens from the other racks.
                phase = .fallback
                logger.notice("stream: \(failed.count) range(s) could not be copied from their owner; copying them from the other racks")
                start(otherRackTargets(failed.map(\.task.range), coordinator.cluster), coordinator)
            } else {
                retry("\(failed.count) range(s) and \(finished.failedTransfers) key(s) could not be copied")
            }
        case .catchingUp:
            if failed.isEmpty, finished.failedTransfers == 0 {
                phase = .idle
                node.membership.stream.running.store(false, ordering: .relaxed)
                _ = node.membership.finish(epoch: streamEpoch)
            } else {
                retry("the catch-up pass missed \(failed.count) range(s) and \(finished.failedTransfers) key(s)")
            }
        case .idle, .waitingForPeers:
            break
        }
    }

    private func retry(_ why: String) {
        logger.warning("stream: \(why); trying again in 5 s (copied segments compare equal and are skipped)")
        copied = []
        phase = .copying
        retryAt = WallClock.nowMillis() + 5000
    }

    private func stopStream() {
        pass = nil
        copied = []
        phase = .idle
        node.membership.stream.running.store(false, ordering: .relaxed)
    }

    // MARK: Cleanup

    private func cleanup(_ coordinator: Coordinator, _ membership: Membership, now: Int64) {
        guard membership.change == nil, membership.epoch > 0, cleanedEpoch != membership.epoch, !cleaning,
              now - node.membership.installedAt >= cleanupDelay else { return }
        if node.config.dataStore == .memcached {
            cleanedEpoch = membership.epoch  // memcached's LRU evicts what nobody reads any more
            return
        }
        let me = coordinator.cluster.local.name
        let owned = Membership.ranges(of: me, among: membership.members, ownership: coordinator.cluster.topology.ownership)
        guard !owned.isEmpty else {
            cleanedEpoch = membership.epoch
            logger.notice("membership: this node is not a member at epoch \(membership.epoch) and owns no tokens; it keeps its data and can be stopped")
            return
        }
        let epoch = membership.epoch
        let drop = Membership.complement(owned)
        guard !drop.isEmpty else {
            cleanedEpoch = membership.epoch
            return
        }
        cleaning = true
        guard let rocks = node.engine as? RocksDBEngine else { return backendCleanup(coordinator, epoch: epoch, drop: drop) }
        let bound = NIOLoopBound(self, eventLoop: loop.eventLoop)
        let eventLoop = loop.eventLoop
        DispatchQueue.global().async {
            let before = rocks.keyCounts(owned: owned).foreign
            var failure: String?
            do throws(EngineError) { try rocks.dropTokenRanges(drop) } catch { failure = error.message }
            let failed = failure
            eventLoop.execute { bound.value.cleaned(epoch: epoch, ranges: drop.count, keys: before, failure: failed) }
        }
    }

    /// The Redis engine's cleanup: a SCAN of this node's backend, and DEL of each key whose
    /// token it no longer owns.
    private func backendCleanup(_ coordinator: Coordinator, epoch: UInt64, drop: [ClosedRange<UInt32>]) {
        var deleted = 0
        let delSpec = CommandTable.lookup("del")!
        BackendKeyWalk(coordinator: coordinator, target: Target.local, ranges: drop, clientID: clientID,
                       page: { [self] keys, more in
                           guard !keys.isEmpty else { return more() }
                           deleted += keys.count
                           let context = Coordinator.Context(client: clientID, resp3: false, read: .dcOne, write: .dcOne,
                                                             version: node.clock.next())
                           coordinator.send(to: Target.local, .request, .resp(delSpec, [ByteBuffer(string: "del")] + keys), context,
                                            isWrite: true, receiver: Callback { _ in more() }, index: 0)
                       },
                       done: { [self] failure in cleaned(epoch: epoch, ranges: drop.count, keys: deleted, failure: failure) }).start()
    }

    private func cleaned(epoch: UInt64, ranges: Int, keys: Int, failure: String?) {
        cleaning = false
        if let failure {
            logger.error("cleanup after epoch \(epoch) failed: \(failure); trying again later")
            return
        }
        cleanedEpoch = epoch
        node.membership.rangesDropped.add(ranges, ordering: .relaxed)
        logger.notice("cleanup after epoch \(epoch): dropped \(keys) key(s) in \(ranges) token range(s) this node no longer owns")
    }
}
