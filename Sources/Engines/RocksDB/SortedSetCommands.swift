import NIOCore
import Protocol

/// Sorted sets, Kvrocks-style: each member has two records, `member → score` in `subkeys` and
/// `score ‖ member` in `zscore` (sign-flipped big-endian doubles, so byte order is score order,
/// ties by member bytes as in Redis). Range commands read the score index in order; ranks cost
/// O(rank) walks, as in Kvrocks, from both ends at once and without copying entries.
extension RocksDBSession {
    struct ZEntry {
        var member: [UInt8]
        var score: Double
    }

    private func zstripe(_ key: ByteBuffer) -> [Int] {
        [KeyLocks.stripe(of: key.withUnsafeReadableBytes { engine.keyToken($0) })]
    }

    func zscoreIndexKey(_ key: ByteBuffer, generation: UInt64, score: Double, member: [UInt8]) -> [UInt8] {
        var out = elementPrefix(key, generation: generation)
        Score.encode(score, into: &out)
        out.append(contentsOf: member)
        return out
    }

    /// Every member in (score, member) order.
    func zentries(_ key: ByteBuffer, generation: UInt64) -> [ZEntry] {
        let prefix = elementPrefix(key, generation: generation)
        let iterator = RocksIterator(db, .zscore, scan: false, through: transaction)
        iterator.seek(prefix)
        var out: [ZEntry] = []
        while iterator.isValid {
            let stored = iterator.key
            guard stored.starts(with: prefix), stored.count >= prefix.count + 8 else { break }
            let score = stored.withUnsafeBytes { Score.decode($0, at: prefix.count) }
            out.append(ZEntry(member: Array(stored[(prefix.count + 8)...]), score: score))
            iterator.next()
        }
        return out
    }

    func zmemberScore(_ key: ByteBuffer, generation: UInt64, member: [UInt8]) throws(RocksDBError) -> Double? {
        guard let stored = try readStored(.subkeys, key: elementKey(key, generation: generation, field: ByteBuffer(bytes: member))),
              stored.count == 8 else { return nil }
        return stored.withUnsafeBytes { Score.decode($0) }
    }

    /// Stages a member's score (both records), replacing `old` if it had one.
    func stageZMember(_ key: ByteBuffer, generation: UInt64, member: [UInt8], score: Double, old: Double?) {
        if let old { stageElement(zscoreIndexKey(key, generation: generation, score: old, member: member), value: nil, family: .zscore) }
        var encoded: [UInt8] = []
        Score.encode(score, into: &encoded)
        encoded.withUnsafeBytes { stageElement(elementKey(key, generation: generation, field: ByteBuffer(bytes: member)), value: $0) }
        stageElement(zscoreIndexKey(key, generation: generation, score: score, member: member),
                     value: UnsafeRawBufferPointer(start: nil, count: 0), family: .zscore)
    }

    /// Stages a sorted set's metadata after popping `last` (and everything beyond it) from one
    /// end: every member left is above (below) it, so that end's pop hint moves there; the other
    /// hint is kept from the record just looked up.
    func stageZsetAfterPop(_ key: ByteBuffer, meta: Metadata, generation: UInt64, remaining: UInt64, last: ZEntry, max: Bool) {
        var hints = zsetHints(generation: generation)
        if max { hints.ceiling = Self.zindexSuffix(last) } else { hints.floor = Self.zindexSuffix(last) }
        stageCollectionMeta(.zset, key, expireAt: meta.expireAt, generation: generation, count: remaining, hints: hints)
    }

    /// An entry's `zscore` key after the set's prefix: score ‖ member.
    static func zindexSuffix(_ entry: ZEntry) -> [UInt8] {
        var out: [UInt8] = []
        Score.encode(entry.score, into: &out)
        out.append(contentsOf: entry.member)
        return out
    }

    func stageZRemove(_ key: ByteBuffer, generation: UInt64, entry: ZEntry) {
        stageElement(elementKey(key, generation: generation, field: ByteBuffer(bytes: entry.member)), value: nil)
        stageElement(zscoreIndexKey(key, generation: generation, score: entry.score, member: entry.member), value: nil, family: .zscore)
    }

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

    /// Stages `entries` as the whole sorted set at `key` under a new generation, replacing
    /// whatever the key held (O(1) for the old value; the sweep reclaims its elements).
    func stageNewZSet(_ key: ByteBuffer, _ entries: [ZEntry], expireAt: Int64 = 0) {
        let generation = engine.nextGeneration()
        for entry in entries { stageZMember(key, generation: generation, member: entry.member, score: entry.score, old: nil) }
        stageCollectionMeta(.zset, key, expireAt: expireAt, generation: generation, count: UInt64(entries.count))
    }

