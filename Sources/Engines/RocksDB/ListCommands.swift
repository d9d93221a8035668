import NIOCore
import Protocol

/// Lists: collection metadata plus head and tail indices; each element is a `subkeys` record
/// keyed by its 8-byte big-endian index. Indices start mid-range so pushes go both ways in O(1);
/// LINDEX and LSET are O(1), LRANGE one seek, LTRIM deletes only what it trims. LREM and LINSERT
/// (O(N) in Redis too) rewrite the list under a new generation; the old one is swept away.
extension RocksDBSession {
    struct ListState {
        var expireAt: Int64
        var generation: UInt64
        var head: UInt64
        var tail: UInt64
        var count: Int { Int(tail &- head) }
    }

    static let listOrigin = UInt64.max / 2

    enum ListLookup {
        case missing
        case wrongType
        case found(ListState)
    }

    func lookupList(_ key: ByteBuffer, now: Int64) throws(RocksDBError) -> ListLookup {
        encodeKey(key)
        guard let record = try readRecord(now: now) else { return .missing }
        guard record.meta.type == .list, record.stored.count >= Metadata.collectionSize + 16,
              let (generation, _) = Metadata.collection(record.stored) else { return .wrongType }
        let (head, tail) = record.stored.withUnsafeBytes {
            (KeyEncoding.readBigEndian($0, at: Metadata.collectionSize, as: UInt64.self),
             KeyEncoding.readBigEndian($0, at: Metadata.collectionSize + 8, as: UInt64.self))
        }
        // A list's indices never run more than its element count apart (at most 2^32 - 1); a
        // record saying otherwise is corrupt, and is refused like any unreadable record.
        guard tail &- head <= UInt64(UInt32.max) else { return .wrongType }
        return .found(ListState(expireAt: record.meta.expireAt, generation: generation, head: head, tail: tail))
    }

    /// A new, empty list's state.
    func newList() -> ListState {
        ListState(expireAt: 0, generation: engine.nextGeneration(), head: Self.listOrigin, tail: Self.listOrigin)
    }

    func stageListMeta(_ key: ByteBuffer, _ state: ListState) {
        encodeKey(key)
        if state.count == 0 { return stageDelete() }
        Metadata.encodeCollection(.list, expireAt: state.expireAt, timestamp: stamp, generation: state.generation,
                                  count: UInt64(state.count), into: &valueScratch)
        KeyEncoding.appendBigEndian(state.head, to: &valueScratch)
        KeyEncoding.appendBigEndian(state.tail, to: &valueScratch)
        putInto(immediate, .metadata)
    }

    static let pointReadsUpTo = 4

    func listElementKey(_ key: ByteBuffer, _ state: ListState, index: UInt64) -> [UInt8] {
        var out = elementPrefix(key, generation: state.generation)
        KeyEncoding.appendBigEndian(index, to: &out)
        return out
    }

    /// Elements at positions [from, to] (inclusive, already clamped to the list).
    func listValues(_ key: ByteBuffer, _ state: ListState, from: Int, to: Int) -> [[UInt8]] {
        guard from <= to else { return [] }
        // A few elements (LPOP, RPOP, LINDEX-like reads) are cheaper as point reads than as an
        // iterator over the memtables, files and the pass's batch; indices are dense, so each
        // is there (the walk below remains for anything unexpected).
        if to - from < Self.pointReadsUpTo {
            var out: [[UInt8]] = []
            for position in from...to {
                let element = listElementKey(key, state, index: state.head &+ UInt64(position))
                guard let value = (try? readStored(.subkeys, key: element)) ?? nil else { break }
                out.append(value)
            }
            if out.count == to - from + 1 { return out }
        }
        let iterator = RocksIterator(db, .subkeys, scan: false, through: transaction)
        iterator.seek(listElementKey(key, state, index: state.head &+ UInt64(from)))
        var out: [[UInt8]] = []
        let wanted = to - from + 1
        // The reservation only saves regrowth: never trust a (possibly corrupt) count with memory.
        out.reserveCapacity(min(wanted, 4096))
        while iterator.isValid {
            out.append(Array(iterator.value))
            // Never step past the last element wanted: beyond a list's tail lie the deletion
            // markers of the elements RPOP removed, and stepping onto the next live key would
            // walk over every one of them (RPOP after RPOP went quadratic).
            if out.count == wanted { break }
            iterator.next()
        }
        return out
    }

