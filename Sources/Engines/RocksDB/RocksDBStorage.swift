import CRocksDB
import NIOCore
import Protocol

/// One event loop's storage layer on the RocksDB engine, under the data-type stores (`Stores/`)
/// and shared by the loop's connections: batches, group commit, WAL flush, lock stripes, the
/// metadata overlay of a group, scratch buffers, key and record encoding, versions. Callers
/// read and write by user key; no call depends on what an earlier one left in the scratch.
///
/// Blind writes (plain SET, SETEX, PSETEX, MSET) from every connection of the loop are grouped
/// into one WriteBatch and committed in `endOfBurst`, once per pass of the event loop, before
/// their replies are flushed: one RocksDB write (and one WAL append) per loop pass instead of
/// one per command. Single-key read-modify-writes (pushes, pops, HSET, SADD, ZADD, INCR, ...)
/// are grouped the same way in a WriteBatchWithIndex they read through, holding their keys'
/// stripes until the commit (see `GroupedWrites.swift`). Any other command commits both groups
/// first, so every connection reads its own writes.
final class RocksDBStorage {
    let engine: RocksDBEngine
    let db: RocksDatabase
    let eventLoop: EventLoop
    /// Grouped blind writes of the current burst, and the lock stripes of their keys.
    private let pending: WriteBatch
    private var pendingStripes: [Int] = []
    /// For read-modify-write commands, written at once under their keys' locks.
    let immediate: WriteBatch
    /// Reused scratch space for encoded keys and values.
    var keyScratch: [UInt8] = []
    var valueScratch: [UInt8] = []
    var failure: String?
    /// While EXEC runs: the transaction's batch (a WriteBatchWithIndex). Every write goes into
    /// it and every read sees it over the database, so the queued commands see each other's
    /// writes while other clients see none of them until one atomic commit.
    var transaction: IndexedWriteBatch?
    /// Something was written since the last `endOfBurst`: its WAL records must reach the file
    /// before any reply of this pass goes out.
    var walDirty = false
    /// The pass's grouped read-modify-writes (a WriteBatchWithIndex), open while `groupOpen`.
    let group: IndexedWriteBatch
    var groupOpen = false
    /// The stripes held for the open group, as a list and as a bitmap.
    var heldStripes: [Int] = []
    var holds: [Bool]
    /// The command being executed may join the pass's group.
    var groupable = false
    /// The open group's metadata writes, the newest per key (nil: deleted). They reach the
    /// group's batch only at its commit, so a pass of 800 LPUSHes to one list writes its
    /// metadata record once instead of 800 times (see `GroupedWrites.swift`).
    var groupMetadata: [StoredKey: [UInt8]?] = [:]
    /// The version of the command being executed, when a cluster coordinator stamped it (see
    /// `Versions.swift`); 0 otherwise.
    var version: UInt64 = 0
    /// While a stamped single-key read-modify-write runs: the newest version its key's records
    /// had when read, so what it writes is never older than what was there.
    var tracksVersion = false
    var observedVersion: UInt64 = 0

    init(engine: RocksDBEngine, eventLoop: EventLoop) {
        self.engine = engine
        self.eventLoop = eventLoop
        self.db = engine.database
        pending = WriteBatch(db)
        immediate = WriteBatch(db)
        group = IndexedWriteBatch(db)
        holds = Array(repeating: false, count: KeyLocks.stripeCount)
        keyScratch.reserveCapacity(256)
        valueScratch.reserveCapacity(256)
    }

    deinit {
        // Uncommitted grouped writes were never acknowledged: dropping them (with the batches)
        // loses nothing.
        releaseStripes()
    }

    var hasPendingWrites: Bool { !pendingStripes.isEmpty || walDirty || groupOpen }

    func endOfBurst() -> String? {
        do {
            try commitPending()
            if walDirty {
                walDirty = false
                try db.flushWAL()
            }
        } catch {
            failure = "ERR Storage: \(error.message)"
        }
        defer { failure = nil }
        return failure
    }

    // MARK: - Keys and records

    /// Encodes `key`'s metadata key into `keyScratch` and returns its data token.
    @inline(__always)
    @discardableResult
    func encodeKey(_ key: ByteBuffer) -> UInt32 {
        key.withUnsafeReadableBytes { k in
            let token = engine.keyToken(k)
            KeyEncoding.metadataKey(token: token, key: k, into: &keyScratch)
            return token
        }
    }

