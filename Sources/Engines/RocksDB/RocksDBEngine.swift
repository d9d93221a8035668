import Logging
import NIOConcurrencyHelpers
import NIOCore
import Protocol
import Synchronization

/// The embedded engine: the Redis data model stored in RocksDB (DESIGN.md §4).
public final class RocksDBEngine: StorageEngine {
    public let clientProtocol = ClientProtocol.resp
    let database: RocksDatabase
    let locks = KeyLocks()
    let keyToken: @Sendable (UnsafeRawBufferPointer) -> UInt32
    /// Where the background expiry sweep resumes: the last metadata key it looked at.
    private let sweepCursor = NIOLockedValueBox<[UInt8]>([])
    private let closed = NIOLockedValueBox(false)
    /// Low bits of collection generations: several per microsecond stay distinct.
    private let generationCounter = Atomic<UInt64>(UInt64.random(in: 0..<2048))

    /// A new collection generation, Kvrocks-style: microseconds since the epoch shifted left 11
    /// bits, plus a counter, so a re-created key never sees its predecessor's elements.
    func nextGeneration() -> UInt64 {
        (WallClock.nowMicros() << 11) | (generationCounter.add(1, ordering: .relaxed).newValue & 2047)
    }

    static let formatKey = Array("dynamis:format".utf8)

    /// Opens (or creates) the database.
    /// - Parameters:
    ///   - keyToken: the ring's key → data token function; stored keys are prefixed with it.
    ///   - keyHashIdentity: names that function (e.g. `murmur {}`); recorded in the database, and
    ///     a later open with a different one is refused, since every stored key would be misplaced.
    /// The key hash a data directory was written with (`murmur {}`, ...), for tools that open a
    /// stopped node's directory without its config; nil for a new or empty directory.
    public static func storedKeyHashIdentity(options: RocksDBOptions) throws -> String? {
        let database = try RocksDatabase(options)
        defer { database.close() }
        guard let stored = try database.get(.default, key: formatKey), stored.starts(with: Array("1 ".utf8)) else { return nil }
        return String(decoding: stored.dropFirst(2), as: UTF8.self)
    }

    /// Stamps writes that arrive without a coordinator's version (see `Versions.swift`).
    let clock: HybridClock
    /// How long a tombstone outlives its delete, ms (`tombstone_grace`).
    private let tombstoneGraceMillis = Atomic<Int64>(86_400_000)
    public var tombstoneGrace: Int64 {
        get { tombstoneGraceMillis.load(ordering: .relaxed) }
        set { tombstoneGraceMillis.store(newValue, ordering: .relaxed) }
    }

    public init(options: RocksDBOptions, keyHashIdentity: String, clock: HybridClock = HybridClock(nodeID: 0),
                keyToken: @escaping @Sendable (UnsafeRawBufferPointer) -> UInt32) throws {
        self.clock = clock
        database = try RocksDatabase(options)
        self.keyToken = keyToken
        let identity = Array("1 \(keyHashIdentity)".utf8)
        do {
            if let stored = try database.get(.default, key: Self.formatKey) {
                guard stored == identity else {
                    throw RocksDBError(message: "data directory '\(options.directory)' was written with key hash "
                        + "'\(String(decoding: stored.dropFirst(2), as: UTF8.self))', but the config says "
                        + "'\(keyHashIdentity)'; keys would be misplaced (set hash/hash_tag back, or use a new data_dir)")
                }
            } else {
                try database.put(.default, key: Self.formatKey, value: identity)
            }
        } catch let error as RocksDBError {
            database.close()
            throw error
        }
    }

    public func makeSession(eventLoop: EventLoop) -> any EngineSession {
        RocksDBSession(engine: self, eventLoop: eventLoop)
    }

    /// Clients blocked in BLPOP and friends.
    let blocking = BlockingRegistry()
    /// Keys clients WATCH.
    let watches = WatchRegistry()
    /// States arriving in parts (`DYNAMIS.APPLY … PART i`), until their last part.
    let stagedStates = StagedStates()

    public var blockedClients: Int { blocking.waiting }

    public func unblock(client id: Int, withError: Bool) -> Bool { blocking.unblock(client: id, withError: withError) }

