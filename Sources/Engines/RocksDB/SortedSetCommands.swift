import NIOCore
import Protocol

/// Sorted-set commands: each parses its arguments, calls the session's `ZSetStore` and writes
/// the reply (WRONGTYPE and storage failures are worded by the engine, `RocksDBHandler.store`).
extension RocksDBSession {
    /// A score: a double in RESP3, its `%.17g` text in RESP2.
    func writeScore(_ score: Double, _ reply: inout ReplyWriter) { reply.double(Score.text(score)) }

    /// Members, each followed by its score when asked: in RESP3 each (member, score) is a
    /// two-element array, as Redis 7.0 answers WITHSCORES there.
    func writeEntries(_ entries: [ZEntry], withScores: Bool, _ reply: inout ReplyWriter) {
        writeEntries(entries, withScores: withScores, &reply, pairs: withScores && reply.resp3)
    }

    func writeEntries(_ entries: [ZEntry], withScores: Bool, _ reply: inout ReplyWriter, pairs: Bool) {
        reply.arrayHeader(withScores && !pairs ? entries.count * 2 : entries.count)
        for entry in entries {
            if pairs { reply.arrayHeader(2) }
            reply.bulk(bytes: entry.member)
            if withScores { writeScore(entry.score, &reply) }
        }
    }

    /// ZADD and ZINCRBY (ZADD key INCR increment member).
    func zadd(_ args: [ByteBuffer], _ reply: inout ReplyWriter, zincrby: Bool) throws(StoreError) {
        var nx = false, xx = false, gt = false, lt = false, ch = false, incr = zincrby
        var index = 2
        if !zincrby {
            while index < args.count {
                let word = args[index]
                if word.isOption("NX") { nx = true } else if word.isOption("XX") { xx = true }
                else if word.isOption("GT") { gt = true } else if word.isOption("LT") { lt = true }
                else if word.isOption("CH") { ch = true } else if word.isOption("INCR") { incr = true }
                else { break }
                index += 1
            }
        }
        let elements = args.count - index
        if elements % 2 != 0 || elements == 0 { return reply.error(RedisError.syntax) }
        if incr && elements > 2 { return reply.error("ERR INCR option supports a single increment-element pair") }
        if nx && xx { return reply.error("ERR XX and NX options at the same time are not compatible") }
        if (gt && nx) || (lt && nx) || (gt && lt) {
            return reply.error("ERR GT, LT, and/or NX options at the same time are not compatible")
        }
        var pairs: [(score: Double, member: [UInt8])] = []
        for i in stride(from: index, to: args.count, by: 2) {
            guard let score = Score.parseStrict(args[i].bytes) else { return reply.error(RedisError.notFloat) }
            pairs.append((score, args[i + 1].bytes))
        }
        let options = ZSetStore.AddOptions(nx: nx, xx: xx, gt: gt, lt: lt, incr: incr)
        let result: ZSetStore.AddResult
        do {
            result = try zsets.add(args[1], pairs, options)
        } catch .scoreNaN {
            return reply.error("ERR resulting score is not a number (NaN)")
        }
        if incr {
            if let score = result.score { writeScore(score, &reply) } else { reply.null() }
        } else {
            reply.integer(ch ? result.added + result.changed : result.added)
        }
    }

    /// ZSCAN's items: members in byte order, each with its score's text.
    func zscanItems(_ key: ByteBuffer) throws(StoreError) -> [(element: [UInt8], extra: [UInt8]?)] {
        try zsets.entries(key).sorted { $0.member.lexicographicallyPrecedes($1.member) }.map { ($0.member, Array(Score.text($0.score).utf8)) }
    }

    func zrem(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        reply.integer(try zsets.remove(args[1], members: args[2...]))
    }

    /// ZSCORE, and ZMSCORE (`many`).
    func zscore(_ args: [ByteBuffer], _ reply: inout ReplyWriter, many: Bool) throws(StoreError) {
        guard many else {
            if let score = try zsets.score(args[1], member: args[2]) { writeScore(score, &reply) } else { reply.null() }
            return
        }
        let scores = try zsets.scores(args[1], members: args[2...])
        if many { reply.arrayHeader(scores.count) }
        for score in scores {
            if let score { writeScore(score, &reply) } else { reply.null() }
        }
    }

    func zrank(_ args: [ByteBuffer], _ reply: inout ReplyWriter, reverse: Bool) throws(StoreError) {
        if let rank = try zsets.rank(args[1], member: args[2], reverse: reverse) { reply.integer(rank) } else { reply.null() }
    }