    /// ZADD and ZINCRBY (ZADD key INCR increment member).
    func zadd(_ args: [ByteBuffer], _ reply: inout ReplyWriter, zincrby: Bool) throws(RocksDBError) {
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
        var pairs: [(Double, [UInt8])] = []
        for i in stride(from: index, to: args.count, by: 2) {
            guard let score = Score.parseStrict(args[i].bytes) else { return reply.error(RedisError.notFloat) }
            pairs.append((score, args[i + 1].bytes))
        }
        try modify(stripes: zstripe(args[1])) { () throws(RocksDBError) in
            var generation: UInt64, count: UInt64, expireAt: Int64 = 0
            var hints: ZsetHints = (nil, nil)
            switch try lookupCollection(.zset, args[1], now: WallClock.nowMillis()) {
            case .wrongType: return reply.error(RedisError.wrongType)
            case .missing:
                if xx { return incr ? reply.null() : reply.integer(0) }
                (generation, count) = (engine.nextGeneration(), 0)
            case .found(let meta, let g, let c):
                (generation, count, expireAt) = (g, c, meta.expireAt)
                hints = zsetHints(generation: g)
            }
            var added = 0, changed = 0
            var result: Double?
            var staged: [[UInt8]: Double] = [:]  // members written by this command
            for (score, member) in pairs {
                var current = staged[member]
                if current == nil { current = try zmemberScore(args[1], generation: generation, member: member) }
                if let current {
                    if nx { continue }
                    var new = score
                    if incr {
                        new = current + score
                        if new.isNaN { return reply.error("ERR resulting score is not a number (NaN)") }
                    }
                    if (gt && new <= current) || (lt && new >= current) { continue }
                    result = new
                    if new != current {
                        stageZMember(args[1], generation: generation, member: member, score: new, old: current)
                        staged[member] = new
                        changed += 1
                    }
                } else {
                    if xx { continue }
                    stageZMember(args[1], generation: generation, member: member, score: score, old: nil)
                    staged[member] = score
                    result = score
                    added += 1
                }
            }
            if added > 0 || changed > 0 {
                // Keep the pop hints true: widen them to every entry this command wrote.
                for (member, score) in staged where hints.floor != nil || hints.ceiling != nil {
                    let entry = Self.zindexSuffix(ZEntry(member: member, score: score))
                    if let low = hints.floor, entry.lexicographicallyPrecedes(low) { hints.floor = entry }
                    if let high = hints.ceiling, high.lexicographicallyPrecedes(entry) { hints.ceiling = entry }
                }
                stageCollectionMeta(.zset, args[1], expireAt: expireAt, generation: generation, count: count + UInt64(added), hints: hints)
            }
            if incr {
                if let result { writeScore(result, &reply) } else { reply.null() }
            } else {
                reply.integer(ch ? added + changed : added)
            }
        }
    }

    func zrem(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        try modify(stripes: zstripe(args[1])) { () throws(RocksDBError) in
            switch try lookupCollection(.zset, args[1], now: WallClock.nowMillis()) {
            case .wrongType: reply.error(RedisError.wrongType)
            case .missing: reply.integer(0)
            case .found(let meta, let generation, let count):
                var removed = Set<[UInt8]>()
                for member in args.dropFirst(2).map(\.bytes) where !removed.contains(member) {
                    if let score = try zmemberScore(args[1], generation: generation, member: member) {
                        stageZRemove(args[1], generation: generation, entry: ZEntry(member: member, score: score))
                        removed.insert(member)
                    }
                }
                if !removed.isEmpty {
                    stageCollectionMeta(.zset, args[1], expireAt: meta.expireAt, generation: generation, count: count - UInt64(removed.count))
                }
                reply.integer(removed.count)
            }
        }
    }

    func zscore(_ args: [ByteBuffer], _ reply: inout ReplyWriter, many: Bool) throws(RocksDBError) {
        let lookup = try lookupCollection(.zset, args[1], now: WallClock.nowMillis())
        if case .wrongType = lookup { return reply.error(RedisError.wrongType) }
        if many { reply.arrayHeader(args.count - 2) }
        for member in args.dropFirst(2) {
            if case .found(_, let generation, _) = lookup, let score = try zmemberScore(args[1], generation: generation, member: member.bytes) {
                writeScore(score, &reply)
            } else {
                reply.null()
            }
        }
    }

