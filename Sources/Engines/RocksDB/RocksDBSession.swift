import CRocksDB
import NIOCore
import Protocol

/// One event loop's session on the RocksDB engine, shared by the loop's connections.
///
/// Blind writes (plain SET, SETEX, PSETEX, MSET) from every connection of the loop are grouped
/// into one WriteBatch and committed in `endOfBurst`, once per pass of the event loop, before
/// their replies are flushed: one RocksDB write (and one WAL append) per loop pass instead of
/// one per command. Single-key read-modify-writes (pushes, pops, HSET, SADD, ZADD, INCR, ...)
/// are grouped the same way in a WriteBatchWithIndex they read through, holding their keys'
/// stripes until the commit (see `GroupedWrites.swift`). Any other command commits both groups
/// first, so every connection reads its own writes.
final class RocksDBSession: EngineSession {
    let engine: RocksDBEngine
    let db: RocksDatabase
    let eventLoop: EventLoop
    /// Grouped blind writes of the current burst, and the lock stripes of their keys.
    private let pending: OpaquePointer
    private var pendingStripes: [Int] = []
    /// For read-modify-write commands, written at once under their keys' locks.
    let immediate: OpaquePointer
    /// Reused scratch space for encoded keys and values.
    var keyScratch: [UInt8] = []
    var valueScratch: [UInt8] = []
    var failure: String?
    /// While EXEC runs: the transaction's batch (a WriteBatchWithIndex). Every write goes into
    /// it and every read sees it over the database, so the queued commands see each other's
    /// writes while other clients see none of them until one atomic commit.
    var transaction: OpaquePointer?
    /// Keys pushed to during EXEC: blocked clients are woken once the commit is visible.
    var readyAfterCommit: [[UInt8]] = []
    /// Something was written since the last `endOfBurst`: its WAL records must reach the file
    /// before any reply of this pass goes out.
    var walDirty = false
    /// The pass's grouped read-modify-writes (a WriteBatchWithIndex), open while `groupOpen`.
    let group: OpaquePointer
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
    /// The record the last successful `lookupCollection` found (sorted sets read their pop
    /// hints from it).
    var lastCollectionRecord: [UInt8] = []
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
        pending = rocksdb_writebatch_create()
        immediate = rocksdb_writebatch_create()
        group = rocksdb_writebatch_wi_create(0, 1)
        holds = Array(repeating: false, count: KeyLocks.stripeCount)
        keyScratch.reserveCapacity(256)
        valueScratch.reserveCapacity(256)
    }

    deinit {
        // Uncommitted grouped writes were never acknowledged: dropping them loses nothing.
        rocksdb_writebatch_destroy(pending)
        rocksdb_writebatch_destroy(immediate)
        releaseStripes()
        rocksdb_writebatch_wi_destroy(group)
    }

    func execute(_ spec: CommandSpec, _ args: [ByteBuffer], origin: RequestOrigin, reply: inout ReplyWriter) -> Bool {
        if spec.flags.contains(.write), engine.watches.hasWatchers { touchWatched(spec, args) }
        if spec.flags.contains(.blocking) {
            if failure != nil { return false }
            do { try commitPending() } catch { reply.error("ERR Storage: \(error.message)"); return false }
            return blockingPop(spec, args, origin: origin, reply: &reply)
        }
        groupable = spec.flags.contains(.groupable) && !engine.blocking.hasWaiters
        // A stamped single-key read-modify-write never lowers its key's version (see `stamp`).
        let readModifyWrite = version != 0 && spec.flags.contains(.write) && spec.firstKey == 1 && spec.lastKey == 1
            && args.count > 1 && !spec.flags.contains(.wholeValue)
        tracksVersion = readModifyWrite
        observedVersion = 0
        execute(spec, args, reply: &reply)
        tracksVersion = false
        if readModifyWrite { raiseVersion(of: args[1]) }
        groupable = false
        // Pushes (and anything else that can fill a list or sorted set) wake blocked clients: the
        // command's table row says which key.
        if spec.wakes != .none, engine.blocking.hasWaiters {
            switch spec.wakes {
            case .none: break
            case .argument(let index):
                if index < args.count { engine.blocking.keyReady(args[index].bytes) }
            case .geoStore:
                if let store = GeoSearchKind(spec.id)?.storeKeyIndex(args) { engine.blocking.keyReady(args[store].bytes) }
            case .sortStore:
                if let store = args.indices.dropFirst(2).first(where: { args[$0].isOption("STORE") }), store + 1 < args.count {
                    engine.blocking.keyReady(args[store + 1].bytes)
                }
            }
        }
        return false
    }

    func clientClosed(_ client: Int) {
        engine.blocking.cancel(client: client, on: eventLoop)
    }

    /// One queued command of EXEC (the session's `transaction` is set).
    func executeInTransaction(_ spec: CommandSpec, _ args: [ByteBuffer], reply: inout ReplyWriter) {
        execute(spec, args, reply: &reply)
    }

    private func execute(_ spec: CommandSpec, _ args: [ByteBuffer], reply: inout ReplyWriter) {
        if failure != nil { return }
        do {
            switch spec.id {
            case .set, .setex, .psetex, .mset: try commitGroup()  // may join the burst's blind group
            default: if !groupable { try commitPending() }  // everything else must see the groups
            }
            switch spec.id {
            case .get: try get(args, &reply)
            case .set: try set(args, &reply)
            case .setnx: try setnx(args, &reply)
            case .setex: try setex(args, &reply, milliseconds: false)
            case .psetex: try setex(args, &reply, milliseconds: true)
            case .getset: try getset(args, &reply)
            case .getdel: try getdel(args, &reply)
            case .getex: try getex(args, &reply)
            case .mget: try mget(args, &reply)
            case .mset: try mset(args, &reply)
            case .msetnx: try msetnx(args, &reply)
            case .append: try append(args, &reply)
            case .strlen: try strlen(args, &reply)
            case .getrange, .substr: try getrange(args, &reply)
            case .setrange: try setrange(args, &reply)
            case .lcs: try lcs(args, &reply)
            case .pfadd: try pfadd(args, &reply)
            case .pfcount: try pfcount(args, &reply)
            case .pfmerge: try pfmerge(args, &reply)
            case .geoadd: try geoadd(args, &reply)
            case .geopos: try geopos(args, &reply)
            case .geodist: try geodist(args, &reply)
            case .geohash: try geohash(args, &reply)
            case .georadius, .georadiusRO, .georadiusbymember, .georadiusbymemberRO, .geosearch, .geosearchstore:
                try geoSearch(args, &reply, kind: GeoSearchKind(spec.id)!)
            case .getbit: try getbit(args, &reply)
            case .setbit: try setbit(args, &reply)
            case .bitcount: try bitcount(args, &reply)
            case .bitpos: try bitpos(args, &reply)
            case .bitop: try bitop(args, &reply)
            case .bitfield: try bitfield(args, &reply, readOnly: false)
            case .bitfieldRO: try bitfield(args, &reply, readOnly: true)
            case .incr: try incrBy(args[1], 1, &reply)
            case .decr: try incrBy(args[1], -1, &reply)
            case .incrby: try incrby(args, &reply, negate: false)
            case .decrby: try incrby(args, &reply, negate: true)
            case .incrbyfloat: try incrbyfloat(args, &reply)
            case .del, .unlink: try del(args, &reply)
            case .exists: try exists(args, &reply, touch: false)
            case .touch: try exists(args, &reply, touch: true)
            case .type: try type(args, &reply)
            case .expire: try expire(args, &reply, base: WallClock.nowMillis(), seconds: true)
            case .pexpire: try expire(args, &reply, base: WallClock.nowMillis(), seconds: false)
            case .expireat: try expire(args, &reply, base: 0, seconds: true)
            case .pexpireat: try expire(args, &reply, base: 0, seconds: false)
            case .ttl: try ttl(args, &reply, milliseconds: false, absolute: false)
            case .pttl: try ttl(args, &reply, milliseconds: true, absolute: false)
            case .expiretime: try ttl(args, &reply, milliseconds: false, absolute: true)
            case .pexpiretime: try ttl(args, &reply, milliseconds: true, absolute: true)
            case .persist: try persist(args, &reply)
            case .dbsize: try dbsize(&reply)
            case .flushall, .flushdb: try flushall(args, &reply)
            case .hset: try hset(args, &reply, onlyIfNew: false, okReply: false)
            case .hmset: try hset(args, &reply, onlyIfNew: false, okReply: true)
            case .hsetnx: try hset(args, &reply, onlyIfNew: true, okReply: false)
            case .hget: try hget(args, &reply)
            case .hmget: try hmget(args, &reply)
            case .hgetall: try hgetall(args, &reply, listing: .all)
            case .hkeys: try hgetall(args, &reply, listing: .keys)
            case .hvals: try hgetall(args, &reply, listing: .values)
            case .hlen: try collectionCount(.hash, args[1], &reply)
            case .hexists: try hexists(args, &reply, length: false)
            case .hstrlen: try hexists(args, &reply, length: true)
            case .hdel: try hdel(args, &reply)
            case .hincrby: try hincr(args, &reply, float: false)
            case .hincrbyfloat: try hincr(args, &reply, float: true)
            case .lpush: try push(args, &reply, left: true, onlyIfExists: false)
            case .rpush: try push(args, &reply, left: false, onlyIfExists: false)
            case .lpushx: try push(args, &reply, left: true, onlyIfExists: true)
            case .rpushx: try push(args, &reply, left: false, onlyIfExists: true)
            case .lpop: try pop(args, &reply, left: true)
            case .rpop: try pop(args, &reply, left: false)
            case .llen: try llen(args, &reply)
            case .lrange: try lrange(args, &reply)
            case .lindex: try lindex(args, &reply)
            case .lset: try lset(args, &reply)
            case .ltrim: try ltrim(args, &reply)
            case .lrem: try lrem(args, &reply)
            case .linsert: try linsert(args, &reply)
            case .lpos: try lpos(args, &reply)
            case .lmove: try lmove(args, &reply, fromLeft: nil, toLeft: nil)
            case .rpoplpush: try lmove(args, &reply, fromLeft: false, toLeft: true)
            case .lmpop: try lmpop(args, &reply)
            case .zadd: try zadd(args, &reply, zincrby: false)
            case .zincrby: try zadd([args[0], args[1], args[2], args[3]], &reply, zincrby: true)
            case .zrem: try zrem(args, &reply)
            case .zcard: try collectionCount(.zset, args[1], &reply)
            case .zscore: try zscore(args, &reply, many: false)
            case .zmscore: try zscore(args, &reply, many: true)
            case .zrank: try zrank(args, &reply, reverse: false)
            case .zrevrank: try zrank(args, &reply, reverse: true)
            case .zcount: try zcount(args, &reply, lex: false)
            case .zlexcount: try zcount(args, &reply, lex: true)
            case .zrange: try zrange(args, &reply, fixed: nil)
            case .zrevrange: try zrange(args, &reply, fixed: (.rank, true))
            case .zrangebyscore: try zrange(args, &reply, fixed: (.score, false))
            case .zrevrangebyscore: try zrange(args, &reply, fixed: (.score, true))
            case .zrangebylex: try zrange(args, &reply, fixed: (.lex, false))
            case .zrevrangebylex: try zrange(args, &reply, fixed: (.lex, true))
            case .zremrangebyrank: try zremrange(args, &reply, kind: .rank)
            case .zremrangebyscore: try zremrange(args, &reply, kind: .score)
            case .zremrangebylex: try zremrange(args, &reply, kind: .lex)
            case .zpopmin: try zpop(args, &reply, max: false)
            case .zpopmax: try zpop(args, &reply, max: true)
            case .zunion: try zsetOperation(args, &reply, .union, store: false)
            case .zinter: try zsetOperation(args, &reply, .inter, store: false)
            case .zdiff: try zsetOperation(args, &reply, .diff, store: false)
            case .zunionstore: try zsetOperation(args, &reply, .union, store: true)
            case .zinterstore: try zsetOperation(args, &reply, .inter, store: true)
            case .zdiffstore: try zsetOperation(args, &reply, .diff, store: true)
            case .zintercard: try zsetOperation(args, &reply, .inter, store: false, cardinality: true)
            case .zrangestore: try zrangestore(args, &reply)
            case .object: try object(args, &reply)
            case .zmpop: try zmpop(args, &reply)
            case .zrandmember: try randomElements(args, &reply, type: .zset)
            case .hrandfield: try randomElements(args, &reply, type: .hash)
            case .rename: try rename(args, &reply, onlyIfNew: false)
            case .renamenx: try rename(args, &reply, onlyIfNew: true)
            case .copy: try copy(args, &reply)
            case .sort: try sort(args, &reply, readOnly: false)
            case .sortRO: try sort(args, &reply, readOnly: true)
            case .dump: try dump(args, &reply)
            case .restore: try restore(args, &reply)
            case .dynamisState: try state(args, &reply)
            case .dynamisApply: try apply(args, &reply)
            case .dynamisDigest: digest(args, &reply)
            case .dynamisKeyVersions: keyVersions(args, &reply)
            case .hscan: try collectionScan(args, &reply, type: .hash)
            case .sscan: try collectionScan(args, &reply, type: .set)
            case .zscan: try collectionScan(args, &reply, type: .zset)
            case .keys: try keys(args, &reply)
            case .scan: try scan(args, &reply)
            case .randomkey: try randomkey(&reply)
            case .sadd: try sadd(args, &reply)
            case .srem: try srem(args, &reply)
            case .smembers: try smembers(args, &reply)
            case .sismember: try sismember(args, &reply, many: false)
            case .smismember: try sismember(args, &reply, many: true)
            case .scard: try collectionCount(.set, args[1], &reply)
            case .smove: try smove(args, &reply)
            case .spop: try srandom(args, &reply, pop: true)
            case .srandmember: try srandom(args, &reply, pop: false)
            case .sinter: try setOperation(args, &reply, .inter)
            case .sunion: try setOperation(args, &reply, .union)
            case .sdiff: try setOperation(args, &reply, .diff)
            case .sinterstore: try setOperationStore(args, &reply, .inter)
            case .sunionstore: try setOperationStore(args, &reply, .union)
            case .sdiffstore: try setOperationStore(args, &reply, .diff)
            case .sintercard: try sintercard(args, &reply)
            default:
                reply.error("ERR unknown command '\(spec.name)'")
            }
        } catch {
            reply.error("ERR Storage: \(error.message)")
        }
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

    /// A key's live record: its metadata and the whole stored value (header included).
    struct Record {
        var meta: Metadata
        var stored: [UInt8]
        var stringValue: ArraySlice<UInt8> { stored[Metadata.headerSize...] }
    }

    /// Reads the record at `keyScratch`; nil when missing or expired.
    func readRecord(now: Int64) throws(RocksDBError) -> Record? {
        guard let record = try readStoredRecord(now: now) else { return nil }
        // A fragmented string reads as the plain string it stands for.
        return record.meta.fragmented ? try wholeString(record.meta, record: record.stored) : record
    }

    /// The key's live record as stored: a fragmented string's unassembled (its generation and
    /// length), for the commands that touch single fragments.
    func readStoredRecord(now: Int64) throws(RocksDBError) -> Record? {
        guard let value = try readPinned(.metadata, key: keyScratch),
              let meta = Metadata.decode(value.bytes), !meta.isExpired(now: now) else { return nil }
        return Record(meta: meta, stored: Array(value.bytes))
    }

    /// Reads only the metadata at `keyScratch`; nil when missing or expired.
    func readMeta(now: Int64) throws(RocksDBError) -> Metadata? {
        guard let value = try readPinned(.metadata, key: keyScratch),
              let meta = Metadata.decode(value.bytes), !meta.isExpired(now: now) else { return nil }
        return meta
    }

    // MARK: - Writing

    /// Adds a blind string write for the key in `keyScratch` to the burst's group. A stamped one
    /// (cluster) is merged rather than put: the newest version of the key wins, whatever order
    /// writes arrive in (`LastWriterWins`), with no read.
    func groupStringWrite(token: UInt32, value: ByteBuffer, expireAt: Int64) {
        value.withUnsafeReadableBytes { v in
            Metadata.encodeString(expireAt: expireAt, timestamp: stamp, value: v, into: &valueScratch)
        }
        if version != 0, transaction == nil {
            keyScratch.withUnsafeBytes { k in
                valueScratch.withUnsafeBytes { v in
                    rocksdb_writebatch_merge_cf(pending, db.handle(.metadata), k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count,
                                                v.baseAddress?.assumingMemoryBound(to: CChar.self), v.count)
                }
            }
        } else {
            putInto(pending, .metadata)
        }
        if transaction == nil { pendingStripes.append(KeyLocks.stripe(of: token)) }
    }

    /// Puts `keyScratch` → `valueScratch` into a batch.
    @inline(__always)
    func putInto(_ batch: OpaquePointer, _ family: ColumnFamily) {
        keyScratch.withUnsafeBytes { k in
            valueScratch.withUnsafeBytes { v in put(batch, family, k, v) }
        }
    }

    @inline(__always)
    func deleteInto(_ batch: OpaquePointer, _ family: ColumnFamily) {
        keyScratch.withUnsafeBytes { k in delete(batch, family, k) }
    }

    /// A put into `batch`, or into the transaction's batch while EXEC runs.
    @inline(__always)
    func put(_ batch: OpaquePointer, _ family: ColumnFamily, _ k: UnsafeRawBufferPointer, _ v: UnsafeRawBufferPointer) {
        if let transaction {
            if groupOpen, family == .metadata { return groupMetadata[StoredKey(Array(k))] = .some(Array(v)) }
            rocksdb_writebatch_wi_put_cf(transaction, db.handle(family), k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count,
                                         v.baseAddress?.assumingMemoryBound(to: CChar.self), v.count)
        } else {
            rocksdb_writebatch_put_cf(batch, db.handle(family), k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count,
                                      v.baseAddress?.assumingMemoryBound(to: CChar.self), v.count)
        }
    }

    @inline(__always)
    func delete(_ batch: OpaquePointer, _ family: ColumnFamily, _ k: UnsafeRawBufferPointer) {
        if let transaction {
            if groupOpen, family == .metadata { return groupMetadata[StoredKey(Array(k))] = .some(nil) }
            rocksdb_writebatch_wi_delete_cf(transaction, db.handle(family), k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count)
        } else {
            rocksdb_writebatch_delete_cf(batch, db.handle(family), k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count)
        }
    }

    /// A stored value, as this session sees it (through the transaction's batch during EXEC).
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
        rocksdb_writebatch_clear(pending)
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
            rocksdb_writebatch_clear(immediate)
            do throws(RocksDBError) {
                let value = try body()
                if rocksdb_writebatch_count(immediate) > 0 {
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

    /// Stages a string value for the key in `keyScratch` into `immediate`.
    func stageString(_ value: UnsafeRawBufferPointer, expireAt: Int64) {
        Metadata.encodeString(expireAt: expireAt, timestamp: stamp, value: value, into: &valueScratch)
        putInto(immediate, .metadata)
    }

    func stageDelete() {
        deleteInto(immediate, .metadata)
    }
}