    func allValues(_ key: ByteBuffer, _ state: ListState) -> [[UInt8]] {
        listValues(key, state, from: 0, to: state.count - 1)
    }

    /// Replaces the whole list with `values` under a new generation.
    func rewriteList(_ key: ByteBuffer, _ state: inout ListState, _ values: [[UInt8]]) {
        state = ListState(expireAt: state.expireAt, generation: engine.nextGeneration(), head: Self.listOrigin,
                          tail: Self.listOrigin &+ UInt64(values.count))
        for (i, value) in values.enumerated() {
            value.withUnsafeBytes { stageElement(listElementKey(key, state, index: state.head &+ UInt64(i)), value: $0) }
        }
        stageListMeta(key, state)
    }

    private func listStripe(_ keys: ByteBuffer...) -> [Int] {
        keys.map { k in KeyLocks.stripe(of: k.withUnsafeReadableBytes { engine.keyToken($0) }) }
    }

    func push(_ args: [ByteBuffer], _ reply: inout ReplyWriter, left: Bool, onlyIfExists: Bool) throws(RocksDBError) {
        try modify(stripes: listStripe(args[1])) { () throws(RocksDBError) in
            var state: ListState
            switch try lookupList(args[1], now: WallClock.nowMillis()) {
            case .wrongType: return reply.error(RedisError.wrongType)
            case .missing:
                if onlyIfExists { return reply.integer(0) }
                state = newList()
            case .found(let s): state = s
            }
            pushValues(args[1], &state, args.dropFirst(2).map { $0.bytes }, left: left)
            stageListMeta(args[1], state)
            reply.integer(state.count)
        }
    }

    func pushValues(_ key: ByteBuffer, _ state: inout ListState, _ values: [[UInt8]], left: Bool) {
        for value in values {
            let index: UInt64
            if left {
                state.head &-= 1
                index = state.head
            } else {
                index = state.tail
                state.tail &+= 1
            }
            value.withUnsafeBytes { stageElement(listElementKey(key, state, index: index), value: $0) }
        }
    }

    /// Removes up to `count` elements from one end; returns them in pop order.
    func popValues(_ key: ByteBuffer, _ state: inout ListState, count: Int, left: Bool) throws(RocksDBError) -> [[UInt8]] {
        // A stored list is never empty and holds every element its head and tail span: a record
        // that says otherwise (a corrupt store) has nothing to pop.
        guard state.count > 0 else { throw .corrupt }
        let n = min(count, state.count)
        guard n > 0 else { return [] }
        var values = left ? listValues(key, state, from: 0, to: n - 1)
                          : listValues(key, state, from: state.count - n, to: state.count - 1).reversed()
        guard values.count == n else { throw .corrupt }
        for i in 0..<n {
            let index = left ? state.head &+ UInt64(i) : state.tail &- 1 &- UInt64(i)
            stageElement(listElementKey(key, state, index: index), value: nil)
        }
        if left { state.head &+= UInt64(n) } else { state.tail &-= UInt64(n) }
        values = Array(values)
        return values
    }

