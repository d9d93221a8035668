import NIOCore

/// Keys of any type over the storage layer, with no reply code: existence, type, expiry and
/// deletion (DEL/UNLINK, EXISTS/TOUCH, TYPE, the EXPIRE and TTL families, PERSIST), and the
/// keyspace as a whole (KEYS, SCAN, RANDOMKEY, DBSIZE, FLUSHALL). Each key operation touches
/// only the key's metadata record, O(1) whatever the key holds: a deleted collection's elements
/// are reclaimed by the orphan sweep, and a fragmented string keeps its fragments when its
/// expiry changes. `KeyspaceCommands.swift` and `ScanCommands.swift` parse arguments, call this
/// and write the replies.
struct KeyspaceStore {
    /// The storage layer; unowned and unchecked for the reason `StringStore.storage` gives.
    unowned(unsafe) let storage: RocksDBStorage

    /// Deletes `keys` (a key named twice once) holding their stripes; returns how many were
    /// live (an expired record is removed too, but not counted). A stamped delete (cluster)
    /// leaves a tombstone instead, also for a key this replica lacks, so an older write of the
    /// key arriving later loses to it here as it did on the replicas that had the key; a key
    /// whose stored version is newer than the delete is left alone.
    func delete(_ keys: some Collection<ByteBuffer>) throws(StoreError) -> Int {
        try storage.modifying(keys) { () throws(StoreError) -> Int in
            let now = WallClock.nowMillis()
            let version = storage.version
            var count = 0
            var seen = Set<ByteBuffer>()
            for key in keys where seen.insert(key).inserted {
                let stored = try storage.storing { () throws(RocksDBError) -> (meta: Metadata?, present: Bool) in
                    guard let value = try storage.readMetadataRecord(key) else { return (nil, false) }
                    return (Metadata.decode(value.bytes), true)
                }
                let live = stored.meta.map { !$0.isExpired(now: now) } ?? false
                if version != 0 {
                    if let meta = stored.meta, meta.timestamp > version { continue }
                    if live { count += 1 }
                    storage.stageTombstone(key, now: now)
                    continue
                }
                guard stored.present else { continue }
                if live { count += 1 }
                storage.stageDelete(key)
            }
            return count
        }
    }

    /// How many of `keys` are live (a key named twice counts twice, as in Redis).
    func count(_ keys: some Sequence<ByteBuffer>) throws(StoreError) -> Int {
        let now = WallClock.nowMillis()
        var count = 0
        for key in keys where try meta(key, now: now) != nil { count += 1 }
        return count
    }

    /// The type of the key's value; nil when it is missing.
    func type(of key: ByteBuffer) throws(StoreError) -> ValueType? {
        try meta(key, now: WallClock.nowMillis())?.type
    }

    /// The key's expiry: nil when it is missing, 0 when it has none, else a Unix time in ms.
    func expiry(of key: ByteBuffer, now: Int64) throws(StoreError) -> Int64? {
        try meta(key, now: now)?.expireAt
    }

    /// The conditions of EXPIRE's NX, XX, GT and LT (a missing expiry is infinite for GT/LT).
    struct ExpiryConditions {
        var nx = false, xx = false, gt = false, lt = false

        /// Whether a key whose expiry is `current` (-1: none) may take `when`.
        func allow(_ when: Int, current: Int) -> Bool {
            if nx && current != -1 { return false }
            if xx && current == -1 { return false }
            if gt && (when <= current || current == -1) { return false }
            if lt && current != -1 && when >= current { return false }
            return true
        }
    }

    /// Gives the key the expiry `when` (a Unix time in ms) when `conditions` allow it; a time
    /// not after now deletes the key. Returns whether the key changed (false when missing).
    func expire(_ key: ByteBuffer, at when: Int, _ conditions: ExpiryConditions) throws(StoreError) -> Bool {
        try storage.modifying(key) { () throws(StoreError) -> Bool in
            let now = WallClock.nowMillis()
            guard let record = try record(key, now: now) else { return false }
            let current = record.meta.expireAt == 0 ? -1 : Int(record.meta.expireAt)
            guard conditions.allow(when, current: current) else { return false }
            if when <= Int(now) {
                storage.stageDelete(key)
            } else {
                storage.stageExpiry(key, of: record, expireAt: Int64(when))
            }
            return true
        }
    }

