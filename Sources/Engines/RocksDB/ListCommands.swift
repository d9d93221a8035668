import NIOCore
import Protocol

/// List commands: each parses its arguments, calls the session's `ListStore` and writes the
/// reply (WRONGTYPE and storage failures are worded by the engine, `RocksDBHandler.store`).
extension RocksDBSession {
    func push(_ args: [ByteBuffer], _ reply: inout ReplyWriter, left: Bool, onlyIfExists: Bool) throws(StoreError) {
        reply.integer(try lists.push(args[1], args[2...], left: left, onlyIfExists: onlyIfExists))
    }

    func pop(_ args: [ByteBuffer], _ reply: inout ReplyWriter, left: Bool) throws(StoreError) {
        var count: Int?
        if args.count > 3 { return reply.error(RedisError.arity(left ? "lpop" : "rpop")) }
        if args.count == 3 {
            guard let parsed = args[2].redisInteger, parsed >= 0 else {
                return reply.error("ERR value is out of range, must be positive")
            }
            count = parsed
        }
        guard let values = try lists.pop(args[1], count: count ?? 1, left: left) else {
            return count == nil ? reply.null() : reply.nullArray()
        }
        if count == nil {
            reply.bulk(bytes: values[0])
        } else {
            reply.arrayHeader(values.count)
            for value in values { reply.bulk(bytes: value) }
        }
    }

    func lrange(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        guard let start = args[2].redisInteger, let stop = args[3].redisInteger else { return reply.error(RedisError.notInteger) }
        let values = try lists.range(args[1], start: start, stop: stop)
        reply.arrayHeader(values.count)
        for value in values { reply.bulk(bytes: value) }
    }

    func lindex(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        guard let index = args[2].redisInteger else { return reply.error(RedisError.notInteger) }
        if let value = try lists.element(args[1], at: index) { reply.bulk(bytes: value) } else { reply.null() }
    }

    func lset(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        guard let index = args[2].redisInteger else { return reply.error(RedisError.notInteger) }
        try lists.set(args[1], at: index, to: args[3])
        reply.ok()
    }

    func ltrim(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        guard let start = args[2].redisInteger, let stop = args[3].redisInteger else { return reply.error(RedisError.notInteger) }
        try lists.trim(args[1], start: start, stop: stop)
        reply.ok()
    }

    func lrem(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        guard let count = args[2].redisInteger else { return reply.error(RedisError.notInteger) }
        reply.integer(try lists.remove(args[1], args[3], count: count))
    }

    func linsert(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        let before: Bool
        if args[2].isOption("BEFORE") { before = true } else if args[2].isOption("AFTER") { before = false } else {
            return reply.error(RedisError.syntax)
        }
        reply.integer(try lists.insert(args[1], args[4], pivot: args[3], before: before))
    }