    func zcount(_ args: [ByteBuffer], _ reply: inout ReplyWriter, lex: Bool) throws(StoreError) {
        let kind: ZRangeKind = lex ? .lex : .score
        if let error = zboundError(kind: kind, start: args[2].bytes, stop: args[3].bytes) { return reply.error(error) }
        reply.integer(try zsets.range(args[1], kind, reverse: false, start: args[2].bytes, stop: args[3].bytes).count)
    }

    /// The bound error a range would give, checked before the key is read (as Redis does).
    func zboundError(kind: ZRangeKind, start: [UInt8], stop: [UInt8]) -> String? {
        switch kind {
        case .rank:
            return RedisInteger.parse(start) == nil || RedisInteger.parse(stop) == nil ? RedisError.notInteger : nil
        case .score:
            return ScoreBound(start) == nil || ScoreBound(stop) == nil ? "ERR min or max is not a float" : nil
        case .lex:
            return LexBound(start) == nil || LexBound(stop) == nil ? "ERR min or max not valid string range item" : nil
        }
    }

    /// ZRANGE and friends; with `store` (ZRANGESTORE), args[1] is the destination and the
    /// range reads args[2].
    func zrange(_ args: [ByteBuffer], _ reply: inout ReplyWriter, fixed: (ZRangeKind, Bool)?, store: Bool) throws(StoreError) {
        let source = store ? 2 : 1
        var kind = fixed?.0
        var reverse = fixed?.1
        var withScores = false
        var limit: (offset: Int, count: Int)?
        var i = source + 3
        while i < args.count {
            let word = args[i]
            if !store, word.isOption("WITHSCORES") {
                withScores = true
            } else if word.isOption("LIMIT"), i + 2 < args.count {
                guard let offset = args[i + 1].redisInteger, let count = args[i + 2].redisInteger else {
                    return reply.error(RedisError.notInteger)
                }
                limit = (offset, count)
                i += 2
            } else if reverse == nil, word.isOption("REV") {
                reverse = true
            } else if kind == nil, word.isOption("BYLEX") {
                kind = .lex
            } else if kind == nil, word.isOption("BYSCORE") {
                kind = .score
            } else {
                return reply.error(RedisError.syntax)
            }
            i += 1
        }
        let rangeKind = kind ?? .rank
        let isReverse = reverse ?? false
        if limit != nil && rangeKind == .rank {
            return reply.error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
        }
        if withScores && rangeKind == .lex {
            return reply.error("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
        }
        // Reverse score and lex ranges are given as max, min.
        var (start, stop) = (args[source + 1].bytes, args[source + 2].bytes)
        if isReverse && rangeKind != .rank { swap(&start, &stop) }
        // Bounds are checked before the key is read, as Redis does.
        if let error = zboundError(kind: rangeKind, start: start, stop: stop) { return reply.error(error) }
        let read = { () throws(StoreError) -> [ZEntry] in
            try self.zsets.range(args[source], rangeKind, reverse: isReverse, start: start, stop: stop, limit: limit)
        }
        if store {
            // ZRANGESTORE reads the source and replaces the destination under both keys' locks.
            return reply.integer(try zsets.replace(args[1], readingAlso: [args[2]], read) ?? 0)
        }
        writeEntries(try read(), withScores: withScores, &reply)
    }

    func zremrange(_ args: [ByteBuffer], _ reply: inout ReplyWriter, kind: ZRangeKind) throws(StoreError) {
        if let error = zboundError(kind: kind, start: args[2].bytes, stop: args[3].bytes) { return reply.error(error) }
        reply.integer(try zsets.removeRange(args[1], kind, start: args[2].bytes, stop: args[3].bytes))
    }

    func zpop(_ args: [ByteBuffer], _ reply: inout ReplyWriter, max: Bool) throws(StoreError) {
        var count = 1
        if args.count > 3 { return reply.error(RedisError.syntax) }
        if args.count == 3 {
            guard let parsed = args[2].redisInteger, parsed >= 0 else {
                return reply.error("ERR value is out of range, must be positive")
            }
            count = parsed
        }
        let popped = try zsets.pop(args[1], count: count, max: max) ?? []
        // With a count, RESP3 nests each (member, score); without one the reply stays flat.
        writeEntries(popped, withScores: true, &reply, pairs: args.count > 2 && reply.resp3)
    }

    /// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]: pops from the first non-empty set.
    @discardableResult
    func zmpop(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) -> PopOutcome {
        let (keys, min, count): (ArraySlice<ByteBuffer>, Bool, Int)
        switch multiPopArguments(args, first: "MIN", second: "MAX") {
        case .failure(let refusal): return reply.refuse(refusal.message)
        case .success(let parsed): (keys, min, count) = parsed
        }
        guard let (key, popped) = try zsets.popFirst(keys, count: count, max: !min) else {
            reply.nullArray()
            return .empty
        }
        reply.arrayHeader(2)
        reply.bulk(key)
        reply.arrayHeader(popped.count)
        for entry in popped {
            reply.arrayHeader(2)
            reply.bulk(bytes: entry.member)
            writeScore(entry.score, &reply)
        }
        return .popped
    }
}

extension RocksDBSession {
    /// Sorted sets: the RocksDB engine's handlers (the rows are in `Protocol/Commands/`).
    static let sortedSetCommands: [(CommandID, RocksDBHandler)] = [
        (.zadd, .store { s, a, r throws(StoreError) in try s.zadd(a, &r, zincrby: false) }),
        (.zincrby, .store { s, a, r throws(StoreError) in try s.zadd([a[0], a[1], a[2], a[3]], &r, zincrby: true) }),
        (.zrem, .store { s, a, r throws(StoreError) in try s.zrem(a, &r) }),
        (.zcard, .store { s, a, r throws(StoreError) in r.integer(try s.zsets.count(a[1])) }),
        (.zscore, .store { s, a, r throws(StoreError) in try s.zscore(a, &r, many: false) }),
        (.zmscore, .store { s, a, r throws(StoreError) in try s.zscore(a, &r, many: true) }),
        (.zrank, .store { s, a, r throws(StoreError) in try s.zrank(a, &r, reverse: false) }),
        (.zrevrank, .store { s, a, r throws(StoreError) in try s.zrank(a, &r, reverse: true) }),
        (.zcount, .store { s, a, r throws(StoreError) in try s.zcount(a, &r, lex: false) }),
        (.zlexcount, .store { s, a, r throws(StoreError) in try s.zcount(a, &r, lex: true) }),
        (.zrange, .store { s, a, r throws(StoreError) in try s.zrange(a, &r, fixed: nil, store: false) }),
        (.zrevrange, .store { s, a, r throws(StoreError) in try s.zrange(a, &r, fixed: (.rank, true), store: false) }),
        (.zrangebyscore, .store { s, a, r throws(StoreError) in try s.zrange(a, &r, fixed: (.score, false), store: false) }),
        (.zrevrangebyscore, .store { s, a, r throws(StoreError) in try s.zrange(a, &r, fixed: (.score, true), store: false) }),
        (.zrangebylex, .store { s, a, r throws(StoreError) in try s.zrange(a, &r, fixed: (.lex, false), store: false) }),
        (.zrevrangebylex, .store { s, a, r throws(StoreError) in try s.zrange(a, &r, fixed: (.lex, true), store: false) }),
        (.zremrangebyrank, .store { s, a, r throws(StoreError) in try s.zremrange(a, &r, kind: .rank) }),
        (.zremrangebyscore, .store { s, a, r throws(StoreError) in try s.zremrange(a, &r, kind: .score) }),
        (.zremrangebylex, .store { s, a, r throws(StoreError) in try s.zremrange(a, &r, kind: .lex) }),
        (.zpopmin, .store { s, a, r throws(StoreError) in try s.zpop(a, &r, max: false) }),
        (.zpopmax, .store { s, a, r throws(StoreError) in try s.zpop(a, &r, max: true) }),
        (.zunion, .store { s, a, r throws(StoreError) in try s.zsetOperation(a, &r, .union, store: false) }),
        (.zinter, .store { s, a, r throws(StoreError) in try s.zsetOperation(a, &r, .inter, store: false) }),
        (.zdiff, .store { s, a, r throws(StoreError) in try s.zsetOperation(a, &r, .diff, store: false) }),
        (.zunionstore, .store { s, a, r throws(StoreError) in try s.zsetOperation(a, &r, .union, store: true) }),
        (.zinterstore, .store { s, a, r throws(StoreError) in try s.zsetOperation(a, &r, .inter, store: true) }),
        (.zdiffstore, .store { s, a, r throws(StoreError) in try s.zsetOperation(a, &r, .diff, store: true) }),
        (.zintercard, .store { s, a, r throws(StoreError) in try s.zsetOperation(a, &r, .inter, store: false, cardinality: true) }),
        (.zrangestore, .store { s, a, r throws(StoreError) in try s.zrange(a, &r, fixed: nil, store: true) }),
        (.zmpop, .store { s, a, r throws(StoreError) in try s.zmpop(a, &r) }),
        (.zrandmember, .store { s, a, r throws(StoreError) in try s.randomElements(a, &r, type: .zset) }),
        (.zscan, .store { s, a, r throws(StoreError) in try s.collectionScan(a, &r) { () throws(StoreError) in try s.zscanItems(a[1]) } }),
        (.bzpopmin, .blockingPop(.first(list: false, fromStart: true))),
        (.bzpopmax, .blockingPop(.first(list: false, fromStart: false))),
        (.bzmpop, .blockingPop(.multi(list: false))),
    ]
}