    func pop(_ args: [ByteBuffer], _ reply: inout ReplyWriter, left: Bool) throws(RocksDBError) {
        var count: Int?
        if args.count > 3 { return reply.error(RedisError.arity(left ? "lpop" : "rpop")) }
        if args.count == 3 {
            guard let parsed = args[2].redisInteger, parsed >= 0 else {
                return reply.error("ERR value is out of range, must be positive")
            }
            count = parsed
        }
        try modify(stripes: listStripe(args[1])) { () throws(RocksDBError) in
            guard case .found(var state) = try lookupList(args[1], now: WallClock.nowMillis()) else {
                if case .wrongType = try lookupList(args[1], now: WallClock.nowMillis()) { return reply.error(RedisError.wrongType) }
                return count == nil ? reply.null() : reply.nullArray()
            }
            let values = try popValues(args[1], &state, count: count ?? 1, left: left)
            stageListMeta(args[1], state)
            if count == nil {
                reply.bulk(bytes: values[0])
            } else {
                reply.arrayHeader(values.count)
                for value in values { reply.bulk(bytes: value) }
            }
        }
    }

    func llen(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        switch try lookupList(args[1], now: WallClock.nowMillis()) {
        case .wrongType: reply.error(RedisError.wrongType)
        case .missing: reply.integer(0)
        case .found(let state): reply.integer(state.count)
        }
    }

    /// Redis's start/stop normalisation; nil when the range is empty.
    static func listRange(start: Int, stop: Int, count: Int) -> (Int, Int)? {
        var start = start, stop = stop
        if start < 0 { start += count }
        if stop < 0 { stop += count }
        if start < 0 { start = 0 }
        if start > stop || start >= count { return nil }
        if stop >= count { stop = count - 1 }
        return (start, stop)
    }

    func lrange(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        guard let start = args[2].redisInteger, let stop = args[3].redisInteger else { return reply.error(RedisError.notInteger) }
        switch try lookupList(args[1], now: WallClock.nowMillis()) {
        case .wrongType: reply.error(RedisError.wrongType)
        case .missing: reply.arrayHeader(0)
        case .found(let state):
            guard let (from, to) = Self.listRange(start: start, stop: stop, count: state.count) else { return reply.arrayHeader(0) }
            let values = listValues(args[1], state, from: from, to: to)
            reply.arrayHeader(values.count)
            for value in values { reply.bulk(bytes: value) }
        }
    }

    func lindex(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        guard var index = args[2].redisInteger else { return reply.error(RedisError.notInteger) }
        switch try lookupList(args[1], now: WallClock.nowMillis()) {
        case .wrongType: reply.error(RedisError.wrongType)
        case .missing: reply.null()
        case .found(let state):
            if index < 0 { index += state.count }
            guard index >= 0, index < state.count else { return reply.null() }
            if let value = try readStored(.subkeys, key: listElementKey(args[1], state, index: state.head &+ UInt64(index))) {
                reply.bulk(bytes: value)
            } else {
                reply.null()
            }
        }
    }

    func lset(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        guard var index = args[2].redisInteger else { return reply.error(RedisError.notInteger) }
        try modify(stripes: listStripe(args[1])) { () throws(RocksDBError) in
            switch try lookupList(args[1], now: WallClock.nowMillis()) {
            case .wrongType: reply.error(RedisError.wrongType)
            case .missing: reply.error("ERR no such key")
            case .found(let state):
                if index < 0 { index += state.count }
                guard index >= 0, index < state.count else { return reply.error("ERR index out of range") }
                args[3].withUnsafeReadableBytes { stageElement(listElementKey(args[1], state, index: state.head &+ UInt64(index)), value: $0) }
                stageListMeta(args[1], state)
                reply.ok()
            }
        }
    }

    func ltrim(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        guard let start = args[2].redisInteger, let stop = args[3].redisInteger else { return reply.error(RedisError.notInteger) }
        try modify(stripes: listStripe(args[1])) { () throws(RocksDBError) in
            switch try lookupList(args[1], now: WallClock.nowMillis()) {
            case .wrongType: reply.error(RedisError.wrongType)
            case .missing: reply.ok()
            case .found(var state):
                if let (from, to) = Self.listRange(start: start, stop: stop, count: state.count) {
                    for i in 0..<from { stageElement(listElementKey(args[1], state, index: state.head &+ UInt64(i)), value: nil) }
                    for i in (to + 1)..<max(to + 1, state.count) {
                        stageElement(listElementKey(args[1], state, index: state.head &+ UInt64(i)), value: nil)
                    }
                    state.tail = state.head &+ UInt64(to + 1)
                    state.head &+= UInt64(from)
                } else {
                    state.tail = state.head  // everything trimmed: the list vanishes (elements are swept)
                }
                stageListMeta(args[1], state)
                reply.ok()
            }
        }
    }

