import Engines
import NIOCore
import Protocol

/// Read repair (DESIGN.md §5a): a quorum read whose replicas answered differently asks each of
/// them for the key's state (`DYNAMIS.STATE`: version, expiry, payload), takes the newest as
/// the winner, and writes it (`DYNAMIS.APPLY`, stamped with the winner's version, applied only
/// if newer) to every replica holding an older one. `then` gets the winner's
/// target once the stale replicas have answered (nil when no state could be read); the
/// collector then reads the winner's reply from it. RocksDB engine only: a backend server keeps
/// no versions.
final class ReadRepair: ReplyReceiver {
    private let coordinator: Coordinator
    private let key: ByteBuffer
    private let targets: [Target]
    private var states: [VersionedState?]
    private var remaining: Int
    private var outcome = Outcome.nothing
    private let then: ((Outcome) -> Void)?

    enum Outcome {
        case winner(Target)
        case undetermined
        case nothing
    }

    /// The targets (bit i: target i) whose answers the reply is chosen against: the winner
    /// counts only if each of them gave its state too (else a newer answer already seen might
    /// lose to an older state, and the collector keeps its own decision).
    private let answered: UInt64

    init(coordinator: Coordinator, key: ByteBuffer, targets: [Target], answered: UInt64 = 0, then: ((Outcome) -> Void)?) {
        self.answered = answered
        self.coordinator = coordinator
        self.key = key
        self.targets = targets
        self.states = Array(repeating: nil, count: targets.count)
        self.remaining = targets.count
        self.then = then
    }

    func start() {
        let context = Coordinator.Context(client: coordinator.maintenanceClient, resp3: false, read: .dcOne, write: .dcOne)
        for (i, target) in targets.enumerated() {
            coordinator.send(to: target, .request, StateTransfer.stateRequest(key: key, chunk: coordinator.node.config.stateChunkSize),
                             context, isWrite: false, receiver: self, index: i)
        }
    }

    func receive(_ reply: Result<ByteBuffer, EngineError>, for index: Int) {
        if index >= targets.count {
            // A stale replica answered its repair (or failed: the next disagreement repairs it again).
            remaining -= 1
            if remaining == 0 { then?(outcome) }
            return
        }
        if case .success(let bytes) = reply, let parts = MergedReply.elements(bytes), let state = VersionedState(parts) {
            states[index] = state
        }
        remaining -= 1
        if remaining == 0 { resolve() }
    }

    /// The newest state wins; older replicas get it (`RepairPlan`).
    private func resolve() {
        let complete = states.indices.allSatisfy { i in states[i] != nil || answered & (1 << UInt64(i)) == 0 }
        guard let plan = RepairPlan.resolve(states.map { $0.map { ($0.version, $0.payload) } }) else {
            return then?(complete ? .nothing : .undetermined) ?? ()
        }
        let best = plan.winner, stale = plan.stale
        let chosen = states[best]!
        outcome = complete ? .winner(targets[best]) : .undetermined
        guard !stale.isEmpty else { return then?(outcome) ?? () }
        coordinator.node.readRepairsDone.add(1, ordering: .relaxed)
        coordinator.node.staleReplicasFound.add(stale.count, ordering: .relaxed)
        // The winner's state (in parts, when it is a big collection: the first part was read above).
        remaining = stale.count
        StateTransfer(coordinator: coordinator, key: key, first: chosen, from: targets[best], to: stale.map { targets[$0] },
                      client: coordinator.maintenanceClient) { [self] i, reply in receive(reply, for: targets.count + stale[i]) }.start()
    }
}

/// Read repair's choice, a pure function of the replicas' states (the simulation drives it):
/// the newest version wins (the first of equal ones), and every replica holding an older
/// version, or the same version with other contents, is stale. nil when no replica's state
/// could be read or nothing is stored anywhere (version 0).
enum RepairPlan {
    static func resolve<Payload: Equatable>(_ states: [(version: UInt64, payload: Payload)?]) -> (winner: Int, stale: [Int])? {
        var best: Int?
        for i in states.indices {
            guard let state = states[i] else { continue }
            if best == nil || state.version > states[best!]!.version { best = i }
        }
        guard let best, let chosen = states[best], chosen.version != 0 else { return nil }
        var stale: [Int] = []
        for i in states.indices where i != best {
            guard let state = states[i] else { continue }
            if state.version < chosen.version || (state.version == chosen.version && state.payload != chosen.payload) { stale.append(i) }
        }
        return (best, stale)
    }
}

