import NIOCore
import Protocol

/// Sets: one `subkeys` record per member, as for hash fields, empty, or holding the member's slot
/// when the set has a slot index (`SetSlotIndex.swift`).
extension RocksDBSession {
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
            var set = foundSet(args[1], generation: generation, count: count)
            for argument in args.dropFirst(2) {
                let member = Array(argument.readableBytesView)
                if try setSlot(of: member, in: set) == nil { addSetMember(member, to: &set) }
            }
            if set.count != count { stageSetMeta(set, expireAt: expireAt) }
            reply.integer(Int(set.count - count))
        }
    }

    /// Removes members; returns how many were there (the set vanishes when emptied).
    private func removeMembers(_ set: inout SetSlots, _ members: some Sequence<[UInt8]>, expireAt: Int64) throws(RocksDBError) -> Int {
        let count = set.count
        for member in members {
            if let slot = try setSlot(of: member, in: set) { try removeSetMember(member, at: slot, from: &set) }
        }
        if set.count != count { stageSetMeta(set, expireAt: expireAt) }
        return Int(count - set.count)
    }

    func srem(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        try modify(stripes: stripes(args[1...1])) { () throws(RocksDBError) in
            switch try lookupCollection(.set, args[1], now: WallClock.nowMillis()) {
            case .wrongType: reply.error(RedisError.wrongType)
            case .missing: reply.integer(0)
            case .found(let meta, let generation, let count):
                var set = foundSet(args[1], generation: generation, count: count)
                let members = args.dropFirst(2).lazy.map { Array($0.readableBytesView) }
                reply.integer(try removeMembers(&set, members, expireAt: meta.expireAt))
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
            var sourceSet: SetSlots?
            if case .found(_, let generation, let count) = source { sourceSet = foundSet(args[1], generation: generation, count: count) }
            let destination = try lookupCollection(.set, args[2], now: now)
            // Redis's order: a missing source answers 0 before either type is checked.
            if case .missing = source { return reply.integer(0) }
            if case .wrongType = source { return reply.error(RedisError.wrongType) }
            if case .wrongType = destination { return reply.error(RedisError.wrongType) }
            let member = Array(args[3].readableBytesView)
            guard case .found(let meta, _, _) = source, var sourceSet, try setSlot(of: member, in: sourceSet) != nil else {
                return reply.integer(0)
            }
            if args[1] == args[2] { return reply.integer(1) }
            _ = try removeMembers(&sourceSet, [member], expireAt: meta.expireAt)
            var target = newSet(args[2]), expireAt: Int64 = 0
            if case .found(let m, let g, let c) = destination { (target, expireAt) = (foundSet(args[2], generation: g, count: c), m.expireAt) }
            if try setSlot(of: member, in: target) == nil {
                addSetMember(member, to: &target)
                stageSetMeta(target, expireAt: expireAt)
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
            stageNewSet(args[1], result, expireAt: 0)
            reply.integer(result.count)
        }
    }

    func sintercard(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        // Redis parses numkeys and LIMIT with these messages for any bad value, numbers or not.
        guard let numkeys = args[1].redisInteger, numkeys > 0 else { return reply.error("ERR numkeys should be greater than 0") }
        guard numkeys <= args.count - 2 else { return reply.error("ERR Number of keys can't be greater than number of args") }
        var limit = 0
        var i = 2 + numkeys
        while i < args.count {
            guard args[i].isOption("LIMIT"), i + 1 < args.count else { return reply.error(RedisError.syntax) }
            guard let value = args[i + 1].redisInteger, value >= 0 else { return reply.error("ERR LIMIT can't be negative") }
            limit = value
            i += 2
        }
        guard let result = try combine(.inter, args[2..<(2 + numkeys)], &reply) else { return }
        reply.integer(limit > 0 ? min(limit, result.count) : result.count)
    }

    /// Stages `members` (distinct) as the whole of set `key`, replacing whatever it held: a new
    /// generation, O(1) for the old value.
    func stageNewSet(_ key: ByteBuffer, _ members: [[UInt8]], expireAt: Int64) {
        var set = newSet(key)
        for member in members { addSetMember(member, to: &set) }
        stageSetMeta(set, expireAt: expireAt)
    }

    /// SPOP and SRANDMEMBER: random members, removed (SPOP) or not. On a big set each costs one
    /// slot read (`SetSlotIndex.swift`); small sets, and counts covering the whole set, read it all.
    func srandom(_ args: [ByteBuffer], _ reply: inout ReplyWriter, pop: Bool) throws(RocksDBError) {
        var count: Int?
        if args.count == 3 {
            guard let parsed = args[2].redisInteger else { return reply.error(RedisError.notInteger) }
            if pop && parsed < 0 { return reply.error("ERR value is out of range, must be positive") }
            if parsed == Int.min { return reply.error(RepeatedPicks.outOfRange) }
            count = parsed
        } else if args.count > 3 {
            return reply.error(RedisError.syntax)
        }
        try modify(stripes: stripes(args[1...1])) { () throws(RocksDBError) in
            let lookup = try lookupCollection(.set, args[1], now: WallClock.nowMillis())
            guard case .found(let meta, let generation, let total) = lookup else {
                if case .wrongType = lookup { return reply.error(RedisError.wrongType) }
                // SPOP's members are a set (empty in RESP3: `~0`); SRANDMEMBER's an array.
                return count == nil ? reply.null() : pop ? reply.setHeader(0) : reply.arrayHeader(0)
            }
            var set = foundSet(args[1], generation: generation, count: total)
            var chosen: [[UInt8]] = []
            if let count, count >= total {
                // The whole set, as Redis answers; SPOP deletes the key (its members go to the sweep).
                chosen = elements(args[1], generation: generation).map(\.field)
                if pop { stageCollectionMeta(.set, args[1], expireAt: meta.expireAt, generation: generation, count: 0) }
                return writeMembers(chosen, &reply, array: true, set: pop)
            }
            if !set.indexed && total > SetSlots.indexAbove {
                buildSlotIndex(&set)
                stageSetMeta(set, expireAt: meta.expireAt)  // the flag; a pop below restages it
            }
            // A small set without an index is read whole; its "slots" are positions in it.
            let all = set.indexed ? [] : elements(args[1], generation: generation).map(\.field)
            func member(at slot: UInt64) throws(RocksDBError) -> [UInt8] {
                if set.indexed { return try setMember(at: slot, in: set) }
                guard slot < UInt64(all.count) else { throw .corrupt }
                return all[Int(slot)]
            }
            if pop {
                if set.indexed {
                    for _ in 0..<(count ?? 1) {
                        let slot = UInt64.random(in: 0..<set.count)
                        let picked = try member(at: slot)
                        try removeSetMember(picked, at: slot, from: &set)
                        chosen.append(picked)
                    }
                } else {
                    chosen = Array(all.shuffled().prefix(count ?? 1))
                    for picked in chosen { try removeSetMember(picked, at: 0, from: &set) }
                }
                if set.count != total { stageSetMeta(set, expireAt: meta.expireAt) }
            } else if let count, count < 0 {
                // SRANDMEMBER with repeats.
                var read: [UInt64: [UInt8]] = [:]
                return try reply.repeatedPicks(-count, perPick: 1) { (reply: inout ReplyWriter) throws(RocksDBError) in
                    let slot = UInt64.random(in: 0..<total)
                    if read[slot] == nil { read[slot] = try member(at: slot) }
                    reply.bulk(bytes: read[slot]!)
                }
            } else {
                for slot in Self.distinctSlots(count ?? 1, below: total) { chosen.append(try member(at: slot)) }
            }
            // A record that counts members its elements lack (a corrupt store) has none to give.
            guard count != nil || !chosen.isEmpty else { throw .corrupt }
            writeMembers(chosen, &reply, array: count != nil, set: pop)
        }
    }

    /// One member, or an array (SRANDMEMBER) or set (SPOP) of them.
    private func writeMembers(_ members: [[UInt8]], _ reply: inout ReplyWriter, array: Bool, set: Bool) {
        guard array else { return reply.bulk(bytes: members[0]) }
        if set { reply.setHeader(members.count) } else { reply.arrayHeader(members.count) }
        for member in members { reply.bulk(bytes: member) }
    }
}

extension RocksDBSession {
    /// Sets: the RocksDB engine's handlers (the rows are in `Protocol/Commands/`).
    static let setCommands: [(CommandID, RocksDBHandler)] = [
        (.sscan, .run { s, a, r throws(RocksDBError) in try s.collectionScan(a, &r, type: .set) }),
        (.sadd, .run { s, a, r throws(RocksDBError) in try s.sadd(a, &r) }),
        (.srem, .run { s, a, r throws(RocksDBError) in try s.srem(a, &r) }),
        (.smembers, .run { s, a, r throws(RocksDBError) in try s.smembers(a, &r) }),
        (.sismember, .run { s, a, r throws(RocksDBError) in try s.sismember(a, &r, many: false) }),
        (.smismember, .run { s, a, r throws(RocksDBError) in try s.sismember(a, &r, many: true) }),
        (.scard, .run { s, a, r throws(RocksDBError) in try s.collectionCount(.set, a[1], &r) }),
        (.smove, .run { s, a, r throws(RocksDBError) in try s.smove(a, &r) }),
        (.spop, .run { s, a, r throws(RocksDBError) in try s.srandom(a, &r, pop: true) }),
        (.srandmember, .run { s, a, r throws(RocksDBError) in try s.srandom(a, &r, pop: false) }),
        (.sinter, .run { s, a, r throws(RocksDBError) in try s.setOperation(a, &r, .inter) }),
        (.sunion, .run { s, a, r throws(RocksDBError) in try s.setOperation(a, &r, .union) }),
        (.sdiff, .run { s, a, r throws(RocksDBError) in try s.setOperation(a, &r, .diff) }),
        (.sinterstore, .run { s, a, r throws(RocksDBError) in try s.setOperationStore(a, &r, .inter) }),
        (.sunionstore, .run { s, a, r throws(RocksDBError) in try s.setOperationStore(a, &r, .union) }),
        (.sdiffstore, .run { s, a, r throws(RocksDBError) in try s.setOperationStore(a, &r, .diff) }),
        (.sintercard, .run { s, a, r throws(RocksDBError) in try s.sintercard(a, &r) }),
    ]
}
