import Engines
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Hinted handoff's durable list (DESIGN.md §5b): for each replica that did not acknowledge a
/// write, the keys it missed. A hint is (target node, key) and nothing else: replay sends the
/// key's *current state* with its version, so a key written 500 times while its replica was
/// down is one hint, and replaying a hint twice or late changes nothing.
///
/// Stored in the node's own small RocksDB (`LocalStore`, under `data_dir/hints`) as
/// `target ‖ 0x00 ‖ key → recorded-at ms ‖ sequence`; the sequence tells replay whether the
/// key missed another write while its state was in flight (then the hint stays).
public final class HintStore: Sendable {
    /// One stored hint.
    struct Hint {
        let storedKey: [UInt8]
        let key: [UInt8]
        let recordedAt: Int64
        let sequence: UInt64
    }

    /// Counters for `/metrics` and `/info`.
    struct Counters: Sendable {
        var stored = 0
        var replayed = 0
        var droppedWindow = 0
        var droppedCap = 0
        var droppedByOperator = 0
    }

    private struct Target {
        var pending = 0
        /// When the oldest pending hint was recorded: the target has missed writes since then.
        var missingSince: Int64?
        var loggedWindow = false
    }

    private let store: LocalStore
    private struct State {
        var targets: [String: Target]
        var counters = Counters()
        var sequence: UInt64
    }

    private let state: NIOLockedValueBox<State>
    /// `max_hint_window`, ms: a target that has been missing writes for longer gets no new hints,
    /// and older hints are dropped at replay (anti-entropy or a rebuild must bring it back).
    let window: Int64
    /// `max_hints_per_target`.
    let capPerTarget: Int
    private let logger: Logger

    init(directory: String, window: Int64, capPerTarget: Int, logger: Logger) throws(EngineError) {
        store = try LocalStore(directory: directory)
        self.window = window
        self.capPerTarget = capPerTarget
        self.logger = logger
        // Pending counts survive a restart: count what is stored.
        var targets: [String: Target] = [:]
        var after: [UInt8]?
        while true {
            let page = store.scan(prefix: [], after: after, limit: 4096)
            for entry in page {
                guard let (name, _) = Self.split(entry.key), let (recordedAt, _) = Self.decode(entry.value) else { continue }
                targets[name, default: Target()].pending += 1
                targets[name]!.missingSince = min(targets[name]!.missingSince ?? recordedAt, recordedAt)
            }
            guard page.count == 4096 else { break }
            after = page.last!.key
        }
        state = NIOLockedValueBox(State(targets: targets, sequence: UInt64(WallClock.nowMillis()) << 16))
    }

    /// Records that `target` missed a write of `key`. Returns false when the hint was dropped
    /// (window or cap).
    @discardableResult
    func record(target: String, key: ByteBuffer) -> Bool {
        let storedKey = Self.storedKey(target: target, key: Array(key.readableBytesView))
        let now = WallClock.nowMillis()
        return state.withLockedValue { (state: inout State) -> Bool in
            var entry = state.targets[target] ?? Target()
            if let since = entry.missingSince, now - since > window {
                state.counters.droppedWindow += 1
                if !entry.loggedWindow {
                    entry.loggedWindow = true
                    logger.warning("hinted handoff: \(target) has missed writes for longer than max_hint_window (\(window) ms); its new hints are dropped (anti-entropy or a rebuild must bring it back)")
                }
                state.targets[target] = entry
                return false
            }
            let exists = ((try? store.get(storedKey)) ?? nil) != nil
            if !exists, entry.pending >= capPerTarget {
                state.counters.droppedCap += 1
                return false
            }
            state.sequence += 1
            var value: [UInt8] = []
            value.reserveCapacity(16)
            withUnsafeBytes(of: now.bigEndian) { value.append(contentsOf: $0) }
            withUnsafeBytes(of: state.sequence.bigEndian) { value.append(contentsOf: $0) }
            do { try store.put(storedKey, value) } catch {
                logger.error("hinted handoff: cannot store a hint for \(target): \(error)")
                return false
            }
            state.counters.stored += 1
            if !exists {
                if entry.pending == 0 {
                    entry.missingSince = now
                    logger.info("hinted handoff: \(target) missed a write; keeping hints for it")
                }
                entry.pending += 1
            }
            state.targets[target] = entry
            return true
        }
    }

