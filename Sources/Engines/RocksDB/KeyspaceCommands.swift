import CRocksDB
import NIOCore
import Protocol

extension RocksDBSession {
    func del(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        let keys = args.dropFirst()
        let stripes = keys.map { k in KeyLocks.stripe(of: k.withUnsafeReadableBytes { engine.keyToken($0) }) }
        let deleted = try modify(stripes: stripes) { () throws(RocksDBError) -> Int in
            let now = WallClock.nowMillis()
            var count = 0
            var seen = Set<ByteBuffer>()
            for key in keys where seen.insert(key).inserted {
                encodeKey(key)
                guard let value = try readPinned(.metadata, key: keyScratch) else {
                    // A stamped delete of a key this replica lacks still leaves its tombstone:
                    // an older SET of the key arriving later (from another coordinator) must lose
                    // to it here as it did on the replicas that had the key.
                    if version != 0 { stageTombstone(now: now) }
                    continue
                }
                // Deleting only the metadata is O(1) whatever the key holds; an expired record
                // is removed too, but not counted.
                let meta = Metadata.decode(value.bytes)
                if version != 0 {
                    // A stamped delete leaves a tombstone, unless a newer write is stored.
                    if let meta, meta.timestamp > version { continue }
                    if let meta, !meta.isExpired(now: now) { count += 1 }
                    stageTombstone(now: now)
                    continue
                }
                if let meta, !meta.isExpired(now: now) { count += 1 }
                stageDelete()
            }
            return count
        }
        reply.integer(deleted)
    }

    func exists(_ args: [ByteBuffer], _ reply: inout ReplyWriter, touch: Bool) throws(RocksDBError) {
        let now = WallClock.nowMillis()
        var count = 0
        for key in args.dropFirst() {
            encodeKey(key)
            if try readMeta(now: now) != nil { count += 1 }
        }
        reply.integer(count)
    }

    func type(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        encodeKey(args[1])
        if let meta = try readMeta(now: WallClock.nowMillis()) {
            reply.simple(meta.type.name)
        } else {
            reply.simple("none")
        }
    }

    /// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT with NX/XX/GT/LT, as Redis 7.0's expireGenericCommand.
    func expire(_ args: [ByteBuffer], _ reply: inout ReplyWriter, base: Int64, seconds: Bool) throws(RocksDBError) {
        var nx = false, xx = false, gt = false, lt = false
        for option in args.dropFirst(3) {
            if option.isOption("NX") { nx = true }
            else if option.isOption("XX") { xx = true }
            else if option.isOption("GT") { gt = true }
            else if option.isOption("LT") { lt = true }
            else { return reply.error("ERR Unsupported option \(option.text)") }
        }
        if nx && (xx || gt || lt) {
            return reply.error("ERR NX and XX, GT or LT options at the same time are not compatible")
        }
        if gt && lt { return reply.error("ERR GT and LT options at the same time are not compatible") }
        guard var when = args[2].redisInteger else { return reply.error(RedisError.notInteger) }
        let name = args[0].text.lowercased()
        if seconds {
            if when > Int.max / 1000 || when < Int.min / 1000 { return reply.error(RedisError.invalidExpireTime(name)) }
            when *= 1000
        }
        if when > Int.max - Int(base) { return reply.error(RedisError.invalidExpireTime(name)) }
        when += Int(base)
        let token = encodeKey(args[1])
        try modify(token: token) { () throws(RocksDBError) in
            let now = WallClock.nowMillis()
            guard let record = try readRecord(now: now) else { return reply.integer(0) }
            let current = record.meta.expireAt == 0 ? -1 : Int(record.meta.expireAt)
            if nx && current != -1 { return reply.integer(0) }
            if xx && current == -1 { return reply.integer(0) }
            if gt && (when <= current || current == -1) { return reply.integer(0) }
            if lt && current != -1 && when >= current { return reply.integer(0) }
            if when <= Int(now) {
                stageDelete()
            } else {
                valueScratch = record.stored.withUnsafeBytes {
                    Metadata.withExpiry($0, expireAt: Int64(when), timestamp: stamp)
                }
                putInto(immediate, .metadata)
            }
            reply.integer(1)
        }
    }

    func ttl(_ args: [ByteBuffer], _ reply: inout ReplyWriter, milliseconds: Bool, absolute: Bool) throws(RocksDBError) {
        encodeKey(args[1])
        let now = WallClock.nowMillis()
        guard let meta = try readMeta(now: now) else { return reply.integer(-2) }
        if meta.expireAt == 0 { return reply.integer(-1) }
        var ttl = absolute ? Int(meta.expireAt) : Int(meta.expireAt - now)
        if ttl < 0 { ttl = 0 }
        reply.integer(milliseconds ? ttl : (ttl + 500) / 1000)
    }