    /// Number of live (unexpired) keys, and how many of them have a TTL. A full scan of the
    /// metadata column family.
    func countKeys() -> (keys: Int, expires: Int) {
        let now = WallClock.nowMillis()
        let iterator = RocksIterator(database, .metadata, scan: true)
        var keys = 0
        var expires = 0
        iterator.seekToFirst()
        while iterator.isValid {
            if let meta = Metadata.decode(iterator.value), !meta.isExpired(now: now) {
                keys += 1
                if meta.expireAt != 0 { expires += 1 }
            }
            iterator.next()
        }
        return (keys, expires)
    }

    public func keyspaceInfo() -> [String] {
        let (keys, expires) = countKeys()
        return keys == 0 ? [] : ["db0:keys=\(keys),expires=\(expires),avg_ttl=0"]
    }

    /// Deletes up to `limit` expired keys' records, resuming where the last call stopped.
    /// Returns how many keys it reclaimed. Reads stay correct without it (expiry is checked
    /// on every read); this gives the space back.
    @discardableResult
    public func sweepExpired(limit: Int = 1000) -> Int {
        let now = WallClock.nowMillis()
        let grace = tombstoneGrace
        let iterator = RocksIterator(database, .metadata, scan: true)
        let start = sweepCursor.withLockedValue { $0 }
        if start.isEmpty { iterator.seekToFirst() } else { iterator.seek(start) }
        var expired: [[UInt8]] = []
        var examined = 0
        while iterator.isValid, examined < limit {
            if let meta = Metadata.decode(iterator.value), meta.isCollectable(now: now, grace: grace) {
                expired.append(iterator.key)
            }
            examined += 1
            iterator.next()
        }
        let last = iterator.isValid ? iterator.key : []
        sweepCursor.withLockedValue { $0 = last }
        var reclaimed = 0
        for storedKey in expired {
            guard let (token, _) = KeyEncoding.splitMetadataKey(storedKey) else { continue }
            locks.withLock(stripe: KeyLocks.stripe(of: token)) {
                // Re-check under the lock: the key may have been rewritten since the scan.
                guard let current = try? database.get(.metadata, key: storedKey),
                      let meta = current.withUnsafeBytes({ Metadata.decode($0) }),
                      meta.isCollectable(now: WallClock.nowMillis(), grace: grace) else { return }
                if (try? database.delete(.metadata, key: storedKey)) != nil { reclaimed += 1 }
            }
        }
        return reclaimed
    }

    /// RocksDB's own accounting, summed over the column families.
    public func statistics() -> [(name: String, help: String, value: Double)] {
        func sum(_ property: String) -> Double {
            ColumnFamily.allCases.reduce(0) { $0 + Double(database.propertyInt(property, $1) ?? 0) }
        }
        return [
            ("rocksdb_memtable_bytes", "Bytes in RocksDB memtables (active and unflushed).", sum("rocksdb.cur-size-all-mem-tables")),
            ("rocksdb_sst_bytes", "Bytes of RocksDB SST files.", sum("rocksdb.total-sst-files-size")),
            ("rocksdb_pending_compaction_bytes", "Bytes RocksDB estimates compaction still has to rewrite.",
             sum("rocksdb.estimate-pending-compaction-bytes")),
            ("rocksdb_block_cache_bytes", "Bytes in the shared RocksDB block cache.",
             Double(database.propertyInt("rocksdb.block-cache-usage", .metadata) ?? 0)),
            ("rocksdb_estimated_keys", "RocksDB's estimate of the number of stored keys.",
             Double(database.propertyInt("rocksdb.estimate-num-keys", .metadata) ?? 0)),
            ("rocksdb_reclaimed_element_groups", "Groups of collection records (a deleted or replaced collection's elements, and its score or slot index) reclaimed in the background.",
             Double(reclaimedGroups.load(ordering: .relaxed))),
        ]
    }

    /// One element family's sweep: where its walk resumes, how long the walk's passes have
    /// taken so far, and, once a walk has ended, when the next may start.
    private struct OrphanWalk {
        var cursor: [UInt8] = []
        var spent: Duration = .zero
        var restUntil: ContinuousClock.Instant?
    }

    private let orphanWalks = NIOLockedValueBox<[OrphanWalk]>(RocksDBEngine.elementFamilies.map { _ in OrphanWalk() })
    private let reclaimedGroups = Atomic<Int>(0)

