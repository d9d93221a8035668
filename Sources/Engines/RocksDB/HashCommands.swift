import CRocksDB
import NIOCore
import Protocol

/// Hash commands: each parses its arguments, calls the session's `HashStore` and writes the
/// reply. A store's refusal (WRONGTYPE) and storage failure are worded by the engine
/// (`RocksDBHandler.store`); the hash-specific words are here.
extension RocksDBSession {
    /// HSET / HMSET / HSETNX.
    func hset(_ args: [ByteBuffer], _ reply: inout ReplyWriter, okReply: Bool) throws(StoreError) {
        guard args.count >= 4, args.count % 2 == 0 else { return reply.error(RedisError.arity(args[0].text.lowercased())) }
        let added = try hashes.set(args[1], pairs: args[2...])
        if okReply { reply.ok() } else { reply.integer(added) }
    }

    func hsetnx(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        reply.integer(try hashes.setIfAbsent(args[1], field: args[2], value: args[3]) ? 1 : 0)
    }

    func hget(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        if let value = try hashes.get(args[1], field: args[2]) { reply.bulk(bytes: value) } else { reply.null() }
    }

    func hmget(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        let values = try hashes.get(args[1], fields: args[2...])
        reply.arrayHeader(values.count)
        for value in values {
            if let value { reply.bulk(bytes: value) } else { reply.null() }
        }
    }

    enum HashListing { case all, keys, values }

    func hgetall(_ args: [ByteBuffer], _ reply: inout ReplyWriter, listing: HashListing) throws(StoreError) {
        let fields = try hashes.all(args[1])
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

    /// HEXISTS, and HSTRLEN (`length`).
    func hexists(_ args: [ByteBuffer], _ reply: inout ReplyWriter, length: Bool) throws(StoreError) {
        let value = try hashes.get(args[1], field: args[2])
        reply.integer(length ? (value?.count ?? 0) : (value == nil ? 0 : 1))
    }

    func hdel(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        reply.integer(try hashes.delete(args[1], fields: args[2...]))
    }

    func hincrby(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        guard let increment = args[3].redisInteger else { return reply.error(RedisError.notInteger) }
        do {
            reply.integer(try hashes.increment(args[1], field: args[2], by: increment))
        } catch .notInteger {
            reply.error("ERR hash value is not an integer")
        }
    }

    func hincrbyfloat(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        guard let increment = args[3].withUnsafeReadableBytes({ LongDouble.parse($0) }) else { return reply.error(RedisError.notFloat) }
        // Unlike INCRBYFLOAT on strings, Redis refuses an infinite increment up front here.
        if increment.isInfinite { return reply.error("ERR value is NaN or Infinity") }
        do {
            reply.bulk(bytes: try hashes.increment(args[1], field: args[2], by: increment))
        } catch .notFloat {
            reply.error("ERR hash value is not a float")
        }
    }
}

extension RocksDBSession {
    /// Hashes: the RocksDB engine's handlers (the rows are in `Protocol/Commands/`).
    static let hashCommands: [(CommandID, RocksDBHandler)] = [
        (.hset, .store { s, a, r throws(StoreError) in try s.hset(a, &r, okReply: false) }),
        (.hmset, .store { s, a, r throws(StoreError) in try s.hset(a, &r, okReply: true) }),
        (.hsetnx, .store { s, a, r throws(StoreError) in try s.hsetnx(a, &r) }),
        (.hget, .store { s, a, r throws(StoreError) in try s.hget(a, &r) }),
        (.hmget, .store { s, a, r throws(StoreError) in try s.hmget(a, &r) }),
        (.hgetall, .store { s, a, r throws(StoreError) in try s.hgetall(a, &r, listing: .all) }),
        (.hkeys, .store { s, a, r throws(StoreError) in try s.hgetall(a, &r, listing: .keys) }),
        (.hvals, .store { s, a, r throws(StoreError) in try s.hgetall(a, &r, listing: .values) }),
        (.hlen, .store { s, a, r throws(StoreError) in r.integer(try s.hashes.count(a[1])) }),
        (.hexists, .store { s, a, r throws(StoreError) in try s.hexists(a, &r, length: false) }),
        (.hstrlen, .store { s, a, r throws(StoreError) in try s.hexists(a, &r, length: true) }),
        (.hdel, .store { s, a, r throws(StoreError) in try s.hdel(a, &r) }),
        (.hincrby, .store { s, a, r throws(StoreError) in try s.hincrby(a, &r) }),
        (.hincrbyfloat, .store { s, a, r throws(StoreError) in try s.hincrbyfloat(a, &r) }),
        (.hrandfield, .store { s, a, r throws(StoreError) in try s.randomElements(a, &r, type: .hash) }),
        (.hscan, .store { s, a, r throws(StoreError) in try s.collectionScan(a, &r) { () throws(StoreError) in try s.hashes.all(a[1]).map { ($0.field, $0.value) } } }),
    ]
}