    func persist(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        let token = encodeKey(args[1])
        try modify(token: token) { () throws(RocksDBError) in
            guard let record = try readRecord(now: WallClock.nowMillis()), record.meta.expireAt != 0 else {
                return reply.integer(0)
            }
            valueScratch = record.stored.withUnsafeBytes { Metadata.withExpiry($0, expireAt: 0, timestamp: stamp) }
            putInto(immediate, .metadata)
            reply.integer(1)
        }
    }

    func dbsize(_ reply: inout ReplyWriter) throws(RocksDBError) {
        guard transaction != nil else { return reply.integer(engine.countKeys().keys) }
        // Inside EXEC: count what the transaction sees.
        let now = WallClock.nowMillis()
        let iterator = RocksIterator(db, .metadata, scan: true, through: transaction)
        var count = 0
        iterator.seekToFirst()
        while iterator.isValid {
            if let meta = Metadata.decode(iterator.value), !meta.isExpired(now: now) { count += 1 }
            iterator.next()
        }
        reply.integer(count)
    }

    func flushall(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        if args.count > 2 || (args.count == 2 && !args[1].isOption("ASYNC") && !args[1].isOption("SYNC")) {
            return reply.error(RedisError.syntax)
        }
        // Inside EXEC the flush applies at once, and the transaction's earlier writes go with it.
        transaction?.clear()
        walDirty = true
        for family in [ColumnFamily.metadata, .subkeys, .zscore, .setslots] { try db.deleteAll(family) }
        reply.ok()
    }
}

extension RocksDBSession {
    /// Keyspace: the RocksDB engine's handlers (the rows are in `Protocol/Commands/`).
    static let keyspaceCommands: [(CommandID, RocksDBHandler)] = [
        (.del, .run { s, a, r throws(RocksDBError) in try s.del(a, &r) }),
        (.unlink, .run { s, a, r throws(RocksDBError) in try s.del(a, &r) }),
        (.exists, .run { s, a, r throws(RocksDBError) in try s.exists(a, &r, touch: false) }),
        (.touch, .run { s, a, r throws(RocksDBError) in try s.exists(a, &r, touch: true) }),
        (.type, .run { s, a, r throws(RocksDBError) in try s.type(a, &r) }),
        (.expire, .run { s, a, r throws(RocksDBError) in try s.expire(a, &r, base: WallClock.nowMillis(), seconds: true) }),
        (.pexpire, .run { s, a, r throws(RocksDBError) in try s.expire(a, &r, base: WallClock.nowMillis(), seconds: false) }),
        (.expireat, .run { s, a, r throws(RocksDBError) in try s.expire(a, &r, base: 0, seconds: true) }),
        (.pexpireat, .run { s, a, r throws(RocksDBError) in try s.expire(a, &r, base: 0, seconds: false) }),
        (.ttl, .run { s, a, r throws(RocksDBError) in try s.ttl(a, &r, milliseconds: false, absolute: false) }),
        (.pttl, .run { s, a, r throws(RocksDBError) in try s.ttl(a, &r, milliseconds: true, absolute: false) }),
        (.expiretime, .run { s, a, r throws(RocksDBError) in try s.ttl(a, &r, milliseconds: false, absolute: true) }),
        (.pexpiretime, .run { s, a, r throws(RocksDBError) in try s.ttl(a, &r, milliseconds: true, absolute: true) }),
        (.persist, .run { s, a, r throws(RocksDBError) in try s.persist(a, &r) }),
        (.object, .run { s, a, r throws(RocksDBError) in try s.object(a, &r) }),
        (.rename, .run { s, a, r throws(RocksDBError) in try s.rename(a, &r, onlyIfNew: false) }),
        (.renamenx, .run { s, a, r throws(RocksDBError) in try s.rename(a, &r, onlyIfNew: true) }),
        (.copy, .run { s, a, r throws(RocksDBError) in try s.copy(a, &r) }),
        (.sort, .run { s, a, r throws(RocksDBError) in try s.sort(a, &r, readOnly: false) }),
        (.sortRO, .run { s, a, r throws(RocksDBError) in try s.sort(a, &r, readOnly: true) }),
        (.dump, .run { s, a, r throws(RocksDBError) in try s.dump(a, &r) }),
        (.restore, .run { s, a, r throws(RocksDBError) in try s.restore(a, &r) }),
        (.keys, .run { s, a, r throws(RocksDBError) in try s.keys(a, &r) }),
        (.scan, .run { s, a, r throws(RocksDBError) in try s.scan(a, &r) }),
        (.randomkey, .run { s, a, r throws(RocksDBError) in try s.randomkey(&r) }),
    ]
}

extension RocksDBSession {
    /// Server commands over the whole keyspace: the RocksDB engine's handlers (the rows are in `Protocol/Commands/`).
    static let serverCommands: [(CommandID, RocksDBHandler)] = [
        (.dbsize, .run { s, a, r throws(RocksDBError) in try s.dbsize(&r) }),
        (.flushall, .run { s, a, r throws(RocksDBError) in try s.flushall(a, &r) }),
        (.flushdb, .run { s, a, r throws(RocksDBError) in try s.flushall(a, &r) }),
    ]
}
