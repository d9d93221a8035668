import CRocksDB
import NIOCore
import Protocol

/// Hashes: one metadata record (generation, field count) and one `subkeys` record per field,
/// field → value (see CollectionStorage.swift).
extension RocksDBSession {
    /// HSET / HMSET / HSETNX: sets fields, creating the hash if needed.
    func hset(_ args: [ByteBuffer], _ reply: inout ReplyWriter, onlyIfNew: Bool, okReply: Bool) throws(RocksDBError) {
        guard args.count >= 4, args.count % 2 == 0 else { return reply.error(RedisError.arity(args[0].text.lowercased())) }
        let token = args[1].withUnsafeReadableBytes { engine.keyToken($0) }
        try modify(token: token) { () throws(RocksDBError) in
            guard let (generation, count, expireAt) = try openCollection(.hash, args[1], &reply) else { return }
            var added = 0
            var seen = Set<[UInt8]>()
            for i in stride(from: 2, to: args.count, by: 2) {
                let key = elementKey(args[1], generation: generation, field: args[i])
                var isNew = !seen.contains(key)
                if isNew { isNew = try readStored(.subkeys, key: key) == nil }
                if onlyIfNew && !isNew { return reply.integer(0) }
                if isNew { added += 1 }
                seen.insert(key)
                args[i + 1].withUnsafeReadableBytes { stageElement(key, value: $0) }
            }
            stageCollectionMeta(.hash, args[1], expireAt: expireAt, generation: generation, count: count + UInt64(added))
            if okReply { reply.ok() } else if onlyIfNew { reply.integer(1) } else { reply.integer(added) }
        }
    }

    func hget(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        switch try lookupCollection(.hash, args[1], now: WallClock.nowMillis()) {
        case .wrongType: reply.error(RedisError.wrongType)
        case .missing: reply.null()
        case .found(_, let generation, _):
            if let value = try readElement(args[1], generation: generation, field: args[2]) { reply.bulk(bytes: value) } else { reply.null() }
        }
    }

    func hmget(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        let lookup = try lookupCollection(.hash, args[1], now: WallClock.nowMillis())
        if case .wrongType = lookup { return reply.error(RedisError.wrongType) }
        reply.arrayHeader(args.count - 2)
        for field in args.dropFirst(2) {
            if case .found(_, let generation, _) = lookup, let value = try readElement(args[1], generation: generation, field: field) {
                reply.bulk(bytes: value)
            } else {
                reply.null()
            }
        }
    }

    enum HashListing { case all, keys, values }

    func hgetall(_ args: [ByteBuffer], _ reply: inout ReplyWriter, listing: HashListing) throws(RocksDBError) {
        switch try lookupCollection(.hash, args[1], now: WallClock.nowMillis()) {
        case .wrongType: reply.error(RedisError.wrongType)
        case .missing: listing == .all ? reply.mapHeader(0) : reply.arrayHeader(0)
        case .found(_, let generation, _):
            let fields = elements(args[1], generation: generation)
            switch listing {
            case .all:
                reply.mapHeader(fields.count)
                for (field, value) in fields { reply.bulk(bytes: field); reply.bulk(bytes: value) }
            case .keys:
                reply.arrayHeader(fields.count)
                for (field, _) in fields { reply.bulk(bytes: field) }
            case .values:
                reply.arrayHeader(fields.count)
                for (_, value) in fields { reply.bulk(bytes: value) }
            }
        }
    }

    func hexists(_ args: [ByteBuffer], _ reply: inout ReplyWriter, length: Bool) throws(RocksDBError) {
        switch try lookupCollection(.hash, args[1], now: WallClock.nowMillis()) {
        case .wrongType: reply.error(RedisError.wrongType)
        case .missing: reply.integer(0)
        case .found(_, let generation, _):
            let value = try readElement(args[1], generation: generation, field: args[2])
            reply.integer(length ? (value?.count ?? 0) : (value == nil ? 0 : 1))
        }
    }

    func hdel(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        let token = args[1].withUnsafeReadableBytes { engine.keyToken($0) }
        try modify(token: token) { () throws(RocksDBError) in
            switch try lookupCollection(.hash, args[1], now: WallClock.nowMillis()) {
            case .wrongType: return reply.error(RedisError.wrongType)
            case .missing: return reply.integer(0)
            case .found(let meta, let generation, let count):
                var removed = Set<[UInt8]>()
                for field in args.dropFirst(2) {
                    let key = elementKey(args[1], generation: generation, field: field)
                    guard !removed.contains(key) else { continue }
                    if try readStored(.subkeys, key: key) != nil {
                        removed.insert(key)
                        stageElement(key, value: nil)
                    }
                }
                if !removed.isEmpty {
                    stageCollectionMeta(.hash, args[1], expireAt: meta.expireAt, generation: generation, count: count - UInt64(removed.count))
                }
                reply.integer(removed.count)
            }
        }
    }