    func lrem(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        guard let count = args[2].redisInteger else { return reply.error(RedisError.notInteger) }
        try modify(stripes: listStripe(args[1])) { () throws(RocksDBError) in
            switch try lookupList(args[1], now: WallClock.nowMillis()) {
            case .wrongType: reply.error(RedisError.wrongType)
            case .missing: reply.integer(0)
            case .found(var state):
                let target = args[3].bytes
                var values = allValues(args[1], state)
                var removed = 0
                let limit = count == 0 ? Int.max : abs(count)
                var indices = Array(values.indices)
                if count < 0 { indices.reverse() }
                var drop = Set<Int>()
                for i in indices where removed < limit && values[i] == target {
                    drop.insert(i)
                    removed += 1
                }
                if removed > 0 {
                    values = values.enumerated().filter { !drop.contains($0.offset) }.map(\.element)
                    rewriteList(args[1], &state, values)
                }
                reply.integer(removed)
            }
        }
    }

    func linsert(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        let before: Bool
        if args[2].isOption("BEFORE") { before = true } else if args[2].isOption("AFTER") { before = false } else {
            return reply.error(RedisError.syntax)
        }
        try modify(stripes: listStripe(args[1])) { () throws(RocksDBError) in
            switch try lookupList(args[1], now: WallClock.nowMillis()) {
            case .wrongType: reply.error(RedisError.wrongType)
            case .missing: reply.integer(0)
            case .found(var state):
                var values = allValues(args[1], state)
                guard let position = values.firstIndex(of: args[3].bytes) else { return reply.integer(-1) }
                values.insert(args[4].bytes, at: before ? position : position + 1)
                rewriteList(args[1], &state, values)
                reply.integer(values.count)
            }
        }
    }