    /// Removes the key's expiry; returns whether it had one.
    func persist(_ key: ByteBuffer) throws(StoreError) -> Bool {
        try storage.modifying(key) { () throws(StoreError) -> Bool in
            guard let record = try record(key, now: WallClock.nowMillis()), record.meta.expireAt != 0 else { return false }
            storage.stageExpiry(key, of: record, expireAt: 0)
            return true
        }
    }

    // MARK: - The whole keyspace

    /// Visits the live keys in the metadata family's order, (token, key), from `startToken`,
    /// through EXEC's batch while one runs; `visit` returns false to stop once the current
    /// token's keys are visited, so a page never splits the keys that share a token. Returns
    /// the token to resume at, or nil when the keyspace is exhausted.
    func walk(fromToken startToken: UInt32, _ visit: (_ key: ArraySlice<UInt8>, _ type: ValueType) -> Bool) -> UInt32? {
        let iterator = RocksIterator(storage.db, .metadata, scan: true, through: storage.transaction)
        var start: [UInt8] = []
        KeyEncoding.appendBigEndian(startToken, to: &start)
        iterator.seek(start)
        let now = WallClock.nowMillis()
        var stopAfter: UInt32?
        while iterator.isValid {
            let stored = iterator.key
            guard let (token, key) = KeyEncoding.splitMetadataKey(stored) else { iterator.next(); continue }
            if let stop = stopAfter, token != stop { return token }
            if let meta = Metadata.decode(iterator.value), !meta.isExpired(now: now), !visit(key, meta.type) {
                stopAfter = token
            }
            iterator.next()
        }
        return nil
    }

    /// A live key chosen at random (a random point in the token space, then the first live key
    /// at or after it, wrapping around); nil when there is none.
    func randomKey() -> [UInt8]? {
        var chosen: [UInt8]?
        for from in [UInt32.random(in: 0...UInt32.max), 0] where chosen == nil {
            _ = walk(fromToken: from) { key, _ in
                chosen = Array(key)
                return false
            }
        }
        return chosen
    }

    /// How many keys are live: the engine's count, or inside EXEC what the transaction sees.
    func size() -> Int {
        guard let transaction = storage.transaction else { return storage.engine.countKeys().keys }
        let now = WallClock.nowMillis()
        let iterator = RocksIterator(storage.db, .metadata, scan: true, through: transaction)
        var count = 0
        iterator.seekToFirst()
        while iterator.isValid {
            if let meta = Metadata.decode(iterator.value), !meta.isExpired(now: now) { count += 1 }
            iterator.next()
        }
        return count
    }

    /// Deletes every key of every type. Inside EXEC it applies at once, and the transaction's
    /// earlier writes go with it.
    func flush() throws(StoreError) {
        storage.transaction?.clear()
        storage.walDirty = true
        for family in [ColumnFamily.metadata, .subkeys, .zscore, .setslots] {
            try storage.storing { () throws(RocksDBError) in try storage.db.deleteAll(family) }
        }
    }

    // MARK: - Records

    /// The key's live metadata (nil when missing or expired).
    private func meta(_ key: ByteBuffer, now: Int64) throws(StoreError) -> Metadata? {
        try storage.storing { () throws(RocksDBError) in try storage.readMeta(key, now: now) }
    }

    /// The key's live record as stored (a fragmented string's unassembled: its header is all
    /// an expiry change rewrites).
    private func record(_ key: ByteBuffer, now: Int64) throws(StoreError) -> RocksDBStorage.Record? {
        try storage.storing { () throws(RocksDBError) in try storage.readStoredRecord(key, now: now) }
    }
}

extension RocksDBStorage {
    /// This storage's keys, of any type.
    var keyspace: KeyspaceStore { KeyspaceStore(storage: self) }

    /// Stages `record` (`key`'s, as stored) with its expiry changed to `expireAt` (0: none).
    func stageExpiry(_ key: ByteBuffer, of record: Record, expireAt: Int64) {
        encodeKey(key)
        valueScratch = record.stored.withUnsafeBytes { Metadata.withExpiry($0, expireAt: expireAt, timestamp: stamp) }
        putInto(immediate, .metadata)
    }
}
