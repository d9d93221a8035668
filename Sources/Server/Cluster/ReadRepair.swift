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
    private let targets: [Int]
    private var states: [(version: UInt64, expireAt: Int, payload: ByteBuffer?)?]
    private var remaining: Int
    private var winner: Int?
    private let then: ((Int?) -> Void)?

    private static let state = CommandTable.lookup("dynamis.state")!

    init(coordinator: Coordinator, key: ByteBuffer, targets: [Int], then: ((Int?) -> Void)?) {
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
            coordinator.send(to: target, .request, .resp(Self.state, [ByteBuffer(string: "dynamis.state"), key]), context,
                             isWrite: false, receiver: self, index: i)
        }
    }

    func receive(_ reply: Result<ByteBuffer, EngineError>, for index: Int) {
        if index >= targets.count {
            // A stale replica answered its repair (or failed: the next disagreement repairs it again).
            remaining -= 1
            if remaining == 0 { then?(winner) }
            return
        }
        if case .success(let bytes) = reply, let parts = MergedReply.elements(bytes), parts.count == 3,
           let text = RESPElement.bulkText(parts[0]), let version = UInt64(text), let expireAt = RESPElement.integer(parts[1]) {
            states[index] = (version, expireAt, RESPElement.bulk(parts[2]))
        }
        remaining -= 1
        if remaining == 0 { resolve() }
    }

    /// The newest state wins (the first of equal versions); older replicas get it.
    private func resolve() {
        var best: Int?
        for i in states.indices {
            guard let state = states[i] else { continue }
            if best == nil || state.version > states[best!]!.version { best = i }
        }
        guard let best, let chosen = states[best], chosen.version != 0 else { return then?(nil) ?? () }
        winner = targets[best]
        var stale: [Int] = []
        for i in states.indices where i != best {
            guard let state = states[i] else { continue }
            if state.version < chosen.version || (state.version == chosen.version && state.payload != chosen.payload) { stale.append(i) }
        }
        guard !stale.isEmpty else { return then?(winner) ?? () }
        coordinator.node.readRepairsDone.add(1, ordering: .relaxed)
        coordinator.node.staleReplicasFound.add(stale.count, ordering: .relaxed)
        let request = HintDelivery.applyRequest(key: key, expireAt: chosen.expireAt, payload: chosen.payload)
        let context = Coordinator.Context(client: coordinator.maintenanceClient, resp3: false, read: .dcOne, write: .dcOne,
                                          version: chosen.version, stateTransfer: true)
        remaining = stale.count
        for i in stale {
            coordinator.send(to: targets[i], .request, request, context, isWrite: true, receiver: self, index: targets.count + i)
        }
    }
}