    func lpos(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
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
        let lookup = try lookupList(args[1], now: WallClock.nowMillis())
        if case .wrongType = lookup { return reply.error(RedisError.wrongType) }
        guard case .found(let state) = lookup else { return count == nil ? reply.null() : reply.arrayHeader(0) }
        let values = allValues(args[1], state)
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

    /// LMOVE and RPOPLPUSH: pops from one end of `source`, pushes on one end of `destination`.
    @discardableResult
    func lmove(_ args: [ByteBuffer], _ reply: inout ReplyWriter, fromLeft: Bool?, toLeft: Bool?) throws(RocksDBError) -> PopOutcome {
        var from = fromLeft, to = toLeft
        if from == nil {
            guard let f = Self.side(args[3]), let t = Self.side(args[4]) else { return reply.refuse(RedisError.syntax) }
            (from, to) = (f, t)
        }
        return try modify(stripes: listStripe(args[1], args[2])) { () throws(RocksDBError) -> PopOutcome in
            let now = WallClock.nowMillis()
            guard case .found(var source) = try lookupList(args[1], now: now) else {
                if case .wrongType = try lookupList(args[1], now: now) { return reply.refuse(RedisError.wrongType) }
                reply.null()
                return .empty
            }
            var destination: ListState
            let sameKey = args[1] == args[2]
            if sameKey {
                destination = source
            } else {
                switch try lookupList(args[2], now: now) {
                case .wrongType: return reply.refuse(RedisError.wrongType)
                case .missing: destination = newList()
                case .found(let d): destination = d
                }
            }
            let value = try popValues(args[1], &source, count: 1, left: from!)[0]
            if sameKey { destination = source }
            pushValues(args[2], &destination, [value], left: to!)
            if sameKey {
                stageListMeta(args[1], destination)
            } else {
                stageListMeta(args[1], source)
                stageListMeta(args[2], destination)
            }
            reply.bulk(bytes: value)
            return .popped
        }
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
    func lmpop(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) -> PopOutcome {
        let (keys, left, count): (ArraySlice<ByteBuffer>, Bool, Int)
        switch multiPopArguments(args, first: "LEFT", second: "RIGHT") {
        case .failure(let refusal): return reply.refuse(refusal.message)
        case .success(let parsed): (keys, left, count) = parsed
        }
        return try modify(stripes: keys.map { k in KeyLocks.stripe(of: k.withUnsafeReadableBytes { engine.keyToken($0) }) }) {
            () throws(RocksDBError) -> PopOutcome in
            for key in keys {
                switch try lookupList(key, now: WallClock.nowMillis()) {
                case .wrongType: return reply.refuse(RedisError.wrongType)
                case .missing: continue
                case .found(var state):
                    let values = try popValues(key, &state, count: count, left: left)
                    stageListMeta(key, state)
                    reply.arrayHeader(2)
                    reply.bulk(key)
                    reply.arrayHeader(values.count)
                    for value in values { reply.bulk(bytes: value) }
                    return .popped
                }
            }
            reply.nullArray()
            return .empty
        }
    }
}

extension RocksDBSession {
    /// Lists: the RocksDB engine's handlers (the rows are in `Protocol/Commands/`).
    static let listCommands: [(CommandID, RocksDBHandler)] = [
        (.lpush, .run { s, a, r throws(RocksDBError) in try s.push(a, &r, left: true, onlyIfExists: false) }),
        (.rpush, .run { s, a, r throws(RocksDBError) in try s.push(a, &r, left: false, onlyIfExists: false) }),
        (.lpushx, .run { s, a, r throws(RocksDBError) in try s.push(a, &r, left: true, onlyIfExists: true) }),
        (.rpushx, .run { s, a, r throws(RocksDBError) in try s.push(a, &r, left: false, onlyIfExists: true) }),
        (.lpop, .run { s, a, r throws(RocksDBError) in try s.pop(a, &r, left: true) }),
        (.rpop, .run { s, a, r throws(RocksDBError) in try s.pop(a, &r, left: false) }),
        (.llen, .run { s, a, r throws(RocksDBError) in try s.llen(a, &r) }),
        (.lrange, .run { s, a, r throws(RocksDBError) in try s.lrange(a, &r) }),
        (.lindex, .run { s, a, r throws(RocksDBError) in try s.lindex(a, &r) }),
        (.lset, .run { s, a, r throws(RocksDBError) in try s.lset(a, &r) }),
        (.ltrim, .run { s, a, r throws(RocksDBError) in try s.ltrim(a, &r) }),
        (.lrem, .run { s, a, r throws(RocksDBError) in try s.lrem(a, &r) }),
        (.linsert, .run { s, a, r throws(RocksDBError) in try s.linsert(a, &r) }),
        (.lpos, .run { s, a, r throws(RocksDBError) in try s.lpos(a, &r) }),
        (.lmove, .run { s, a, r throws(RocksDBError) in try s.lmove(a, &r, fromLeft: nil, toLeft: nil) }),
        (.rpoplpush, .run { s, a, r throws(RocksDBError) in try s.lmove(a, &r, fromLeft: false, toLeft: true) }),
        (.lmpop, .run { s, a, r throws(RocksDBError) in try s.lmpop(a, &r) }),
        (.blpop, .blockingPop(.first(list: true, fromStart: true))),
        (.brpop, .blockingPop(.first(list: true, fromStart: false))),
        (.blmpop, .blockingPop(.multi(list: true))),
        (.blmove, .blockingPop(.move(rpoplpush: false))),
        (.brpoplpush, .blockingPop(.move(rpoplpush: true))),
    ]
}
