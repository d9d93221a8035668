import NIOConcurrencyHelpers
import NIOCore
import Synchronization

/// Every open client connection, so that CLIENT KILL can find others by id or address. Changed
/// when a connection opens or closes, never per request.
final class ClientRegistry: Sendable {
    struct Entry: Sendable {
        let id: Int
        /// `ip:port` of the client, and of the listener it reached.
        let address: String
        let localAddress: String
        /// Closes the connection, on its own event loop.
        let kill: @Sendable () -> Void
    }

    private let entries = NIOLockedValueBox<[Int: Entry]>([:])

    func add(_ entry: Entry) { entries.withLockedValue { $0[entry.id] = entry } }
    func remove(_ id: Int) { _ = entries.withLockedValue { $0.removeValue(forKey: id) } }
    func all() -> [Entry] { entries.withLockedValue { Array($0.values) } }
}

/// CLIENT PAUSE: until when, and whether only writes wait (Redis's WRITE mode) or everything.
final class ClientPause: Sendable {
    private let until = Atomic<Int64>(0)
    private let writesOnly = Atomic<Bool>(false)

    func pause(untilMillis: Int64, writesOnly: Bool) {
        // A pause never shortens one in force, as in Redis; the mode is the latest one.
        var current = until.load(ordering: .relaxed)
        while untilMillis > current {
            let (exchanged, original) = until.compareExchange(expected: current, desired: untilMillis, ordering: .relaxed)
            if exchanged { break }
            current = original
        }
        self.writesOnly.store(writesOnly, ordering: .relaxed)
    }

    func unpause() { until.store(0, ordering: .relaxed) }

    /// Whether a pause was set and not yet seen to end.
    @inline(__always)
    var isActive: Bool { until.load(ordering: .relaxed) != 0 }

    /// The deadline a command must wait for, if any: every command, or only writes. A pause
    /// found over is cleared, so later commands skip the clock.
    func deadline(now: Int64, isWrite: Bool) -> Int64? {
        let end = until.load(ordering: .relaxed)
        guard end > now else {
            if end != 0 { _ = until.compareExchange(expected: end, desired: 0, ordering: .relaxed) }
            return nil
        }
        return isWrite || !writesOnly.load(ordering: .relaxed) ? end : nil
    }
}
