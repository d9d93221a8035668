import Engines
import NIOCore
import Protocol
import Ring

extension RepairPlanning {
    /// One piece of this node's ranges with every copy of it: this node's name first, then the
    /// owner of the piece in every other rack of every DC (a piece never spans two owners in any
    /// rack).
    struct Piece: Equatable {
        let range: ClosedRange<UInt32>
        let replicas: [String]
    }

    /// This node's ranges within `within`, cut wherever another rack's ownership changes.
    static func pieces(_ topology: Topology, within: ClosedRange<UInt32> = 0...UInt32.max) -> [Piece] {
        let local = topology.local
        let rack = topology.localDatacenter.racks[topology.localRackIndex]
        guard let index = rack.nodes.firstIndex(where: { $0.name == local.name }) else { return [] }
        let mine = rack.ranges(ownedBy: index, rule: topology.ownership).compactMap { intersect($0, within) }
        var cuts: Set<UInt32> = []
        for (d, datacenter) in topology.datacenters.enumerated() {
            for (r, other) in datacenter.racks.enumerated() where !(d == topology.localDatacenterIndex && r == topology.localRackIndex) {
                for j in other.nodes.indices {
                    for owned in other.ranges(ownedBy: j, rule: topology.ownership) { cuts.insert(owned.lowerBound) }
                }
            }
        }
        var pieces: [Piece] = []
        for range in mine {
            var starts = [range.lowerBound] + cuts.filter { $0 > range.lowerBound && $0 <= range.upperBound }.sorted()
            starts.append(range.upperBound)
            for i in 0..<(starts.count - 1) {
                let low = starts[i]
                let high = i + 2 == starts.count ? starts[i + 1] : starts[i + 1] - 1
                var replicas = [local.name]
                for (d, datacenter) in topology.datacenters.enumerated() {
                    for r in datacenter.racks.indices where !(d == topology.localDatacenterIndex && r == topology.localRackIndex) {
                        replicas.append(topology.node(at: topology.owner(of: low, datacenter: d, rack: r)).name)
                    }
                }
                pieces.append(Piece(range: low...high, replicas: replicas))
            }
        }
        return pieces
    }

    /// What to do with one key, from each copy's digest (nil: the copy lacks the key): nothing
    /// when all agree; else the copies a majority agrees on and the ones to overwrite with
    /// theirs; nil when no digest has a majority (two racks that disagree, a three-way split):
    /// without versions nobody can tell which copy is right.
    static func majority(_ digests: [String?]) -> (agree: [Int], stale: [Int])?? {
        guard let first = digests.first, digests.dropFirst().contains(where: { $0 != first }) else { return .some(nil) }
        var counts: [String?: Int] = [:]
        for digest in digests { counts[digest, default: 0] += 1 }
        guard let (winner, count) = counts.max(by: { $0.value < $1.value }), count > digests.count / 2 else { return nil }
        let agree = digests.indices.filter { digests[$0] == winner }
        return .some((agree, digests.indices.filter { digests[$0] != winner }))
    }
}

/// Anti-entropy on the Redis engine (no versions): for each piece of this node's ranges, every
/// copy's keys in it (a SCAN of each backend), a digest of each key on each copy (a script
/// hashing DUMP and PEXPIRETIME on the backend, so values do not cross the network), and for a
/// key the copies disagree on, the majority's state written over the others (a missing key
/// wins as a delete). Before anything is written the disagreeing keys are digested again one
/// `timeout` later and only a disagreement that held is repaired: a write still reaching its
/// replicas is not one. With two racks, or no majority, a disagreement is counted and logged,
/// not repaired.
final class BackendRepairPass: RangePass {
    unowned let owner: any RepairPassOwner
    let coordinator: Coordinator
    let status: RepairStatus
    private let pieces: [(range: ClosedRange<UInt32>, replicas: [Target])]
    let targets: [RepairPass.PeerTask]
    private(set) var failedTargets: [RepairPass.PeerTask] = []
    private(set) var failedTransfers = 0
    private var index = -1
    private var keys: Set<ByteBuffer> = []
    private var walking = 0
    private var failure: String?
    private var repaired = 0
    private var ambiguous = 0
    private var started = false
    private static let evalSpec = CommandTable.lookup("eval")!
    static let digestScript = """
        local out = {}
        for i, k in ipairs(KEYS) do
          local d = redis.call('DUMP', k)
          if d then out[i] = redis.sha1hex(d .. ':' .. redis.call('PEXPIRETIME', k)) else out[i] = false end
        end
        return out
        """
    static let batch = 100

    init(owner: any RepairPassOwner, coordinator: Coordinator, status: RepairStatus, pieces: [RepairPlanning.Piece]) {
        self.owner = owner
        self.coordinator = coordinator
        self.status = status
        let cluster = coordinator.cluster
        self.pieces = pieces.compactMap { piece in
            let replicas = piece.replicas.map { $0 == cluster.local.name ? Target.local : cluster.peerIndex[$0].map(Target.peer) }
            guard replicas.allSatisfy({ $0 != nil }) else { return nil }
            return (piece.range, replicas.map { $0! })
        }
        self.targets = self.pieces.map { .init(task: .init(peer: "every copy", range: $0.range), peer: $0.replicas.last ?? Target.local) }
    }

    var summary: String {
        "\(pieces.count - failedTargets.count) of \(pieces.count) range(s) compared, \(repaired) key(s) repaired by majority, \(ambiguous) disagreement(s) without a majority left alone"
    }

    func pump() {
        guard !started else { return }
        started = true
        next()
    }