    func zrank(_ args: [ByteBuffer], _ reply: inout ReplyWriter, reverse: Bool) throws(RocksDBError) {
        // Under the key's stripe: the rank comes from the element count and a walk of the index.
        try modify(stripes: zstripe(args[1])) { () throws(RocksDBError) in
            switch try lookupCollection(.zset, args[1], now: WallClock.nowMillis()) {
            case .wrongType: reply.error(RedisError.wrongType)
            case .missing: reply.null()
            case .found(_, let generation, let count):
                let member = args[2].bytes
                guard let score = try zmemberScore(args[1], generation: generation, member: member) else { return reply.null() }
                let target = zscoreIndexKey(args[1], generation: generation, score: score, member: member)
                let rank = zforwardRank(args[1], generation: generation, total: Int(count), of: target)
                reply.integer(reverse ? Int(count) - 1 - rank : rank)
            }
        }
    }

    func zcount(_ args: [ByteBuffer], _ reply: inout ReplyWriter, lex: Bool) throws(RocksDBError) {
        let kind: ZRangeKind = lex ? .lex : .score
        if let error = zboundError(kind: kind, start: args[2].bytes, stop: args[3].bytes) { return reply.error(error) }
        switch try lookupCollection(.zset, args[1], now: WallClock.nowMillis()) {
        case .wrongType: reply.error(RedisError.wrongType)
        case .missing: reply.integer(0)
        case .found(_, let generation, let count):
            reply.integer(zselect(args[1], generation: generation, count: Int(count), kind: kind, reverse: false,
                                  start: args[2].bytes, stop: args[3].bytes, limit: nil).count)
        }
    }

    enum ZRangeKind { case rank, score, lex }

    /// Walks the score index of one sorted set, forward from `from` (default: its first entry)
    /// or backward from just before `before` (default: past its last entry), first stepping
    /// over `skip` entries without reading them. `visit` returns false to stop. Only the entries
    /// visited are read.
    func zwalk(_ key: ByteBuffer, generation: UInt64, reverse: Bool, from: [UInt8]? = nil, before: [UInt8]? = nil,
               skip: Int = 0, _ visit: (ZEntry) -> Bool) {
        let (iterator, prefix) = zindex(key, generation: generation, reverse: reverse, from: from, before: before)
        for _ in 0..<skip where iterator.isValid {
            if reverse { iterator.prev() } else { iterator.next() }
        }
        while iterator.isValid {
            let stored = iterator.key
            guard stored.starts(with: prefix), stored.count >= prefix.count + 8 else { break }
            let score = stored.withUnsafeBytes { Score.decode($0, at: prefix.count) }
            if !visit(ZEntry(member: Array(stored[(prefix.count + 8)...]), score: score)) { break }
            if reverse { iterator.prev() } else { iterator.next() }
        }
    }

    /// An iterator over one sorted set's score index and the set's prefix, positioned at `from`
    /// (default: the first entry) or just before `before` (default: the last), starting at the
    /// pop hints when there are any: the walks of ranges, ranks and random picks.
    func zindex(_ key: ByteBuffer, generation: UInt64, reverse: Bool, from: [UInt8]? = nil, before: [UInt8]? = nil)
        -> (RocksIterator, [UInt8]) {
        let prefix = elementPrefix(key, generation: generation)
        var from = from, before = before
        // A walk from either end starts at the set's pop hint when the record just looked up
        // is this set's (same generation), past the deletion markers of earlier pops.
        if reverse ? before == nil : from == nil {
            let hints = zsetHints(generation: generation)
            if reverse { before = hints.ceiling.map { prefix + $0 + [0] } } else { from = hints.floor.map { prefix + $0 } }
        }
        let iterator = RocksIterator(db, .zscore, scan: false, through: transaction)
        if reverse {
            let limit = before ?? KeyEncoding.successor(of: prefix[...])
            iterator.seekForPrev(limit)
            if iterator.isValid, !iterator.key.lexicographicallyPrecedes(limit) { iterator.prev() }
        } else {
            iterator.seek(from ?? prefix)
        }
        return (iterator, prefix)
    }

