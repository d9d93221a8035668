import NIOCore
import Protocol

/// Set commands: each parses its arguments, calls the session's `SetStore` and writes the
/// reply (WRONGTYPE and storage failures are worded by the engine, `RocksDBHandler.store`).
extension RocksDBSession {
    func sadd(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        reply.integer(try sets.add(args[1], members: args[2...]))
    }

    func srem(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        reply.integer(try sets.remove(args[1], members: args[2...]))
    }

    func smembers(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        writeMembers(try sets.members(args[1]), &reply, array: true, set: true)
    }

    /// SISMEMBER, and SMISMEMBER (`many`).
    func sismember(_ args: [ByteBuffer], _ reply: inout ReplyWriter, many: Bool) throws(StoreError) {
        guard many else { return reply.integer(try sets.contains(args[1], member: args[2]) ? 1 : 0) }
        let present = try sets.contains(args[1], members: args[2...])
        if many { reply.arrayHeader(present.count) }
        for isMember in present { reply.integer(isMember ? 1 : 0) }
    }

    func smove(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        reply.integer(try sets.move(args[3], from: args[1], to: args[2]) ? 1 : 0)
    }

    func setOperation(_ args: [ByteBuffer], _ reply: inout ReplyWriter, _ operation: SetStore.Operation) throws(StoreError) {
        writeMembers(try sets.combine(operation, args.dropFirst()), &reply, array: true, set: true)
    }

    func setOperationStore(_ args: [ByteBuffer], _ reply: inout ReplyWriter, _ operation: SetStore.Operation) throws(StoreError) {
        reply.integer(try sets.store(operation, into: args[1], from: args.dropFirst(2)))
    }

    func sintercard(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
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
        let result = try sets.combine(.inter, args[2..<(2 + numkeys)])
        reply.integer(limit > 0 ? min(limit, result.count) : result.count)
    }

    /// SPOP and SRANDMEMBER: random members, removed (SPOP) or not. On a big set each costs one
    /// slot read (`SetSlotIndex.swift`); small sets, and counts covering the whole set, read it all.
    func srandom(_ args: [ByteBuffer], _ reply: inout ReplyWriter, pop: Bool) throws(StoreError) {
        var count: Int?
        if args.count == 3 {
            guard let parsed = args[2].redisInteger else { return reply.error(RedisError.notInteger) }
            if pop && parsed < 0 { return reply.error("ERR value is out of range, must be positive") }
            if parsed == Int.min { return reply.error(RepeatedPicks.outOfRange) }
            count = parsed
        } else if args.count > 3 {
            return reply.error(RedisError.syntax)
        }
        if let count, count < 0 {
            // SRANDMEMBER with repeats.
            let found = try sets.randomWithRepeats(args[1]) { (pick: () throws(StoreError) -> [UInt8]) throws(StoreError) in
                try reply.repeatedPicks(-count, perPick: 1) { (reply: inout ReplyWriter) throws(StoreError) in reply.bulk(bytes: try pick()) }
            }
            if !found { reply.arrayHeader(0) }
            return
        }
        let chosen = pop ? try sets.pop(args[1], count: count ?? 1) : try sets.random(args[1], count: count ?? 1)
        // SPOP's members are a set (empty in RESP3: `~0`); SRANDMEMBER's an array.
        guard let chosen else { return count == nil ? reply.null() : pop ? reply.setHeader(0) : reply.arrayHeader(0) }
        writeMembers(chosen, &reply, array: count != nil, set: pop)
    }

    /// One member, or an array or set of them.
    private func writeMembers(_ members: [[UInt8]], _ reply: inout ReplyWriter, array: Bool, set: Bool) {
        guard array else { return reply.bulk(bytes: members[0]) }
        if set { reply.setHeader(members.count) } else { reply.arrayHeader(members.count) }
        for member in members { reply.bulk(bytes: member) }
    }
}

extension RocksDBSession {
    /// Sets: the RocksDB engine's handlers (the rows are in `Protocol/Commands/`).
    static let setCommands: [(CommandID, RocksDBHandler)] = [
        (.sscan, .store { s, a, r throws(StoreError) in try s.collectionScan(a, &r) { () throws(StoreError) in try s.sets.members(a[1]).map { ($0, nil) } } }),
        (.sadd, .store { s, a, r throws(StoreError) in try s.sadd(a, &r) }),
        (.srem, .store { s, a, r throws(StoreError) in try s.srem(a, &r) }),
        (.smembers, .store { s, a, r throws(StoreError) in try s.smembers(a, &r) }),
        (.sismember, .store { s, a, r throws(StoreError) in try s.sismember(a, &r, many: false) }),
        (.smismember, .store { s, a, r throws(StoreError) in try s.sismember(a, &r, many: true) }),
        (.scard, .store { s, a, r throws(StoreError) in r.integer(try s.sets.count(a[1])) }),
        (.smove, .store { s, a, r throws(StoreError) in try s.smove(a, &r) }),
        (.spop, .store { s, a, r throws(StoreError) in try s.srandom(a, &r, pop: true) }),
        (.srandmember, .store { s, a, r throws(StoreError) in try s.srandom(a, &r, pop: false) }),
        (.sinter, .store { s, a, r throws(StoreError) in try s.setOperation(a, &r, .inter) }),
        (.sunion, .store { s, a, r throws(StoreError) in try s.setOperation(a, &r, .union) }),
        (.sdiff, .store { s, a, r throws(StoreError) in try s.setOperation(a, &r, .diff) }),
        (.sinterstore, .store { s, a, r throws(StoreError) in try s.setOperationStore(a, &r, .inter) }),
        (.sunionstore, .store { s, a, r throws(StoreError) in try s.setOperationStore(a, &r, .union) }),
        (.sdiffstore, .store { s, a, r throws(StoreError) in try s.setOperationStore(a, &r, .diff) }),
        (.sintercard, .store { s, a, r throws(StoreError) in try s.sintercard(a, &r) }),
    ]
}
