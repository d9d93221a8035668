import NIOCore
import Protocol

/// RENAME, RENAMENX and COPY. A collection's elements are keyed by its key's name, so moving or
/// copying one rewrites its elements under the new name (O(N), as Redis's COPY; Redis's RENAME
/// is O(1), ours is O(N) for collections). The source's old elements are reclaimed by the sweep.
extension RocksDBSession {
    /// A key's whole value, detached from where it is stored.
    enum StoredValue {
        case string([UInt8])
        case hash([(field: [UInt8], value: [UInt8])])
        case set([[UInt8]])
        case list([[UInt8]])
        case zset([ZEntry])
    }

    /// Reads a live key's value and expiry; nil when missing.
    func readValue(_ key: ByteBuffer, now: Int64) throws(RocksDBError) -> (StoredValue, expireAt: Int64)? {
        encodeKey(key)
        guard let record = try readRecord(now: now) else { return nil }
        let expireAt = record.meta.expireAt
        switch record.meta.type {
        case .string: return (.string(Array(record.stringValue)), expireAt)
        case .hash, .set, .zset:
            guard let (generation, _) = Metadata.collection(record.stored) else { return nil }
            switch record.meta.type {
            case .hash: return (.hash(elements(key, generation: generation)), expireAt)
            case .set: return (.set(elements(key, generation: generation).map(\.field)), expireAt)
            default: return (.zset(zentries(key, generation: generation)), expireAt)
            }
        case .list:
            guard case .found(let state) = try lookupList(key, now: now) else { return nil }
            return (.list(allValues(key, state)), expireAt)
        }
    }

    /// Stages `value` under `key` (replacing whatever is there) with a fresh generation.
    func stageValue(_ value: StoredValue, expireAt: Int64, at key: ByteBuffer) {
        switch value {
        case .string(let bytes):
            encodeKey(key)
            bytes.withUnsafeBytes { stageString($0, expireAt: expireAt) }
        case .hash(let fields):
            let generation = engine.nextGeneration()
            for (field, value) in fields {
                value.withUnsafeBytes { stageElement(elementKey(key, generation: generation, field: ByteBuffer(bytes: field)), value: $0) }
            }
            stageCollectionMeta(.hash, key, expireAt: expireAt, generation: generation, count: UInt64(fields.count))
        case .set(let members):
            stageNewSet(key, members, expireAt: expireAt)
        case .list(let values):
            lists.replace(key, with: values, expireAt: expireAt)
        case .zset(let entries):
            zsets.replace(key, with: entries, expireAt: expireAt)
        }
    }

    private func stripes(of keys: ByteBuffer...) -> [Int] {
        keys.map { k in KeyLocks.stripe(of: k.withUnsafeReadableBytes { engine.keyToken($0) }) }
    }

    func rename(_ args: [ByteBuffer], _ reply: inout ReplyWriter, onlyIfNew: Bool) throws(RocksDBError) {
        try modify(stripes: stripes(of: args[1], args[2])) { () throws(RocksDBError) in
            let now = WallClock.nowMillis()
            guard let (value, expireAt) = try readValue(args[1], now: now) else { return reply.error("ERR no such key") }
            if args[1] == args[2] { return onlyIfNew ? reply.integer(0) : reply.ok() }
            encodeKey(args[2])
            if onlyIfNew, try readMeta(now: now) != nil { return reply.integer(0) }
            stageValue(value, expireAt: expireAt, at: args[2])
            encodeKey(args[1])
            stageDelete()
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
        try modify(stripes: stripes(of: args[1], args[2])) { () throws(RocksDBError) in
            let now = WallClock.nowMillis()
            guard let (value, expireAt) = try readValue(args[1], now: now) else { return reply.integer(0) }
            encodeKey(args[2])
            if !replace, try readMeta(now: now) != nil { return reply.integer(0) }
            stageValue(value, expireAt: expireAt, at: args[2])
            reply.integer(1)
        }
    }

    /// HSCAN, SSCAN, ZSCAN key cursor [MATCH pattern] [COUNT count]. Collections of up to 512
    /// elements come back whole with cursor 0 (as Redis's compact encodings do); larger ones page
    /// by element offset in byte order.
    func collectionScan(_ args: [ByteBuffer], _ reply: inout ReplyWriter, type: ValueType) throws(RocksDBError) {
        guard let cursor = Int(args[2].text), cursor >= 0 else { return reply.error("ERR invalid cursor") }
        guard let options = scanOptions(args, from: 3, allowType: false, &reply) else { return }
        let (pattern, count) = (options.pattern, options.count)
        var items: [(element: [UInt8], extra: [UInt8]?)] = []
        let now = WallClock.nowMillis()
        if type == .zset {
            switch try lookupCollection(.zset, args[1], now: now) {
            case .wrongType: return reply.error(RedisError.wrongType)
            case .missing: break
            case .found(_, let generation, _):
                items = zentries(args[1], generation: generation)
                    .sorted { $0.member.lexicographicallyPrecedes($1.member) }
                    .map { ($0.member, Array(Score.text($0.score).utf8)) }
            }
        } else {
            switch try lookupCollection(type, args[1], now: now) {
            case .wrongType: return reply.error(RedisError.wrongType)
            case .missing: break
            case .found(_, let generation, _):
                items = elements(args[1], generation: generation).map { ($0.field, type == .hash ? $0.value : nil) }
            }
        }
        let page: ArraySlice<(element: [UInt8], extra: [UInt8]?)>
        var next = 0
        if items.count <= 512 {
            page = items[...]
        } else {
            let start = min(cursor, items.count)
            let end = min(start + count, items.count)
            page = items[start..<end]
            next = end < items.count ? end : 0
        }
        let selected = page.filter { item in pattern.map { GlobMatch.matches(pattern: $0, item.element) } ?? true }
        reply.arrayHeader(2)
        reply.bulk(String(next))
        reply.arrayHeader(selected.count * (type == .set ? 1 : 2))
        for item in selected {
            reply.bulk(bytes: item.element)
            if let extra = item.extra { reply.bulk(bytes: extra) }
        }
    }
}
