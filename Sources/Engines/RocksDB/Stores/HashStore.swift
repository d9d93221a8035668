import NIOCore
import Protocol

/// Hashes over the storage layer: fields and values in, fields and values out, no reply code
/// (as Kvrocks' `redis_hash.h`). One metadata record (generation, field count) and one
/// `subkeys` record per field, field → value (see `CollectionStorage.swift`). Writes hold the
/// key's lock stripe and may join the pass's group; refusals are thrown before anything is
/// staged. `HashCommands.swift` parses arguments, calls this and writes the replies.
struct HashStore {
    /// The loop's storage layer (`RocksDBStorage`: batches, group commit, locks, encoding).
    /// Unowned and unchecked: a store is made for one call on its storage (`storage.hashes`)
    /// and never outlives it, so the hot path pays no reference counting for it.
    unowned(unsafe) let storage: RocksDBStorage

    /// The value of `field`; nil when the field or the hash is missing.
    func get(_ key: ByteBuffer, field: ByteBuffer) throws(StoreError) -> [UInt8]? {
        guard let generation = try find(key) else { return nil }
        return try storage.storing { () throws(RocksDBError) in try storage.readElement(key, generation: generation, field: field) }
    }

    /// The values of `fields`, in their order (nil for a missing one).
    func get(_ key: ByteBuffer, fields: ArraySlice<ByteBuffer>) throws(StoreError) -> [[UInt8]?] {
        guard let generation = try find(key) else { return Array(repeating: nil, count: fields.count) }
        return try storage.storing { () throws(RocksDBError) in
            var values: [[UInt8]?] = []
            values.reserveCapacity(fields.count)
            for field in fields { values.append(try storage.readElement(key, generation: generation, field: field)) }
            return values
        }
    }

    /// Every field and its value, in field byte order; empty when the hash is missing.
    func all(_ key: ByteBuffer) throws(StoreError) -> [(field: [UInt8], value: [UInt8])] {
        guard let generation = try find(key) else { return [] }
        return storage.elements(key, generation: generation)
    }

    /// The number of fields (0 when missing): the count kept in the metadata, O(1).
    func count(_ key: ByteBuffer) throws(StoreError) -> Int {
        Int(try storage.liveCollection(.hash, key)?.count ?? 0)
    }

    /// Sets every field of `pairs` (field, value, field, value, …; a repeated field takes its
    /// last value), creating the hash if needed. Returns how many fields are new.
    @discardableResult
    func set(_ key: ByteBuffer, pairs: ArraySlice<ByteBuffer>) throws(StoreError) -> Int {
        try storage.modifying(key) { () throws(StoreError) in
            let hash = try open(key)
            return try storage.storing { () throws(RocksDBError) in
                var added = 0
                var seen = Set<[UInt8]>()
                var i = pairs.startIndex
                while i + 1 < pairs.endIndex {
                    let element = storage.elementKey(key, generation: hash.generation, field: pairs[i])
                    if seen.insert(element).inserted, try storage.readStored(.subkeys, key: element) == nil { added += 1 }
                    pairs[i + 1].withUnsafeReadableBytes { storage.stageElement(element, value: $0) }
                    i += 2
                }
                storage.stageCollectionMeta(.hash, key, expireAt: hash.expireAt, generation: hash.generation,
                                            count: hash.count + UInt64(added))
                return added
            }
        }
    }

    /// Sets `field` only when the hash does not have it; returns whether it did.
    func setIfAbsent(_ key: ByteBuffer, field: ByteBuffer, value: ByteBuffer) throws(StoreError) -> Bool {
        try storage.modifying(key) { () throws(StoreError) in
            let hash = try open(key)
            return try storage.storing { () throws(RocksDBError) in
                let element = storage.elementKey(key, generation: hash.generation, field: field)
                guard try storage.readStored(.subkeys, key: element) == nil else { return false }
                value.withUnsafeReadableBytes { storage.stageElement(element, value: $0) }
                storage.stageCollectionMeta(.hash, key, expireAt: hash.expireAt, generation: hash.generation, count: hash.count + 1)
                return true
            }
        }
    }

    /// Removes `fields` (the hash goes with its last field); returns how many were there.
    func delete(_ key: ByteBuffer, fields: ArraySlice<ByteBuffer>) throws(StoreError) -> Int {
        try storage.modifying(key) { () throws(StoreError) in
            guard let (meta, generation, count, _) = try storage.liveCollection(.hash, key) else { return 0 }
            return try storage.storing { () throws(RocksDBError) in
                var removed = Set<[UInt8]>()
                for field in fields {
                    let element = storage.elementKey(key, generation: generation, field: field)
                    guard !removed.contains(element), try storage.readStored(.subkeys, key: element) != nil else { continue }
                    removed.insert(element)
                    storage.stageElement(element, value: nil)
                }
                if !removed.isEmpty {
                    storage.stageCollectionMeta(.hash, key, expireAt: meta.expireAt, generation: generation,
                                                count: count - UInt64(removed.count))
                }
                return removed.count
            }
        }
    }

