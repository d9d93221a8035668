import NIOCore
import Protocol

/// RENAME, RENAMENX and COPY, over the whole values of `WholeValues.swift`. A collection's
/// elements are keyed by its key's name, so moving or copying one rewrites its elements under
/// the new name (O(N), as Redis's COPY; Redis's RENAME is O(1), ours is O(N) for collections).
/// The source's old elements are reclaimed by the sweep.
extension RocksDBSession {
    private func stripes(of keys: ByteBuffer...) -> [Int] {
        keys.map { k in KeyLocks.stripe(of: k.withUnsafeReadableBytes { engine.keyToken($0) }) }
    }

    func rename(_ args: [ByteBuffer], _ reply: inout ReplyWriter, onlyIfNew: Bool) throws(RocksDBError) {
        try storage.modify(stripes: stripes(of: args[1], args[2])) { () throws(RocksDBError) in
            let now = WallClock.nowMillis()
            guard let (value, expireAt) = try storage.readValue(args[1], now: now) else { return reply.error("ERR no such key") }
            if args[1] == args[2] { return onlyIfNew ? reply.integer(0) : reply.ok() }
            if onlyIfNew, try storage.readMeta(args[2], now: now) != nil { return reply.integer(0) }
            storage.stageValue(value, expireAt: expireAt, at: args[2])
            storage.stageDelete(args[1])
            onlyIfNew ? reply.integer(1) : reply.ok()
        }
    }

    /// COPY source destination [DB 0] [REPLACE]
    func copy(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        var replace = false
        var i = 3
        while i < args.count {
            if args[i].isOption("REPLACE") {
                replace = true
            } else if args[i].isOption("DB"), i + 1 < args.count {
                guard let db = args[i + 1].redisInteger else { return reply.error(RedisError.notInteger) }
                guard db == 0 else { return reply.error("ERR DB index is out of range") }
                i += 1
            } else {
                return reply.error(RedisError.syntax)
            }
            i += 1
        }
        if args[1] == args[2] { return reply.error("ERR source and destination objects are the same") }
        try storage.modify(stripes: stripes(of: args[1], args[2])) { () throws(RocksDBError) in
            let now = WallClock.nowMillis()
            guard let (value, expireAt) = try storage.readValue(args[1], now: now) else { return reply.integer(0) }
            if !replace, try storage.readMeta(args[2], now: now) != nil { return reply.integer(0) }
            storage.stageValue(value, expireAt: expireAt, at: args[2])
            reply.integer(1)
        }
    }
}