    /// How many of the set's `total` index entries lie before `target` (an index key). Walks
    /// from both ends at once and stops at whichever reaches it first: O(min(rank, reverse
    /// rank)). RocksDB steps backward about ten times slower than forward, so the forward walk
    /// takes eight steps to the backward one's one. No step copies an entry. The caller holds
    /// the key's stripe, so `total` and the index agree.
    func zforwardRank(_ key: ByteBuffer, generation: UInt64, total: Int, of target: [UInt8]) -> Int {
        let (forward, prefix) = zindex(key, generation: generation, reverse: false, from: nil, before: nil)
        let (backward, _) = zindex(key, generation: generation, reverse: true, from: nil, before: nil)
        var before = 0, after = 0
        while before + after < total {
            for _ in 0..<8 {
                guard forward.isValid, forward.keyStarts(with: prefix) else { return before }
                if forward.keyEquals(target) { return before }
                before += 1
                forward.next()
            }
            guard backward.isValid, backward.keyStarts(with: prefix) else { continue }
            if backward.keyEquals(target) { return total - 1 - after }
            after += 1
            backward.prev()
        }
        return before
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

    /// The entries a range selects, in reply order, reading only what the range covers (plus
    /// the skipped prefix for rank ranges and LIMIT offsets). `start`/`stop` are min/max for
    /// score and lex ranges, already validated.
    func zselect(_ key: ByteBuffer, generation: UInt64, count: Int, kind: ZRangeKind, reverse: Bool,
                 start: [UInt8], stop: [UInt8], limit: (offset: Int, count: Int)?) -> [ZEntry] {
        var out: [ZEntry] = []
        switch kind {
        case .rank:
            guard let (from, to) = Self.listRange(start: RedisInteger.parse(start)!, stop: RedisInteger.parse(stop)!, count: count) else {
                return []
            }
            var position = from
            zwalk(key, generation: generation, reverse: reverse, skip: from) { entry in
                out.append(entry)
                position += 1
                return position <= to
            }
        case .score, .lex:
            var skip = limit?.offset ?? 0
            if skip < 0 { return [] }
            let wanted = limit.map { $0.count < 0 ? Int.max : $0.count } ?? Int.max
            if wanted == 0 { return [] }
            let admitsMin: (ZEntry) -> Bool
            let admitsMax: (ZEntry) -> Bool
            var from: [UInt8]?
            var before: [UInt8]?
            if kind == .score {
                let min = ScoreBound(start)!, max = ScoreBound(stop)!
                admitsMin = { min.admitsAsMin($0.score) }
                admitsMax = { max.admitsAsMax($0.score) }
                var bound = elementPrefix(key, generation: generation)
                Score.encode(reverse ? max.value : min.value, into: &bound)
                if reverse { before = KeyEncoding.successor(of: bound[...]) } else { from = bound }
            } else {
                let min = LexBound(start)!, max = LexBound(stop)!
                admitsMin = { min.admitsAsMin($0.member) }
                admitsMax = { max.admitsAsMax($0.member) }
            }
            zwalk(key, generation: generation, reverse: reverse, from: from, before: before) { entry in
                // Walking toward the far bound: entries before the near bound are skipped, the
                // first entry past the far bound ends the walk.
                let (near, far) = reverse ? (admitsMax, admitsMin) : (admitsMin, admitsMax)
                guard near(entry) else { return true }
                guard far(entry) else { return false }
                if skip > 0 { skip -= 1; return true }
                out.append(entry)
                return out.count < wanted
            }
        }
        return out
    }

    /// ZRANGE and its older forms. `fixed` gives the kind and direction the command name
    /// implies; ZRANGE reads BYSCORE/BYLEX/REV from its options.
    func zrange(_ args: [ByteBuffer], _ reply: inout ReplyWriter, fixed: (ZRangeKind, Bool)?) throws(RocksDBError) {
        try zrange(args, &reply, fixed: fixed, store: false)
    }

    /// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]
    func zrangestore(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        let stripes = [args[1], args[2]].map { k in KeyLocks.stripe(of: k.withUnsafeReadableBytes { engine.keyToken($0) }) }
        try modify(stripes: stripes) { () throws(RocksDBError) in
            try zrange(args, &reply, fixed: nil, store: true)
        }
    }

    /// ZRANGE and friends; with `store`, args[1] is the destination and the range reads args[2]
    /// (the caller holds both keys' locks).
    private func zrange(_ args: [ByteBuffer], _ reply: inout ReplyWriter, fixed: (ZRangeKind, Bool)?, store: Bool) throws(RocksDBError) {
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
        var selected: [ZEntry] = []
        switch try lookupCollection(.zset, args[source], now: WallClock.nowMillis()) {
        case .wrongType: return reply.error(RedisError.wrongType)
        case .missing: break
        case .found(_, let generation, let count):
            selected = zselect(args[source], generation: generation, count: Int(count), kind: rangeKind, reverse: isReverse,
                               start: start, stop: stop, limit: limit)
        }
        if store {
            stageNewZSet(args[1], selected)
            return reply.integer(selected.count)
        }
        writeEntries(selected, withScores: withScores, &reply)
    }

    func zremrange(_ args: [ByteBuffer], _ reply: inout ReplyWriter, kind: ZRangeKind) throws(RocksDBError) {
        if let error = zboundError(kind: kind, start: args[2].bytes, stop: args[3].bytes) { return reply.error(error) }
        try modify(stripes: zstripe(args[1])) { () throws(RocksDBError) in
            switch try lookupCollection(.zset, args[1], now: WallClock.nowMillis()) {
            case .wrongType: reply.error(RedisError.wrongType)
            case .missing: reply.integer(0)
            case .found(let meta, let generation, let count):
                let selected = zselect(args[1], generation: generation, count: Int(count), kind: kind, reverse: false,
                                       start: args[2].bytes, stop: args[3].bytes, limit: nil)
                for entry in selected { stageZRemove(args[1], generation: generation, entry: entry) }
                if !selected.isEmpty {
                    stageCollectionMeta(.zset, args[1], expireAt: meta.expireAt, generation: generation, count: count - UInt64(selected.count))
                }
                reply.integer(selected.count)
            }
        }
    }

    func zpop(_ args: [ByteBuffer], _ reply: inout ReplyWriter, max: Bool) throws(RocksDBError) {
        var count = 1
        if args.count > 3 { return reply.error(RedisError.syntax) }
        if args.count == 3 {
            guard let parsed = args[2].redisInteger, parsed >= 0 else {
                return reply.error("ERR value is out of range, must be positive")
            }
            count = parsed
        }
        try modify(stripes: zstripe(args[1])) { () throws(RocksDBError) in
            switch try lookupCollection(.zset, args[1], now: WallClock.nowMillis()) {
            case .wrongType: reply.error(RedisError.wrongType)
            case .missing: reply.arrayHeader(0)
            case .found(let meta, let generation, let total):
                var popped: [ZEntry] = []
                if count > 0 {
                    zwalk(args[1], generation: generation, reverse: max) { entry in  // from the pop hint
                        popped.append(entry)
                        return popped.count < count
                    }
                }
                for entry in popped { stageZRemove(args[1], generation: generation, entry: entry) }
                if let last = popped.last {
                    stageZsetAfterPop(args[1], meta: meta, generation: generation, remaining: total - UInt64(popped.count), last: last, max: max)
                }
                // With a count, RESP3 nests each (member, score); without one the reply stays flat.
                writeEntries(popped, withScores: true, &reply, pairs: args.count > 2 && reply.resp3)
            }
        }
    }

    /// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]: pops from the first non-empty set.
    @discardableResult
    func zmpop(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) -> PopOutcome {
        let (keys, min, count): (ArraySlice<ByteBuffer>, Bool, Int)
        switch multiPopArguments(args, first: "MIN", second: "MAX") {
        case .failure(let refusal): return reply.refuse(refusal.message)
        case .success(let parsed): (keys, min, count) = parsed
        }
        let max = !min
        return try modify(stripes: keys.map { k in KeyLocks.stripe(of: k.withUnsafeReadableBytes { engine.keyToken($0) }) }) {
            () throws(RocksDBError) -> PopOutcome in
            for key in keys {
                switch try lookupCollection(.zset, key, now: WallClock.nowMillis()) {
                case .wrongType: return reply.refuse(RedisError.wrongType)
                case .missing: continue
                case .found(let meta, let generation, let total):
                    var popped: [ZEntry] = []
                    zwalk(key, generation: generation, reverse: max) { entry in
                        popped.append(entry)
                        return popped.count < count
                    }
                    for entry in popped { stageZRemove(key, generation: generation, entry: entry) }
                    if let last = popped.last {
                        stageZsetAfterPop(key, meta: meta, generation: generation, remaining: total - UInt64(popped.count), last: last, max: max)
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
            reply.nullArray()
            return .empty
        }
    }
}

extension RocksDBSession {
    /// Sorted sets: the RocksDB engine's handlers (the rows are in `Protocol/Commands/`).
    static let sortedSetCommands: [(CommandID, RocksDBHandler)] = [
        (.zadd, .run { s, a, r throws(RocksDBError) in try s.zadd(a, &r, zincrby: false) }),
        (.zincrby, .run { s, a, r throws(RocksDBError) in try s.zadd([a[0], a[1], a[2], a[3]], &r, zincrby: true) }),
        (.zrem, .run { s, a, r throws(RocksDBError) in try s.zrem(a, &r) }),
        (.zcard, .run { s, a, r throws(RocksDBError) in try s.collectionCount(.zset, a[1], &r) }),
        (.zscore, .run { s, a, r throws(RocksDBError) in try s.zscore(a, &r, many: false) }),
        (.zmscore, .run { s, a, r throws(RocksDBError) in try s.zscore(a, &r, many: true) }),
        (.zrank, .run { s, a, r throws(RocksDBError) in try s.zrank(a, &r, reverse: false) }),
        (.zrevrank, .run { s, a, r throws(RocksDBError) in try s.zrank(a, &r, reverse: true) }),
        (.zcount, .run { s, a, r throws(RocksDBError) in try s.zcount(a, &r, lex: false) }),
        (.zlexcount, .run { s, a, r throws(RocksDBError) in try s.zcount(a, &r, lex: true) }),
        (.zrange, .run { s, a, r throws(RocksDBError) in try s.zrange(a, &r, fixed: nil) }),
        (.zrevrange, .run { s, a, r throws(RocksDBError) in try s.zrange(a, &r, fixed: (.rank, true)) }),
        (.zrangebyscore, .run { s, a, r throws(RocksDBError) in try s.zrange(a, &r, fixed: (.score, false)) }),
        (.zrevrangebyscore, .run { s, a, r throws(RocksDBError) in try s.zrange(a, &r, fixed: (.score, true)) }),
        (.zrangebylex, .run { s, a, r throws(RocksDBError) in try s.zrange(a, &r, fixed: (.lex, false)) }),
        (.zrevrangebylex, .run { s, a, r throws(RocksDBError) in try s.zrange(a, &r, fixed: (.lex, true)) }),
        (.zremrangebyrank, .run { s, a, r throws(RocksDBError) in try s.zremrange(a, &r, kind: .rank) }),
        (.zremrangebyscore, .run { s, a, r throws(RocksDBError) in try s.zremrange(a, &r, kind: .score) }),
        (.zremrangebylex, .run { s, a, r throws(RocksDBError) in try s.zremrange(a, &r, kind: .lex) }),
        (.zpopmin, .run { s, a, r throws(RocksDBError) in try s.zpop(a, &r, max: false) }),
        (.zpopmax, .run { s, a, r throws(RocksDBError) in try s.zpop(a, &r, max: true) }),
        (.zunion, .run { s, a, r throws(RocksDBError) in try s.zsetOperation(a, &r, .union, store: false) }),
        (.zinter, .run { s, a, r throws(RocksDBError) in try s.zsetOperation(a, &r, .inter, store: false) }),
        (.zdiff, .run { s, a, r throws(RocksDBError) in try s.zsetOperation(a, &r, .diff, store: false) }),
        (.zunionstore, .run { s, a, r throws(RocksDBError) in try s.zsetOperation(a, &r, .union, store: true) }),
        (.zinterstore, .run { s, a, r throws(RocksDBError) in try s.zsetOperation(a, &r, .inter, store: true) }),
        (.zdiffstore, .run { s, a, r throws(RocksDBError) in try s.zsetOperation(a, &r, .diff, store: true) }),
        (.zintercard, .run { s, a, r throws(RocksDBError) in try s.zsetOperation(a, &r, .inter, store: false, cardinality: true) }),
        (.zrangestore, .run { s, a, r throws(RocksDBError) in try s.zrangestore(a, &r) }),
        (.zmpop, .run { s, a, r throws(RocksDBError) in try s.zmpop(a, &r) }),
        (.zrandmember, .run { s, a, r throws(RocksDBError) in try s.randomElements(a, &r, type: .zset) }),
        (.zscan, .run { s, a, r throws(RocksDBError) in try s.collectionScan(a, &r, type: .zset) }),
        (.bzpopmin, .blockingPop(.first(list: false, fromStart: true))),
        (.bzpopmax, .blockingPop(.first(list: false, fromStart: false))),
        (.bzmpop, .blockingPop(.multi(list: false))),
    ]
}