    /// Up to `limit` of `target`'s hints after `after` (a stored key), in key order.
    func hints(for target: String, after: [UInt8]?, limit: Int) -> [Hint] {
        store.scan(prefix: Self.prefix(target), after: after, limit: limit).compactMap { entry in
            guard let (_, key) = Self.split(entry.key), let (recordedAt, sequence) = Self.decode(entry.value) else { return nil }
            return Hint(storedKey: entry.key, key: key, recordedAt: recordedAt, sequence: sequence)
        }
    }

    /// Removes a hint whose state reached its target, unless the key missed another write
    /// meanwhile (its sequence changed). `dropped`: it was dropped, not replayed.
    func remove(_ hint: Hint, target: String, dropped: Bool = false) {
        state.withLockedValue { (state: inout State) in
            guard let current = try? store.get(hint.storedKey), let (_, sequence) = Self.decode(current),
                  sequence == hint.sequence else { return }
            guard (try? store.delete(hint.storedKey)) != nil else { return }
            if dropped { state.counters.droppedWindow += 1 } else { state.counters.replayed += 1 }
            Self.decrement(&state.targets, target)
        }
    }

    /// Drops every hint of `target` (every target when nil); returns how many.
    func drop(target: String?) -> Int {
        let names = state.withLockedValue { state in target.map { [$0] } ?? Array(state.targets.keys) }
        var dropped = 0
        for name in names {
            while true {
                let page = store.scan(prefix: Self.prefix(name), limit: 4096)
                if page.isEmpty { break }
                for entry in page where (try? store.delete(entry.key)) != nil { dropped += 1 }
            }
            state.withLockedValue { state in state.targets[name] = nil }
        }
        state.withLockedValue { $0.counters.droppedByOperator += dropped }
        if dropped > 0 { logger.warning("hinted handoff: an operator dropped \(dropped) hint(s)\(target.map { " for \($0)" } ?? "")") }
        return dropped
    }

    /// Pending hints per target.
    var pending: [String: Int] {
        state.withLockedValue { state in state.targets.compactMapValues { $0.pending > 0 ? $0.pending : nil } }
    }

    var counters: Counters { state.withLockedValue { $0.counters } }

    // MARK: - Layout

    private static func prefix(_ target: String) -> [UInt8] { Array(target.utf8) + [0] }

    private static func storedKey(target: String, key: [UInt8]) -> [UInt8] { prefix(target) + key }

    private static func split(_ stored: [UInt8]) -> (target: String, key: [UInt8])? {
        guard let zero = stored.firstIndex(of: 0) else { return nil }
        return (String(decoding: stored[..<zero], as: UTF8.self), Array(stored[(zero + 1)...]))
    }

    private static func decode(_ value: [UInt8]) -> (recordedAt: Int64, sequence: UInt64)? {
        guard value.count >= 16 else { return nil }
        var recordedAt: Int64 = 0
        var sequence: UInt64 = 0
        for i in 0..<8 {
            recordedAt = recordedAt << 8 | Int64(value[i])
            sequence = sequence << 8 | UInt64(value[8 + i])
        }
        return (recordedAt, sequence)
    }

    private static func decrement(_ targets: inout [String: Target], _ name: String) {
        guard var entry = targets[name] else { return }
        entry.pending = max(0, entry.pending - 1)
        if entry.pending == 0 {
            entry.missingSince = nil
            entry.loggedWindow = false
        }
        targets[name] = entry
    }
}