    private var piece: (range: ClosedRange<UInt32>, replicas: [Target]) { pieces[index] }

    private func next() {
        if index >= 0 {
            if let failure {
                failedTargets.append(targets[index])
                status.rangesFailed.add(1, ordering: .relaxed)
                owner.logger.info("anti-entropy: comparing tokens \(piece.range.lowerBound)-\(piece.range.upperBound) stopped: \(failure)")
            }
            status.rangesDone.add(1, ordering: .relaxed)
        }
        failure = nil
        index += 1
        guard index < pieces.count else { return owner.finished(self) }
        guard piece.replicas.count >= 2 else { return next() }
        keys = []
        walking = piece.replicas.count
        for replica in piece.replicas {
            BackendKeyWalk(coordinator: coordinator, target: replica, ranges: [piece.range], clientID: owner.clientID,
                           page: { [self] found, more in
                               keys.formUnion(found)
                               more()
                           },
                           done: { [self] why in
                               if let why { failure = failure ?? why }
                               walking -= 1
                               if walking == 0 { failure == nil ? compare(Array(keys), again: false) : next() }
                           }).start()
        }
    }

    /// Digests `candidates` on every copy, a batch at a time; `again`: the settled re-check.
    private func compare(_ candidates: [ByteBuffer], again: Bool) {
        status.keysCompared.add(again ? 0 : candidates.count * piece.replicas.count, ordering: .relaxed)
        digestAll(candidates, keep: { _, digests in Set(digests.map { $0 ?? "" }).count > 1 }) { [self] disagreeing in
            decided(disagreeing, again: again)
        }
    }

    /// Every copy's digests of `keys`, a batch at a time; the (key, digests) pairs `keep` picks
    /// go to `then` (not called when a copy failed: the piece moves on).
    private func digestAll(_ keys: [ByteBuffer], keep: @escaping (ByteBuffer, [String?]) -> Bool,
                           then: @escaping ([(key: ByteBuffer, digests: [String?])]) -> Void) {
        var kept: [(key: ByteBuffer, digests: [String?])] = []
        var batches = stride(from: 0, to: keys.count, by: Self.batch).map { Array(keys[$0..<min($0 + Self.batch, keys.count)]) }
        func nextBatch() {
            guard let batch = batches.first else { return then(kept) }
            batches.removeFirst()
            digest(batch) { [self] table in
                guard let table else { return next() }
                for (i, key) in batch.enumerated() {
                    let digests = table.map { $0[i] }
                    if keep(key, digests) { kept.append((key, digests)) }
                }
                nextBatch()
            }
        }
        nextBatch()
    }

    /// Every copy's digests of `keys` (`table[copy][key]`), or nil after recording a failure.
    private func digest(_ keys: [ByteBuffer], _ then: @escaping ([[String?]]?) -> Void) {
        var table = [[String?]?](repeating: nil, count: piece.replicas.count)
        var waiting = piece.replicas.count
        let args = [ByteBuffer(string: "eval"), ByteBuffer(string: Self.digestScript), ByteBuffer(string: String(keys.count))] + keys
        let context = Coordinator.Context(client: owner.clientID, resp3: false, read: .dcOne, write: .dcOne)
        for (copy, replica) in piece.replicas.enumerated() {
            coordinator.send(to: replica, .request, .resp(Self.evalSpec, args), context, isWrite: false, receiver: Callback { [self] reply in
                if case .success(let parts) = reply, let parts, parts.count == keys.count {
                    table[copy] = parts.map { RESPToken($0).bulkText }
                } else if case .failure(let why) = reply {
                    failure = failure ?? why
                } else {
                    failure = failure ?? "unexpected digest reply"
                }
                waiting -= 1
                guard waiting == 0 else { return }
                then(failure == nil ? table.map { $0! } : nil)
            }, index: 0)
        }
    }

    private func decided(_ disagreeing: [(key: ByteBuffer, digests: [String?])], again: Bool) {
        guard !disagreeing.isEmpty else { return next() }
        if !again {
            // Writes still on their way to some replicas look like disagreements: look again
            // once they have landed or timed out.
            let settle = Int64(coordinator.node.config.timeoutMilliseconds)
            let bound = NIOLoopBound(self, eventLoop: coordinator.loop.eventLoop)
            let keys = disagreeing.map(\.key)
            coordinator.loop.eventLoop.scheduleTask(in: .milliseconds(settle)) { bound.value.recheck(keys, first: disagreeing) }
            return
        }
        for (key, digests) in disagreeing {
            guard let verdict = RepairPlanning.majority(digests), let (agree, stale) = verdict else {
                ambiguous += 1
                status.keysAmbiguous.add(1, ordering: .relaxed)
                continue
            }
            repaired += 1
            if stale.contains(0) { status.keysPulled.add(1, ordering: .relaxed) } else { status.keysPushed.add(1, ordering: .relaxed) }
            StateCopy(coordinator: coordinator, key: key, from: piece.replicas[agree[0]], to: stale.map { piece.replicas[$0] },
                      readRepair: false).start()
        }
        next()
    }

    private func recheck(_ keys: [ByteBuffer], first: [(key: ByteBuffer, digests: [String?])]) {
        let firstLook = Dictionary(first.map { ($0.key, $0.digests) }, uniquingKeysWith: { a, _ in a })
        // Only a disagreement that did not move while writes settled is repaired.
        digestAll(keys, keep: { key, digests in digests == firstLook[key] }) { [self] settled in
            decided(settled, again: true)
        }
    }
}