    /// The families holding collection records keyed by (key, generation): the elements, and
    /// the indexes (sorted-set scores, set slots). Each is swept on its own, so an index
    /// whose elements are already gone is still found.
    private static let elementFamilies: [ColumnFamily] = [.subkeys, .zscore, .setslots]

    /// A paced sweep rests this many times a finished walk's duration (and at least a second)
    /// before walking that family again. Elements removed one by one (pops, SREM) stay in
    /// RocksDB as deletion markers until compaction, and every walk steps over all of them:
    /// unpaced, a drained 100,000-member set kept an idle node at 65% CPU.
    static let restFactor = 50

    /// Reclaims collection elements nothing can reach any more: those of a deleted, replaced
    /// or expired collection (their metadata is gone, of another type or another generation).
    /// Each group of elements (one key and generation, in one family) costs one metadata read
    /// and, if dead, one range delete; the disk space then returns in compaction. Examines up to
    /// `limit` groups per family, resuming where the previous call stopped; returns how many
    /// groups it reclaimed. With `pacedAt` (the background sweeper's clock), a family whose
    /// last walk ended recently is left alone (see `restFactor`).
    @discardableResult
    public func sweepOrphanedElements(limit: Int = 1000, pacedAt now: ContinuousClock.Instant? = nil) -> Int {
        var reclaimed = 0
        for (index, family) in Self.elementFamilies.enumerated() {
            let walk = orphanWalks.withLockedValue { $0[index] }
            if let now, let rest = walk.restUntil, now < rest { continue }
            let started = ContinuousClock.now
            let (count, resume) = sweepOrphans(in: family, from: walk.cursor, limit: limit)
            let spent = walk.spent + (ContinuousClock.now - started)
            orphanWalks.withLockedValue { walks in
                walks[index].cursor = resume
                if resume.isEmpty, let now {
                    walks[index].restUntil = now + max(.seconds(1), spent * Self.restFactor)
                    walks[index].spent = .zero
                } else {
                    walks[index].restUntil = nil
                    walks[index].spent = resume.isEmpty ? .zero : spent
                }
            }
            reclaimed += count
        }
        reclaimedGroups.add(reclaimed, ordering: .relaxed)
        return reclaimed
    }

    private func sweepOrphans(in family: ColumnFamily, from start: [UInt8], limit: Int) -> (reclaimed: Int, resume: [UInt8]) {
        let iterator = RocksIterator(database, family, scan: true)
        if start.isEmpty { iterator.seekToFirst() } else { iterator.seek(start) }
        var reclaimed = 0
        var examined = 0
        while iterator.isValid, examined < limit {
            examined += 1
            guard let (prefix, metadataKey, generation) = KeyEncoding.splitSubkey(iterator.key) else {
                iterator.next()
                continue
            }
            let end = KeyEncoding.successor(of: prefix)
            let token = metadataKey.withUnsafeBytes { KeyEncoding.readBigEndian($0, at: 0, as: UInt32.self) }
            locks.withLock(stripe: KeyLocks.stripe(of: token)) {
                let stored: [UInt8]?
                do { stored = try database.get(.metadata, key: metadataKey) } catch { return }  // retry next pass
                if let current = stored, let meta = current.withUnsafeBytes({ Metadata.decode($0) }),
                   meta.type != .string || meta.fragmented, !meta.isExpired(now: WallClock.nowMillis()),
                   Metadata.collection(current)?.generation == generation {
                    return  // alive
                }
                if (try? database.deleteRange(family, from: Array(prefix), to: end)) != nil { reclaimed += 1 }
            }
            iterator.seek(end)
        }
        return (reclaimed, iterator.isValid ? iterator.key : [])
    }

    /// The `everysec` fsync tick.
    public func syncWAL() {
        try? database.syncWAL()
    }

    public var fsyncPolicy: RocksDBOptions.FsyncPolicy { database.fsync }

    public func checkpoint(into directory: String) throws(EngineError) {
        guard !closed.withLockedValue({ $0 }) else { throw EngineError("the engine is shut down") }
        do {
            try database.checkpoint(into: directory)
        } catch {
            throw EngineError("checkpoint into '\(directory)' failed: \(error.message)")
        }
    }

    public func shutdown() {
        let wasClosed = closed.withLockedValue { value -> Bool in
            defer { value = true }
            return value
        }
        if !wasClosed { database.close() }
    }
}