    // Reads and writes by key: each encodes the key into the storage's scratch and uses it at
    // once, so no call depends on what an earlier one left there.

    /// `key`'s live record (nil when missing or expired); a fragmented string reads whole.
    @inline(__always)
    func readRecord(_ key: ByteBuffer, now: Int64) throws(RocksDBError) -> Record? {
        guard let record = try readStoredRecord(key, now: now) else { return nil }
        // A fragmented string reads as the plain string it stands for.
        return record.meta.fragmented ? try wholeString(of: key, record.meta, record: record.stored) : record
    }

    /// `key`'s live record as stored: a fragmented string's unassembled (its generation and
    /// length), for the bit commands that touch single fragments and for expiry changes.
    @inline(__always)
    func readStoredRecord(_ key: ByteBuffer, now: Int64) throws(RocksDBError) -> Record? {
        encodeKey(key)
        guard let value = try readPinned(.metadata, key: keyScratch),
              let meta = Metadata.decode(value.bytes), !meta.isExpired(now: now) else { return nil }
        return Record(meta: meta, stored: Array(value.bytes))
    }

    /// `key`'s live metadata (nil when missing or expired).
    @inline(__always)
    func readMeta(_ key: ByteBuffer, now: Int64) throws(RocksDBError) -> Metadata? {
        encodeKey(key)
        guard let value = try readPinned(.metadata, key: keyScratch),
              let meta = Metadata.decode(value.bytes), !meta.isExpired(now: now) else { return nil }
        return meta
    }

    /// `key`'s metadata record as stored, pinned in RocksDB (no copy), expired or not.
    @inline(__always)
    func readMetadataRecord(_ key: ByteBuffer) throws(RocksDBError) -> PinnedValue? {
        encodeKey(key)
        return try readPinned(.metadata, key: keyScratch)
    }

    /// Stages `value` as `key`'s string into `immediate`.
    @inline(__always)
    func stageString(_ key: ByteBuffer, _ value: UnsafeRawBufferPointer, expireAt: Int64) {
        encodeKey(key)
        Metadata.encodeString(expireAt: expireAt, timestamp: stamp, value: value, into: &valueScratch)
        putInto(immediate, .metadata)
    }

    /// Stages `key`'s deletion into `immediate`.
    @inline(__always)
    func stageDelete(_ key: ByteBuffer) {
        encodeKey(key)
        deleteInto(immediate, .metadata)
    }

    /// Appends `key`'s metadata key (token ‖ key) to `out`, for a batched read of many keys.
    func appendMetadataKey(_ key: ByteBuffer, to out: inout [UInt8]) {
        key.withUnsafeReadableBytes { k in KeyEncoding.appendMetadataKey(token: engine.keyToken(k), key: k, to: &out) }
    }

    /// A key's live record: its metadata and the whole stored value (header included).
    struct Record {
        var meta: Metadata
        var stored: [UInt8]
        var stringValue: ArraySlice<UInt8> { stored[Metadata.headerSize...] }
    }

    // MARK: - Writing

    /// Adds a blind string write of `key` to the burst's group. A stamped one (cluster) is merged
    /// rather than put: the newest version of the key wins, whatever order writes arrive in
    /// (`LastWriterWins`), with no read.
    func groupStringWrite(_ key: ByteBuffer, value: ByteBuffer, expireAt: Int64) {
        let token = encodeKey(key)
        value.withUnsafeReadableBytes { v in
            Metadata.encodeString(expireAt: expireAt, timestamp: stamp, value: v, into: &valueScratch)
        }
        if version != 0, transaction == nil {
            keyScratch.withUnsafeBytes { k in
                valueScratch.withUnsafeBytes { v in pending.merge(.metadata, k, v) }
            }
        } else {
            putInto(pending, .metadata)
        }
        if transaction == nil { pendingStripes.append(KeyLocks.stripe(of: token)) }
    }

    /// Puts `keyScratch` → `valueScratch` into a batch.
    @inline(__always)
    func putInto(_ batch: WriteBatch, _ family: ColumnFamily) {
        keyScratch.withUnsafeBytes { k in
            valueScratch.withUnsafeBytes { v in put(batch, family, k, v) }
        }
    }

    @inline(__always)
    func deleteInto(_ batch: WriteBatch, _ family: ColumnFamily) {
        keyScratch.withUnsafeBytes { k in delete(batch, family, k) }
    }