/// A backend engine's read repair: one replica's state (DUMP + PEXPIRETIME) copied to others
/// (RESTORE … REPLACE ABSTTL, or DEL when the source has no key), in frames stamped when sent.
final class StateCopy: ReplyReceiver {
    private let coordinator: Coordinator
    private let key: ByteBuffer
    private let source: Target
    private let stale: [Target]
    private var dump: ByteBuffer?
    private var expireTime: ByteBuffer?

    private static let dumpSpec = CommandTable.lookup("dump")!
    private static let pexpiretime = CommandTable.lookup("pexpiretime")!
    private static let restore = CommandTable.lookup("restore")!
    private static let del = CommandTable.lookup("del")!

    /// Counted as a read repair (false: anti-entropy, which counts its own).
    private let readRepair: Bool

    init(coordinator: Coordinator, key: ByteBuffer, from source: Target, to stale: [Target], readRepair: Bool = true) {
        self.readRepair = readRepair
        self.coordinator = coordinator
        self.key = key
        self.source = source
        self.stale = stale
    }

    func start() {
        let context = Coordinator.Context(client: coordinator.maintenanceClient, resp3: false, read: .dcOne, write: .dcOne)
        Self.readState(of: key, from: source, via: coordinator, context: context, receiver: self, indexes: (0, 1))
    }

    /// Asks `source` for `key`'s DUMP and PEXPIRETIME, answered to `receiver` as `indexes`.
    static func readState(of key: ByteBuffer, from source: Target, via coordinator: Coordinator, context: Coordinator.Context,
                          receiver: any ReplyReceiver, indexes: (dump: Int, expiry: Int)) {
        coordinator.send(to: source, .request, .resp(dumpSpec, [ByteBuffer(string: "dump"), key]), context, isWrite: false,
                         receiver: receiver, index: indexes.dump)
        coordinator.send(to: source, .request, .resp(pexpiretime, [ByteBuffer(string: "pexpiretime"), key]), context,
                         isWrite: false, receiver: receiver, index: indexes.expiry)
    }

    /// The write of that state: `RESTORE key expire-at payload REPLACE ABSTTL`, or `DEL key` when
    /// the DUMP was null; nil for replies of another shape.
    static func writeState(of key: ByteBuffer, dump: ByteBuffer, expireTime: ByteBuffer) -> Coordinator.Request? {
        guard let expireAt = RESPToken(expireTime).integer else { return nil }
        guard let payload = RESPToken(dump).bulk else { return .resp(del, [ByteBuffer(string: "del"), key]) }
        return .resp(restore, [ByteBuffer(string: "restore"), key, ByteBuffer(string: String(max(expireAt, 0))), payload,
                               ByteBuffer(string: "REPLACE"), ByteBuffer(string: "ABSTTL")])
    }

    func receive(_ reply: Result<ByteBuffer, EngineError>, for index: Int) {
        guard index < 2, case .success(let bytes) = reply else { return }
        if index == 0 { dump = bytes } else { expireTime = bytes }
        guard let dump, let expireTime, let request = Self.writeState(of: key, dump: dump, expireTime: expireTime) else { return }
        if readRepair {
            coordinator.node.readRepairsDone.add(1, ordering: .relaxed)
            coordinator.node.staleReplicasFound.add(stale.count, ordering: .relaxed)
        }
        let context = Coordinator.Context(client: coordinator.maintenanceClient, resp3: false, read: .dcOne, write: .dcOne,
                                          version: coordinator.node.clock.next())
        for target in stale {
            coordinator.send(to: target, .request, request, context, isWrite: true, receiver: self, index: 2)
        }
    }
}