    /// HINCRBY and HINCRBYFLOAT.
    func hincr(_ args: [ByteBuffer], _ reply: inout ReplyWriter, float: Bool) throws(RocksDBError) {
        var integerIncrement = 0
        var floatIncrement: Float80 = 0
        if float {
            guard let parsed = args[3].withUnsafeReadableBytes({ LongDouble.parse($0) }) else { return reply.error(RedisError.notFloat) }
            // Unlike INCRBYFLOAT on strings, Redis refuses an infinite increment up front here.
            if parsed.isInfinite { return reply.error("ERR value is NaN or Infinity") }
            floatIncrement = parsed
        } else {
            guard let parsed = args[3].redisInteger else { return reply.error(RedisError.notInteger) }
            integerIncrement = parsed
        }
        let token = args[1].withUnsafeReadableBytes { engine.keyToken($0) }
        try modify(token: token) { () throws(RocksDBError) in
            guard let (generation, count, expireAt) = try openCollection(.hash, args[1], &reply) else { return }
            let key = elementKey(args[1], generation: generation, field: args[2])
            let old = try readStored(.subkeys, key: key)
            let text: [UInt8]
            if float {
                var current: Float80 = 0
                if let old {
                    guard let parsed = old.withUnsafeBytes({ LongDouble.parse($0) }) else {
                        return reply.error("ERR hash value is not a float")
                    }
                    current = parsed
                }
                let sum = current + floatIncrement
                if sum.isNaN || sum.isInfinite { return reply.error("ERR increment would produce NaN or Infinity") }
                text = LongDouble.humanString(sum)
                reply.bulk(bytes: text)
            } else {
                var current = 0
                if let old {
                    guard let parsed = old.withUnsafeBytes({ RedisInteger.parse($0) }) else {
                        return reply.error("ERR hash value is not an integer")
                    }
                    current = parsed
                }
                let (sum, overflow) = current.addingReportingOverflow(integerIncrement)
                if overflow { return reply.error(RedisError.overflow) }
                text = DecimalText.with(sum) { Array($0) }
                reply.integer(sum)
            }
            text.withUnsafeBytes { stageElement(key, value: $0) }
            stageCollectionMeta(.hash, args[1], expireAt: expireAt, generation: generation, count: count + (old == nil ? 1 : 0))
        }
    }
}

extension RocksDBSession {
    /// Hashes: the RocksDB engine's handlers (the rows are in `Protocol/Commands/`).
    static let hashCommands: [(CommandID, RocksDBHandler)] = [
        (.hset, .run { s, a, r throws(RocksDBError) in try s.hset(a, &r, onlyIfNew: false, okReply: false) }),
        (.hmset, .run { s, a, r throws(RocksDBError) in try s.hset(a, &r, onlyIfNew: false, okReply: true) }),
        (.hsetnx, .run { s, a, r throws(RocksDBError) in try s.hset(a, &r, onlyIfNew: true, okReply: false) }),
        (.hget, .run { s, a, r throws(RocksDBError) in try s.hget(a, &r) }),
        (.hmget, .run { s, a, r throws(RocksDBError) in try s.hmget(a, &r) }),
        (.hgetall, .run { s, a, r throws(RocksDBError) in try s.hgetall(a, &r, listing: .all) }),
        (.hkeys, .run { s, a, r throws(RocksDBError) in try s.hgetall(a, &r, listing: .keys) }),
        (.hvals, .run { s, a, r throws(RocksDBError) in try s.hgetall(a, &r, listing: .values) }),
        (.hlen, .run { s, a, r throws(RocksDBError) in try s.collectionCount(.hash, a[1], &r) }),
        (.hexists, .run { s, a, r throws(RocksDBError) in try s.hexists(a, &r, length: false) }),
        (.hstrlen, .run { s, a, r throws(RocksDBError) in try s.hexists(a, &r, length: true) }),
        (.hdel, .run { s, a, r throws(RocksDBError) in try s.hdel(a, &r) }),
        (.hincrby, .run { s, a, r throws(RocksDBError) in try s.hincr(a, &r, float: false) }),
        (.hincrbyfloat, .run { s, a, r throws(RocksDBError) in try s.hincr(a, &r, float: true) }),
        (.hrandfield, .run { s, a, r throws(RocksDBError) in try s.randomElements(a, &r, type: .hash) }),
        (.hscan, .run { s, a, r throws(RocksDBError) in try s.collectionScan(a, &r, type: .hash) }),
    ]
}
