import NIOCore
import Protocol

/// Sets: one `subkeys` record per member (empty value), as for hash fields.
extension RocksDBSession {
    /// A member's value: nothing.
    private static var empty: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: nil, count: 0) }

    /// A set's members, or nil with the WRONGTYPE reply written.
    private func members(_ key: ByteBuffer, now: Int64, _ reply: inout ReplyWriter) throws(RocksDBError) -> [[UInt8]]? {
        switch try lookupCollection(.set, key, now: now) {
        case .wrongType:
            reply.error(RedisError.wrongType)
            return nil
        case .missing: return []
        case .found(_, let generation, _): return elements(key, generation: generation).map(\.field)
        }
    }

    private func stripes(_ keys: ArraySlice<ByteBuffer>) -> [Int] {
        keys.map { k in KeyLocks.stripe(of: k.withUnsafeReadableBytes { engine.keyToken($0) }) }
    }

    func sadd(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        try modify(stripes: stripes(args[1...1])) { () throws(RocksDBError) in
            guard let (generation, count, expireAt) = try openCollection(.set, args[1], &reply) else { return }
            var added = Set<[UInt8]>()
            for member in args.dropFirst(2) {
                let key = elementKey(args[1], generation: generation, field: member)
                guard !added.contains(key) else { continue }
                if try readStored(.subkeys, key: key) == nil {
                    added.insert(key)
                    stageElement(key, value: Self.empty)
                }
            }
            if !added.isEmpty {
                stageCollectionMeta(.set, args[1], expireAt: expireAt, generation: generation, count: count + UInt64(added.count))
            }
            reply.integer(added.count)
        }
    }

    /// Removes members; returns how many were there (the set vanishes when emptied).
    private func removeMembers(_ key: ByteBuffer, _ members: ArraySlice<ByteBuffer>, meta: Metadata, generation: UInt64,
                               count: UInt64) throws(RocksDBError) -> Int {
        var removed = Set<[UInt8]>()
        for member in members {
            let element = elementKey(key, generation: generation, field: member)
            guard !removed.contains(element) else { continue }
            if try readStored(.subkeys, key: element) != nil {
                removed.insert(element)
                stageElement(element, value: nil)
            }
        }
        if !removed.isEmpty {
            stageCollectionMeta(.set, key, expireAt: meta.expireAt, generation: generation, count: count - UInt64(removed.count))
        }
        return removed.count
    }

    func srem(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        try modify(stripes: stripes(args[1...1])) { () throws(RocksDBError) in
            switch try lookupCollection(.set, args[1], now: WallClock.nowMillis()) {
            case .wrongType: reply.error(RedisError.wrongType)
            case .missing: reply.integer(0)
            case .found(let meta, let generation, let count):
                reply.integer(try removeMembers(args[1], args.dropFirst(2), meta: meta, generation: generation, count: count))
            }
        }
    }

    func smembers(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        guard let all = try members(args[1], now: WallClock.nowMillis(), &reply) else { return }
        reply.setHeader(all.count)
        for member in all { reply.bulk(bytes: member) }
    }

    func sismember(_ args: [ByteBuffer], _ reply: inout ReplyWriter, many: Bool) throws(RocksDBError) {
        let lookup = try lookupCollection(.set, args[1], now: WallClock.nowMillis())
        if case .wrongType = lookup { return reply.error(RedisError.wrongType) }
        if many { reply.arrayHeader(args.count - 2) }
        for member in args.dropFirst(2) {
            var present = false
            if case .found(_, let generation, _) = lookup {
                present = try readElement(args[1], generation: generation, field: member) != nil
            }
            reply.integer(present ? 1 : 0)
        }
    }

    func smove(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        try modify(stripes: stripes(args[1...2])) { () throws(RocksDBError) in
            let now = WallClock.nowMillis()
            let source = try lookupCollection(.set, args[1], now: now)
            let destination = try lookupCollection(.set, args[2], now: now)
            // Redis's order: a missing source answers 0 before either type is checked.
            if case .missing = source { return reply.integer(0) }
            if case .wrongType = source { return reply.error(RedisError.wrongType) }
            if case .wrongType = destination { return reply.error(RedisError.wrongType) }
            guard case .found(let meta, let generation, let count) = source,
                  try readElement(args[1], generation: generation, field: args[3]) != nil else { return reply.integer(0) }
            if args[1] == args[2] { return reply.integer(1) }
            _ = try removeMembers(args[1], args[3...3], meta: meta, generation: generation, count: count)
            var dGeneration: UInt64, dCount: UInt64, dExpire: Int64 = 0
            switch destination {
            case .found(let m, let g, let c): (dGeneration, dCount, dExpire) = (g, c, m.expireAt)
            default: (dGeneration, dCount) = (engine.nextGeneration(), 0)
            }
            let element = elementKey(args[2], generation: dGeneration, field: args[3])
            if try readStored(.subkeys, key: element) == nil {
                stageElement(element, value: Self.empty)
                stageCollectionMeta(.set, args[2], expireAt: dExpire, generation: dGeneration, count: dCount + 1)
            }
            reply.integer(1)
        }
    }

    enum SetOperation { case inter, union, diff }

    /// The result of SINTER/SUNION/SDIFF over `keys`, or nil with WRONGTYPE written.
    private func combine(_ operation: SetOperation, _ keys: ArraySlice<ByteBuffer>, _ reply: inout ReplyWriter) throws(RocksDBError) -> [[UInt8]]? {
        let now = WallClock.nowMillis()
        var sets: [Set<[UInt8]>] = []
        for key in keys {
            guard let all = try members(key, now: now, &reply) else { return nil }
            sets.append(Set(all))
        }
        var result = sets[0]
        for other in sets.dropFirst() {
            switch operation {
            case .inter: result.formIntersection(other)
            case .union: result.formUnion(other)
            case .diff: result.subtract(other)
            }
        }
        return result.sorted { $0.lexicographicallyPrecedes($1) }
    }

    func setOperation(_ args: [ByteBuffer], _ reply: inout ReplyWriter, _ operation: SetOperation) throws(RocksDBError) {
        guard let result = try combine(operation, args.dropFirst(), &reply) else { return }
        reply.setHeader(result.count)
        for member in result { reply.bulk(bytes: member) }
    }

    func setOperationStore(_ args: [ByteBuffer], _ reply: inout ReplyWriter, _ operation: SetOperation) throws(RocksDBError) {
        try modify(stripes: stripes(args[1...])) { () throws(RocksDBError) in
            guard let result = try combine(operation, args.dropFirst(2), &reply) else { return }
            // The destination is replaced whatever it held: a new generation, O(1).
            let generation = engine.nextGeneration()
            for member in result {
                let element = elementKey(args[1], generation: generation, field: ByteBuffer(bytes: member))
                stageElement(element, value: Self.empty)
            }
            stageCollectionMeta(.set, args[1], expireAt: 0, generation: generation, count: UInt64(result.count))
            reply.integer(result.count)
        }
    }

    func sintercard(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        guard let numkeys = args[1].redisInteger else { return reply.error(RedisError.notInteger) }
        guard numkeys > 0 else { return reply.error("ERR numkeys should be greater than 0") }
        guard numkeys <= args.count - 2 else { return reply.error("ERR Number of keys can't be greater than number of args") }
        var limit = 0
        var i = 2 + numkeys
        while i < args.count {
            guard args[i].isOption("LIMIT"), i + 1 < args.count else { return reply.error(RedisError.syntax) }
            guard let value = args[i + 1].redisInteger else { return reply.error(RedisError.notInteger) }
            guard value >= 0 else { return reply.error("ERR LIMIT can't be negative") }
            limit = value
            i += 2
        }
        guard let result = try combine(.inter, args[2..<(2 + numkeys)], &reply) else { return }
        reply.integer(limit > 0 ? min(limit, result.count) : result.count)
    }

    /// SPOP and SRANDMEMBER: random members, removed (SPOP) or not.
    func srandom(_ args: [ByteBuffer], _ reply: inout ReplyWriter, pop: Bool) throws(RocksDBError) {
        var count: Int?
        if args.count == 3 {
            guard let parsed = args[2].redisInteger else { return reply.error(RedisError.notInteger) }
            if pop && parsed < 0 { return reply.error("ERR value is out of range, must be positive") }
            count = parsed
        } else if args.count > 3 {
            return reply.error(RedisError.syntax)
        }
        try modify(stripes: stripes(args[1...1])) { () throws(RocksDBError) in
            let lookup = try lookupCollection(.set, args[1], now: WallClock.nowMillis())
            guard case .found(let meta, let generation, let total) = lookup else {
                if case .wrongType = lookup { return reply.error(RedisError.wrongType) }
                return count == nil ? reply.null() : reply.arrayHeader(0)
            }
            let all = elements(args[1], generation: generation).map(\.field)
            var chosen: [[UInt8]]
            if let count, count < 0 {
                chosen = (0..<(-count)).map { _ in all.randomElement()! }  // SRANDMEMBER with repeats
            } else {
                chosen = Array(all.shuffled().prefix(count ?? 1))
            }
            if pop {
                _ = try removeMembers(args[1], chosen.map { ByteBuffer(bytes: $0) }[...], meta: meta, generation: generation, count: total)
            }
            if count == nil {
                reply.bulk(bytes: chosen[0])
            } else {
                if pop { reply.setHeader(chosen.count) } else { reply.arrayHeader(chosen.count) }
                for member in chosen { reply.bulk(bytes: member) }
            }
        }
    }
}
