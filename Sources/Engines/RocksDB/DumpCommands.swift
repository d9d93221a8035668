import NIOCore
import Protocol
import Snapshot

/// DUMP and RESTORE with Redis's payload format (RDB object, RDB version, CRC64), so
/// DUMP-based migration tools (RedisShake's scan reader, RIOT) can move keys in and out.
extension RocksDBSession {
    func dump(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        guard let (value, _) = try storage.readValue(args[1], now: WallClock.nowMillis()) else { return reply.null() }
        reply.bulk(bytes: DumpPayload.encode(value.rdbValue))
    }

    /// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency].
    /// IDLETIME and FREQ are checked and accepted; Dynamis keeps no LRU/LFU state to set.
    func restore(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        guard let ttl = args[2].redisInteger else { return reply.error(RedisError.notInteger) }
        guard ttl >= 0 else { return reply.error("ERR Invalid TTL value, must be >= 0") }
        var replace = false, absolute = false
        var i = 4
        while i < args.count {
            if args[i].isOption("REPLACE") {
                replace = true
            } else if args[i].isOption("ABSTTL") {
                absolute = true
            } else if args[i].isOption("IDLETIME"), i + 1 < args.count {
                guard let idle = args[i + 1].redisInteger else { return reply.error(RedisError.notInteger) }
                guard idle >= 0 else { return reply.error("ERR Invalid IDLETIME value, must be >= 0") }
                i += 1
            } else if args[i].isOption("FREQ"), i + 1 < args.count {
                guard let freq = args[i + 1].redisInteger else { return reply.error(RedisError.notInteger) }
                guard (0...255).contains(freq) else { return reply.error("ERR Invalid FREQ value, must be >= 0 and <= 255") }
                i += 1
            } else {
                return reply.error(RedisError.syntax)
            }
            i += 1
        }
        let decoded: RDBValue
        switch args[3].withUnsafeReadableBytes({ raw in Result { () throws(DumpPayload.Failure) in try DumpPayload.decode(raw) } }) {
        case .success(let value): decoded = value
        case .failure(let error):
            switch error {
            case .versionOrChecksum: return reply.error("ERR DUMP payload version or checksum are wrong")
            case .badData: return reply.error("ERR Bad data format")
            }
        }
        if RDBObjectDecoder.validate(decoded) != nil { return reply.error("ERR Bad data format") }
        let token = args[1].withUnsafeReadableBytes { engine.keyToken($0) }
        try storage.modify(token: token) { () throws(RocksDBError) in
            let now = WallClock.nowMillis()
            // A stamped RESTORE (a hint's or a repair's state) never replaces a newer record.
            if try storage.isSuperseded(args[1]) { return reply.ok() }
            let exists = try storage.readMeta(args[1], now: now) != nil
            if exists, !replace { return reply.error("BUSYKEY Target key name already exists.") }
            let expireAt = ttl == 0 ? 0 : absolute ? Int64(ttl) : now + Int64(ttl)
            if expireAt != 0, expireAt <= now {
                // Already expired: Redis answers OK and stores nothing (dropping the old value).
                if exists { storage.stageDelete(args[1]) }
                return reply.ok()
            }
            storage.stageValue(StoredValue(decoded), expireAt: expireAt, at: args[1])
            reply.ok()
        }
    }
}

extension RocksDBStorage.StoredValue {
    init(_ value: RDBValue) {
        switch value {
        case .string(let s): self = .string(s)
        case .list(let items): self = .list(items)
        case .set(let items): self = .set(items)
        case .hash(let fields): self = .hash(fields.map { ($0.field, $0.value) })
        case .zset(let members): self = .zset(members.map { RocksDBStorage.ZEntry(member: $0.member, score: $0.score) })
        }
    }

    var rdbValue: RDBValue {
        switch self {
        case .string(let s): .string(s)
        case .list(let items): .list(items)
        case .set(let items): .set(items)
        case .hash(let fields): .hash(fields.map { RDBField(field: $0.field, value: $0.value) })
        case .zset(let entries): .zset(entries.map { RDBScoredMember(member: $0.member, score: $0.score) })
        }
    }
}