    /// Adds `increment` to the integer in `field` (0 when missing); returns the sum.
    /// Throws `.notInteger` when the field holds something else, `.overflow` past 64 bits.
    func increment(_ key: ByteBuffer, field: ByteBuffer, by increment: Int) throws(StoreError) -> Int {
        try storage.modifying(key) { () throws(StoreError) in
            let hash = try open(key)
            let element = storage.elementKey(key, generation: hash.generation, field: field)
            let old = try storage.storing { () throws(RocksDBError) in try storage.readStored(.subkeys, key: element) }
            var current = 0
            if let old {
                guard let parsed = old.withUnsafeBytes({ RedisInteger.parse($0) }) else { throw .notInteger }
                current = parsed
            }
            let (sum, overflow) = current.addingReportingOverflow(increment)
            if overflow { throw .overflow }
            DecimalText.with(sum) { storage.stageElement(element, value: $0) }
            storage.stageCollectionMeta(.hash, key, expireAt: hash.expireAt, generation: hash.generation,
                                        count: hash.count + (old == nil ? 1 : 0))
            return sum
        }
    }

    /// Adds `increment` to the float in `field` (0 when missing); returns the new value as
    /// stored (its shortest decimal text, as Redis keeps it). Throws `.notFloat` when the
    /// field holds something else, `.notFinite` when the sum is NaN or infinite.
    func increment(_ key: ByteBuffer, field: ByteBuffer, by increment: Float80) throws(StoreError) -> [UInt8] {
        try storage.modifying(key) { () throws(StoreError) in
            let hash = try open(key)
            let element = storage.elementKey(key, generation: hash.generation, field: field)
            let old = try storage.storing { () throws(RocksDBError) in try storage.readStored(.subkeys, key: element) }
            var current: Float80 = 0
            if let old {
                guard let parsed = old.withUnsafeBytes({ LongDouble.parse($0) }) else { throw .notFloat }
                current = parsed
            }
            let sum = current + increment
            if sum.isNaN || sum.isInfinite { throw .notFinite }
            let text = LongDouble.humanString(sum)
            text.withUnsafeBytes { storage.stageElement(element, value: $0) }
            storage.stageCollectionMeta(.hash, key, expireAt: hash.expireAt, generation: hash.generation,
                                        count: hash.count + (old == nil ? 1 : 0))
            return text
        }
    }

    /// Replaces whatever `key` holds with a hash of `fields` (RENAME, COPY, RESTORE; the caller
    /// holds the key's stripe).
    func replace(_ key: ByteBuffer, with fields: [(field: [UInt8], value: [UInt8])], expireAt: Int64) {
        let generation = storage.engine.nextGeneration()
        for (field, value) in fields {
            value.withUnsafeBytes { storage.stageElement(storage.elementKey(key, generation: generation, member: field), value: $0) }
        }
        storage.stageCollectionMeta(.hash, key, expireAt: expireAt, generation: generation, count: UInt64(fields.count))
    }

    /// The fields (and values, when asked) at the positions `choose` picks from the hash's
    /// size, in field byte order; nil when the hash is missing. Hashes keep no slot index (it
    /// would cost every HSET a write), so this walks the fields in order, stepping over the
    /// ones not picked without copying them, and stops at the last position wanted.
    func fields(_ key: ByteBuffer, at choose: (Int) -> [Int], values: Bool) throws(StoreError) -> [Int: (element: [UInt8], extra: [UInt8])]? {
        guard let (_, generation, count, _) = try storage.liveCollection(.hash, key) else { return nil }
        let positions = choose(Int(count))
        let prefix = storage.elementPrefix(key, generation: generation)
        let iterator = RocksIterator(storage.db, .subkeys, scan: false, through: storage.transaction)
        iterator.seek(prefix)
        return iterator.pick(positions, under: prefix) { stored, value in
            (Array(stored[prefix.count...]), values ? Array(value) : [])
        }
    }

    // MARK: - Lookup

    /// The live hash's generation; nil when missing.
    private func find(_ key: ByteBuffer) throws(StoreError) -> UInt64? {
        try storage.liveCollection(.hash, key)?.generation
    }

    /// The hash opened for writing: its generation, field count and expiry, or a new
    /// generation when it does not exist yet.
    private func open(_ key: ByteBuffer) throws(StoreError) -> (generation: UInt64, count: UInt64, expireAt: Int64) {
        guard let (meta, generation, count, _) = try storage.liveCollection(.hash, key) else { return (storage.engine.nextGeneration(), 0, 0) }
        return (generation, count, meta.expireAt)
    }
}

extension RocksDBStorage {
    /// This storage's hashes.
    var hashes: HashStore { HashStore(storage: self) }
}