    func lpos(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        var rank = 1, count: Int?, maxlen = 0
        var i = 3
        while i < args.count {
            guard i + 1 < args.count else { return reply.error(RedisError.syntax) }
            guard let value = args[i + 1].redisInteger else { return reply.error(RedisError.notInteger) }
            if args[i].isOption("RANK") {
                guard value != 0 else {
                    return reply.error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
                }
                guard value != Int.min else { return reply.error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807") }
                rank = value
            } else if args[i].isOption("COUNT") {
                guard value >= 0 else { return reply.error("ERR COUNT can't be negative") }
                count = value
            } else if args[i].isOption("MAXLEN") {
                guard value >= 0 else { return reply.error("ERR MAXLEN can't be negative") }
                maxlen = value
            } else {
                return reply.error(RedisError.syntax)
            }
            i += 2
        }
        guard try lists.find(args[1]) != nil else { return count == nil ? reply.null() : reply.arrayHeader(0) }
        let values = try lists.all(args[1])
        let target = args[2].bytes
        var matches: [Int] = []
        var skip = abs(rank) - 1
        let wanted = count.map { $0 == 0 ? Int.max : $0 } ?? 1
        var indices = Array(values.indices)
        if rank < 0 { indices.reverse() }
        for (checked, index) in indices.enumerated() {
            if maxlen > 0 && checked >= maxlen { break }
            guard values[index] == target else { continue }
            if skip > 0 { skip -= 1; continue }
            matches.append(index)
            if matches.count >= wanted { break }
        }
        if count == nil {
            if let first = matches.first { reply.integer(first) } else { reply.null() }
        } else {
            reply.arrayHeader(matches.count)
            for match in matches { reply.integer(match) }
        }
    }

    /// LMOVE and RPOPLPUSH (`rpoplpush`: RIGHT to LEFT, no direction arguments): pops from one
    /// end of `source`, pushes on one end of `destination`.
    @discardableResult
    func lmove(_ args: [ByteBuffer], _ reply: inout ReplyWriter, rpoplpush: Bool) throws(StoreError) -> PopOutcome {
        var (fromLeft, toLeft) = (false, true)
        if !rpoplpush {
            guard let from = Self.side(args[3]), let to = Self.side(args[4]) else { return reply.refuse(RedisError.syntax) }
            (fromLeft, toLeft) = (from, to)
        }
        guard let value = try lists.move(from: args[1], to: args[2], fromLeft: fromLeft, toLeft: toLeft) else {
            reply.null()
            return .empty
        }
        reply.bulk(bytes: value)
        return .popped
    }

    static func side(_ word: ByteBuffer) -> Bool? {
        if word.isOption("LEFT") { return true }
        if word.isOption("RIGHT") { return false }
        return nil
    }

    /// The arguments of LMPOP and ZMPOP: `numkeys key [key ...] <first>|<second> [COUNT count]`.
    /// Returns the keys, whether the first side was named, and the count; nil with the error
    /// written.
    func multiPopArguments(_ args: [ByteBuffer], first: StaticString, second: StaticString)
        -> Result<(keys: ArraySlice<ByteBuffer>, first: Bool, count: Int), Refusal> {
        guard let numkeys = args[1].redisInteger, numkeys > 0 else { return .failure(.init("ERR numkeys should be greater than 0")) }
        guard numkeys <= args.count - 3 else { return .failure(.init(RedisError.syntax)) }
        let side = args[2 + numkeys]
        guard side.isOption(first) || side.isOption(second) else { return .failure(.init(RedisError.syntax)) }
        var count = 1
        var i = 3 + numkeys
        var sawCount = false
        while i < args.count {
            guard args[i].isOption("COUNT"), i + 1 < args.count, !sawCount else { return .failure(.init(RedisError.syntax)) }
            guard let value = args[i + 1].redisInteger, value > 0 else { return .failure(.init("ERR count should be greater than 0")) }
            count = value
            sawCount = true
            i += 2
        }
        return .success((args[2..<(2 + numkeys)], side.isOption(first), count))
    }

    /// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]
    @discardableResult
    func lmpop(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) -> PopOutcome {
        let (keys, left, count): (ArraySlice<ByteBuffer>, Bool, Int)
        switch multiPopArguments(args, first: "LEFT", second: "RIGHT") {
        case .failure(let refusal): return reply.refuse(refusal.message)
        case .success(let parsed): (keys, left, count) = parsed
        }
        guard let (key, values) = try lists.popFirst(keys, count: count, left: left) else {
            reply.nullArray()
            return .empty
        }
        reply.arrayHeader(2)
        reply.bulk(key)
        reply.arrayHeader(values.count)
        for value in values { reply.bulk(bytes: value) }
        return .popped
    }
}

extension RocksDBSession {
    /// Lists: the RocksDB engine's handlers (the rows are in `Protocol/Commands/`).
    static let listCommands: [(CommandID, RocksDBHandler)] = [
        (.lpush, .store { s, a, r throws(StoreError) in try s.push(a, &r, left: true, onlyIfExists: false) }),
        (.rpush, .store { s, a, r throws(StoreError) in try s.push(a, &r, left: false, onlyIfExists: false) }),
        (.lpushx, .store { s, a, r throws(StoreError) in try s.push(a, &r, left: true, onlyIfExists: true) }),
        (.rpushx, .store { s, a, r throws(StoreError) in try s.push(a, &r, left: false, onlyIfExists: true) }),
        (.lpop, .store { s, a, r throws(StoreError) in try s.pop(a, &r, left: true) }),
        (.rpop, .store { s, a, r throws(StoreError) in try s.pop(a, &r, left: false) }),
        (.llen, .store { s, a, r throws(StoreError) in r.integer(try s.lists.length(a[1])) }),
        (.lrange, .store { s, a, r throws(StoreError) in try s.lrange(a, &r) }),
        (.lindex, .store { s, a, r throws(StoreError) in try s.lindex(a, &r) }),
        (.lset, .store { s, a, r throws(StoreError) in try s.lset(a, &r) }),
        (.ltrim, .store { s, a, r throws(StoreError) in try s.ltrim(a, &r) }),
        (.lrem, .store { s, a, r throws(StoreError) in try s.lrem(a, &r) }),
        (.linsert, .store { s, a, r throws(StoreError) in try s.linsert(a, &r) }),
        (.lpos, .store { s, a, r throws(StoreError) in try s.lpos(a, &r) }),
        (.lmove, .store { s, a, r throws(StoreError) in try s.lmove(a, &r, rpoplpush: false) }),
        (.rpoplpush, .store { s, a, r throws(StoreError) in try s.lmove(a, &r, rpoplpush: true) }),
        (.lmpop, .store { s, a, r throws(StoreError) in try s.lmpop(a, &r) }),
        (.blpop, .blockingPop(.first(list: true, fromStart: true))),
        (.brpop, .blockingPop(.first(list: true, fromStart: false))),
        (.blmpop, .blockingPop(.multi(list: true))),
        (.blmove, .blockingPop(.move(rpoplpush: false))),
        (.brpoplpush, .blockingPop(.move(rpoplpush: true))),
    ]
}
