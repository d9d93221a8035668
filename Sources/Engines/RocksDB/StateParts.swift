import NIOConcurrencyHelpers
import NIOCore
import Snapshot

/// A collection's state in bounded parts (issue #16: "large collections travel in bounded
/// chunks, never one frame over the peer frame limit").
///
/// `DYNAMIS.STATE key MAXBYTES n` answers the first part of at most about `n` bytes of
/// elements, with a cursor when more follow; `… FROM version cursor` the next one, refused once
/// the key's version moved (the sender starts again later). Every part is a DUMP payload of the
/// same type holding some of the elements. The receiver keeps the parts in memory
/// (`StagedStates`) until the last, then applies the joined value in one batch under the key's
/// lock, as a one-frame state is applied: readers never see a partial collection, and a
/// transfer cut short leaves nothing behind but staged parts that expire.
extension RocksDBStorage {
    /// The part of `key`'s collection after `cursor` (nil: from the start), at least one element
    /// and about `budget` bytes, and the cursor of the next part (nil: this is the last).
    /// Strings are one part: their 512 MB limit fits a peer frame.
    func statePart(_ key: ByteBuffer, after cursor: [UInt8]?, budget: Int, now: Int64) throws(RocksDBError) -> (StoredValue, next: [UInt8]?)? {
        guard let record = try readRecord(key, now: now) else { return nil }
        switch record.meta.type {
        case .string:
            return (.string(Array(record.stringValue)), nil)
        case .hash, .set:
            guard let (generation, _) = Metadata.collection(record.stored) else { return nil }
            let (items, next) = elementRange(.subkeys, prefix: elementPrefix(key, generation: generation), after: cursor, budget: budget)
            return record.meta.type == .hash ? (.hash(items.map { ($0.suffix, $0.value) }), next) : (.set(items.map(\.suffix)), next)
        case .zset:
            // Walked in score order (the zscore family: score ‖ member); the cursor is that suffix.
            guard let (generation, _) = Metadata.collection(record.stored) else { return nil }
            let (items, next) = elementRange(.zscore, prefix: elementPrefix(key, generation: generation), after: cursor, budget: budget)
            let entries = items.compactMap { item -> ZEntry? in
                guard item.suffix.count >= 8 else { return nil }
                return ZEntry(member: Array(item.suffix[8...]), score: item.suffix.withUnsafeBytes { Score.decode($0, at: 0) })
            }
            return (.zset(entries), next)
        case .list:
            guard case .found(let state) = try lookupList(key, now: now) else { return nil }
            // The cursor is the index of the part's first element.
            var index = cursor.flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0
            var values: [[UInt8]] = []
            var bytes = 0
            while index < state.count, bytes < budget || values.isEmpty {
                let batch = listValues(key, state, from: index, to: min(index + 255, state.count - 1))
                for value in batch where bytes < budget || values.isEmpty {
                    values.append(value)
                    bytes += value.count + 16
                    index += 1
                }
                if batch.isEmpty { break }
            }
            return (.list(values), index < state.count ? Array(String(index).utf8) : nil)
        }
    }

    /// The records of `family` under `prefix` after the suffix `cursor`, until `budget` bytes
    /// (at least one); the last suffix taken when more follow.
    private func elementRange(_ family: ColumnFamily, prefix: [UInt8], after cursor: [UInt8]?,
                              budget: Int) -> (items: [(suffix: [UInt8], value: [UInt8])], next: [UInt8]?) {
        let iterator = RocksIterator(db, family, scan: false, through: transaction)
        iterator.seek(prefix + (cursor ?? []))
        var items: [(suffix: [UInt8], value: [UInt8])] = []
        var bytes = 0
        while iterator.isValid {
            let stored = iterator.key
            guard stored.starts(with: prefix) else { break }
            let suffix = Array(stored[prefix.count...])
            if let cursor, suffix == cursor {
                iterator.next()
                continue
            }
            if bytes >= budget, let last = items.last { return (items, last.suffix) }
            let value = Array(iterator.value)
            bytes += suffix.count + value.count + 16
            items.append((suffix, value))
            iterator.next()
        }
        return (items, nil)
    }
}

extension RocksDBStorage.StoredValue {
    /// The value the parts make together, in order; nil if they are not all of one type.
    static func joined(_ parts: [RocksDBStorage.StoredValue]) -> RocksDBStorage.StoredValue? {
        guard var whole = parts.first else { return nil }
        for part in parts.dropFirst() {
            switch (whole, part) {
            case (.hash(let a), .hash(let b)): whole = .hash(a + b)
            case (.set(let a), .set(let b)): whole = .set(a + b)
            case (.list(let a), .list(let b)): whole = .list(a + b)
            case (.zset(let a), .zset(let b)): whole = .zset(a + b)
            default: return nil
            }
        }
        return whole
    }
}

/// The parts of states being received in parts, per key and version, until the last arrives.
/// Shared by the engine's sessions (the parts of one transfer may arrive on different
/// connections); bounded in bytes, and a transfer silent for `idleMillis` is forgotten.
final class StagedStates: Sendable {
    private struct Transfer {
        var version: UInt64
        var parts: [RocksDBStorage.StoredValue]
        var bytes: Int
        var touched: Int64
    }

    private let transfers = NIOLockedValueBox<[[UInt8]: Transfer]>([:])
    /// The most the node holds for unfinished transfers together.
    let capacity: Int
    let idleMillis: Int64

    init(capacity: Int = 1 << 30, idleMillis: Int64 = 120_000) {
        self.capacity = capacity
        self.idleMillis = idleMillis
    }

    enum Refusal: Error {
        /// Part `expected` was due (a part was lost or repeated: the sender starts again).
        case outOfOrder(expected: Int)
        case full
    }

    /// Keeps part `index` (0-based) of `key`'s state at `version`; part 0 replaces whatever
    /// was staged for the key.
    func add(key: [UInt8], version: UInt64, index: Int, part: RocksDBStorage.StoredValue, bytes: Int, now: Int64) throws(Refusal) {
        let result: Refusal? = transfers.withLockedValue { staged in
            staged = staged.filter { $0.value.touched + idleMillis > now }
            if index == 0 { staged[key] = nil }
            let held = staged.values.reduce(0) { $0 + $1.bytes }
            guard held + bytes <= capacity else { return .full }
            var transfer = staged[key] ?? Transfer(version: version, parts: [], bytes: 0, touched: now)
            guard transfer.version == version, transfer.parts.count == index else {
                staged[key] = nil
                return .outOfOrder(expected: transfer.version == version ? transfer.parts.count : 0)
            }
            transfer.parts.append(part)
            transfer.bytes += bytes
            transfer.touched = now
            staged[key] = transfer
            return nil
        }
        if let result { throw result }
    }

    /// The staged parts of `key`'s state at `version`, removed, if exactly `count` are there.
    func take(key: [UInt8], version: UInt64, count: Int) -> [RocksDBStorage.StoredValue]? {
        transfers.withLockedValue { staged in
            guard let transfer = staged.removeValue(forKey: key), transfer.version == version, transfer.parts.count == count else { return nil }
            return transfer.parts
        }
    }

    /// Forgets `key`'s staged parts (the receiver holds a newer version).
    func drop(key: [UInt8]) {
        transfers.withLockedValue { _ = $0.removeValue(forKey: key) }
    }

    /// Bytes held for unfinished transfers.
    var bytesHeld: Int { transfers.withLockedValue { $0.values.reduce(0) { $0 + $1.bytes } } }
}