    /// A put into `batch`, or into the transaction's batch while EXEC runs.
    @inline(__always)
    func put(_ batch: WriteBatch, _ family: ColumnFamily, _ k: UnsafeRawBufferPointer, _ v: UnsafeRawBufferPointer) {
        if let transaction {
            if groupOpen, family == .metadata { return groupMetadata[StoredKey(Array(k))] = .some(Array(v)) }
            transaction.put(family, k, v)
        } else {
            batch.put(family, k, v)
        }
    }

    @inline(__always)
    func delete(_ batch: WriteBatch, _ family: ColumnFamily, _ k: UnsafeRawBufferPointer) {
        if let transaction {
            if groupOpen, family == .metadata { return groupMetadata[StoredKey(Array(k))] = .some(nil) }
            transaction.delete(family, k)
        } else {
            batch.delete(family, k)
        }
    }

    /// A stored value, as this loop sees it (through the transaction's batch during EXEC).
    @inline(__always)
    func readPinned(_ family: ColumnFamily, key: [UInt8]) throws(RocksDBError) -> PinnedValue? {
        guard let value = try readPinnedUnobserved(family, key: key) else { return nil }
        if tracksVersion, family == .metadata { observe(value.bytes) }
        return value
    }

    @inline(__always)
    private func readPinnedUnobserved(_ family: ColumnFamily, key: [UInt8]) throws(RocksDBError) -> PinnedValue? {
        if let transaction {
            if groupOpen, family == .metadata, let staged = groupMetadata[StoredKey(key)] {
                guard let staged else { return nil }
                return PinnedValue(copying: staged)
            }
            return try db.pinned(family, key: key, through: transaction)
        }
        return try db.pinned(family, key: key)
    }

    /// The same, copied.
    func readStored(_ family: ColumnFamily, key: [UInt8]) throws(RocksDBError) -> [UInt8]? {
        if let transaction {
            if groupOpen, family == .metadata, let staged = groupMetadata[StoredKey(key)] { return staged }
            guard let value = try db.pinned(family, key: key, through: transaction) else { return nil }
            return Array(value.bytes)
        }
        return try db.get(family, key: key)
    }

    /// Commits the burst's grouped writes (read-modify-writes, then blind writes), holding
    /// their keys' stripes. A failure is kept in `failure` until `endOfBurst` reports it:
    /// other connections' grouped writes failed too.
    func commitPending() throws(RocksDBError) {
        try commitGroup()
        guard !pendingStripes.isEmpty else { return }
        pendingStripes.sort()
        var unique: [Int] = []
        unique.reserveCapacity(pendingStripes.count)
        for s in pendingStripes where unique.last != s { unique.append(s) }
        var writeError: RocksDBError?
        engine.locks.withLocks(sortedStripes: unique) {
            do throws(RocksDBError) { try db.write(pending) } catch { writeError = error }
            walDirty = true
        }
        pending.clear()
        pendingStripes.removeAll(keepingCapacity: true)
        if let writeError {
            failure = "ERR Storage: \(writeError.message)"
            throw writeError
        }
    }

    /// Runs a read-modify-write on one key: commits grouped writes first (so it reads them),
    /// then holds the key's stripe while `body` reads and fills `immediate`, and writes it.
    func modify<R>(token: UInt32, _ body: () throws(RocksDBError) -> R) throws(RocksDBError) -> R {
        try modify(stripes: [KeyLocks.stripe(of: token)], body)
    }

    /// The same for several keys' stripes (sorted, deduplicated here).
    func modify<R>(stripes: [Int], _ body: () throws(RocksDBError) -> R) throws(RocksDBError) -> R {
        // EXEC holds every stripe its commands touch, and commits its batch once at the end.
        if transaction != nil, !groupOpen { return try body() }
        if groupable { return try modifyInGroup(stripes: stripes, body) }
        try commitPending()
        let sorted = Array(Set(stripes)).sorted()
        var result: Result<R, RocksDBError>!
        engine.locks.withLocks(sortedStripes: sorted) {
            immediate.clear()
            do throws(RocksDBError) {
                let value = try body()
                if !immediate.isEmpty {
                    try db.write(immediate)
                    walDirty = true
                }
                result = .success(value)
            } catch {
                result = .failure(error)
            }
        }
        return try result.get()
    }
}
