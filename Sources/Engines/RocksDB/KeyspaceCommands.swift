import CRocksDB
import NIOCore
import Protocol

extension RocksDBSession {
    func del(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        reply.integer(try keyspace.delete(args.dropFirst()))
    }

    func exists(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        reply.integer(try keyspace.count(args.dropFirst()))
    }

    func type(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        reply.simple(try keyspace.type(of: args[1])?.name ?? "none")
    }

    /// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT with NX/XX/GT/LT, as Redis 7.0's expireGenericCommand.
    func expire(_ args: [ByteBuffer], _ reply: inout ReplyWriter, base: Int64, seconds: Bool) throws(StoreError) {
        var conditions = KeyspaceStore.ExpiryConditions()
        for option in args.dropFirst(3) {
            if option.isOption("NX") { conditions.nx = true }
            else if option.isOption("XX") { conditions.xx = true }
            else if option.isOption("GT") { conditions.gt = true }
            else if option.isOption("LT") { conditions.lt = true }
            else { return reply.error("ERR Unsupported option \(option.text)") }
        }
        if conditions.nx && (conditions.xx || conditions.gt || conditions.lt) {
            return reply.error("ERR NX and XX, GT or LT options at the same time are not compatible")
        }
        if conditions.gt && conditions.lt { return reply.error("ERR GT and LT options at the same time are not compatible") }
        guard var when = args[2].redisInteger else { return reply.error(RedisError.notInteger) }
        let name = args[0].text.lowercased()
        if seconds {
            if when > Int.max / 1000 || when < Int.min / 1000 { return reply.error(RedisError.invalidExpireTime(name)) }
            when *= 1000
        }
        if when > Int.max - Int(base) { return reply.error(RedisError.invalidExpireTime(name)) }
        when += Int(base)
        reply.integer(try keyspace.expire(args[1], at: when, conditions) ? 1 : 0)
    }

    func ttl(_ args: [ByteBuffer], _ reply: inout ReplyWriter, milliseconds: Bool, absolute: Bool) throws(StoreError) {
        let now = WallClock.nowMillis()
        guard let expireAt = try keyspace.expiry(of: args[1], now: now) else { return reply.integer(-2) }
        if expireAt == 0 { return reply.integer(-1) }
        var ttl = absolute ? Int(expireAt) : Int(expireAt - now)
        if ttl < 0 { ttl = 0 }
        reply.integer(milliseconds ? ttl : (ttl + 500) / 1000)
    }

    func persist(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        reply.integer(try keyspace.persist(args[1]) ? 1 : 0)
    }

    func dbsize(_ reply: inout ReplyWriter) {
        reply.integer(keyspace.size())
    }

    func flushall(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        if args.count > 2 || (args.count == 2 && !args[1].isOption("ASYNC") && !args[1].isOption("SYNC")) {
            return reply.error(RedisError.syntax)
        }
        try keyspace.flush()
        reply.ok()
    }
}

extension RocksDBSession {
    /// Keyspace: the RocksDB engine's handlers (the rows are in `Protocol/Commands/`).
    static let keyspaceCommands: [(CommandID, RocksDBHandler)] = [
        (.del, .store { s, a, r throws(StoreError) in try s.del(a, &r) }),
        (.unlink, .store { s, a, r throws(StoreError) in try s.del(a, &r) }),
        (.exists, .store { s, a, r throws(StoreError) in try s.exists(a, &r) }),
        (.touch, .store { s, a, r throws(StoreError) in try s.exists(a, &r) }),
        (.type, .store { s, a, r throws(StoreError) in try s.type(a, &r) }),
        (.expire, .store { s, a, r throws(StoreError) in try s.expire(a, &r, base: WallClock.nowMillis(), seconds: true) }),
        (.pexpire, .store { s, a, r throws(StoreError) in try s.expire(a, &r, base: WallClock.nowMillis(), seconds: false) }),
        (.expireat, .store { s, a, r throws(StoreError) in try s.expire(a, &r, base: 0, seconds: true) }),
        (.pexpireat, .store { s, a, r throws(StoreError) in try s.expire(a, &r, base: 0, seconds: false) }),
        (.ttl, .store { s, a, r throws(StoreError) in try s.ttl(a, &r, milliseconds: false, absolute: false) }),
        (.pttl, .store { s, a, r throws(StoreError) in try s.ttl(a, &r, milliseconds: true, absolute: false) }),
        (.expiretime, .store { s, a, r throws(StoreError) in try s.ttl(a, &r, milliseconds: false, absolute: true) }),
        (.pexpiretime, .store { s, a, r throws(StoreError) in try s.ttl(a, &r, milliseconds: true, absolute: true) }),
        (.persist, .store { s, a, r throws(StoreError) in try s.persist(a, &r) }),
        (.object, .store { s, a, r throws(StoreError) in try s.object(a, &r) }),
        (.rename, .run { s, a, r throws(RocksDBError) in try s.rename(a, &r, onlyIfNew: false) }),
        (.renamenx, .run { s, a, r throws(RocksDBError) in try s.rename(a, &r, onlyIfNew: true) }),
        (.copy, .run { s, a, r throws(RocksDBError) in try s.copy(a, &r) }),
        (.sort, .run { s, a, r throws(RocksDBError) in try s.sort(a, &r, readOnly: false) }),
        (.sortRO, .run { s, a, r throws(RocksDBError) in try s.sort(a, &r, readOnly: true) }),
        (.dump, .run { s, a, r throws(RocksDBError) in try s.dump(a, &r) }),
        (.restore, .run { s, a, r throws(RocksDBError) in try s.restore(a, &r) }),
        (.keys, .store { s, a, r throws(StoreError) in s.keys(a, &r) }),
        (.scan, .store { s, a, r throws(StoreError) in s.scan(a, &r) }),
        (.randomkey, .store { s, a, r throws(StoreError) in s.randomkey(&r) }),
    ]
}

extension RocksDBSession {
    /// Server commands over the whole keyspace: the RocksDB engine's handlers (the rows are in `Protocol/Commands/`).
    static let serverCommands: [(CommandID, RocksDBHandler)] = [
        (.dbsize, .store { s, a, r throws(StoreError) in s.dbsize(&r) }),
        (.flushall, .store { s, a, r throws(StoreError) in try s.flushall(a, &r) }),
        (.flushdb, .store { s, a, r throws(StoreError) in try s.flushall(a, &r) }),
    ]
}
