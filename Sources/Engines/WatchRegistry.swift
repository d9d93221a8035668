import NIOConcurrencyHelpers
import NIOCore
import Synchronization

/// One connection's WATCH: set dirty by any write to a watched key, from any connection.
public final class WatchState: Sendable {
    let dirty = Atomic<Bool>(false)
    public init() {}
    public var isDirty: Bool { dirty.load(ordering: .acquiring) }
}

/// What a connection watches: the keys, whether each was live when watched (a watched key
/// that expires makes EXEC fail, as in Redis 7.0), and the state writers mark.
public struct WatchList {
    public var keys: [[UInt8]] = []
    var existed: [Bool] = []
    public var state: WatchState?
    public init() {}
    public var isEmpty: Bool { keys.isEmpty }
}

/// Every WATCHed key of the node. Writers mark watchers dirty *before* they write (under no
/// lock of theirs), so an EXEC that holds its keys' stripes and finds itself clean runs before
/// any write it could have missed. A count lets writes skip the lock when nobody watches.
final class WatchRegistry: Sendable {
    private let watchers = NIOLockedValueBox<[[UInt8]: [WatchState]]>([:])
    private let count = Atomic<Int>(0)

    var hasWatchers: Bool { count.load(ordering: .relaxed) > 0 }

    func watch(_ key: [UInt8], _ state: WatchState) {
        watchers.withLockedValue { $0[key, default: []].append(state) }
        count.add(1, ordering: .relaxed)
    }

    func unwatch(_ keys: [[UInt8]], _ state: WatchState) {
        watchers.withLockedValue { map in
            for key in keys {
                map[key]?.removeAll { $0 === state }
                if map[key]?.isEmpty == true { map[key] = nil }
            }
        }
        count.subtract(keys.count, ordering: .relaxed)
    }

    /// A write command is about to run: any argument may be a key it modifies. Matching a
    /// value that happens to equal a watched key's name only costs that watcher a retry.
    func touched(_ arguments: ArraySlice<ByteBuffer>) {
        watchers.withLockedValue { map in
            for argument in arguments {
                guard let states = map[Array(argument.readableBytesView)] else { continue }
                for state in states { state.dirty.store(true, ordering: .releasing) }
            }
        }
    }

    /// FLUSHALL / FLUSHDB.
    func touchedAll() {
        watchers.withLockedValue { map in
            for states in map.values { for state in states { state.dirty.store(true, ordering: .releasing) } }
        }
    }
}
