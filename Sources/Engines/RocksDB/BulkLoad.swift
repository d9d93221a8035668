import NIOCore
import Snapshot

/// Offline restores: writes decoded snapshot entries straight into the engine, a whole batch
/// per RocksDB write, with no DUMP payload encoded and decoded on the way.
public final class RocksDBBulkLoader {
    private let session: RocksDBSession

    public init(engine: RocksDBEngine, eventLoop: EventLoop) {
        session = RocksDBSession(engine: engine, eventLoop: eventLoop)
    }

    /// What happened to one entry.
    public enum Outcome: Sendable {
        case written
        /// The key was there and `replace` was off.
        case existed
    }

    /// Writes `entries` (none already expired) in one atomic batch.
    public func load(_ entries: [RDBEntry], replace: Bool) throws(RocksDBError) -> [Outcome] {
        let keys = entries.map { ByteBuffer(bytes: $0.key) }
        let stripes = keys.map { k in KeyLocks.stripe(of: k.withUnsafeReadableBytes { session.engine.keyToken($0) }) }
        return try session.storage.modify(stripes: stripes) { () throws(RocksDBError) -> [Outcome] in
            let now = WallClock.nowMillis()
            var outcomes: [Outcome] = []
            outcomes.reserveCapacity(entries.count)
            for (entry, key) in zip(entries, keys) {
                if !replace {
                    if try session.storage.readMeta(key, now: now) != nil {
                        outcomes.append(.existed)
                        continue
                    }
                }
                session.storage.stageValue(RocksDBStorage.StoredValue(entry.value), expireAt: entry.expireAtMillis ?? 0, at: key)
                outcomes.append(.written)
            }
            return outcomes
        }
    }
}
