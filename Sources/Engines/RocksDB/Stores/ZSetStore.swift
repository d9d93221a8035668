import NIOCore
import Protocol

/// Sorted sets over the storage layer: members and scores in, entries out, no reply code.
/// Kvrocks-style: each member has two records, `member → score` in `subkeys` and
/// `score ‖ member` in `zscore` (sign-flipped big-endian doubles, so byte order is score order,
/// ties by member bytes as in Redis). Ranges read the score index in order; ranks cost O(rank)
/// walks, as in Kvrocks, from both ends at once and without copying entries. Writes hold their
/// keys' lock stripes; refusals are thrown before anything is staged. `SortedSetCommands.swift`,
/// `SortedSetOperations.swift` and the blocking pops parse arguments, call this and write the
/// replies.
struct ZSetStore {
    /// The loop's storage layer (`RocksDBStorage`: batches, group commit, locks, encoding).
    /// Unowned and unchecked: a store is made for one call on its storage (`storage.hashes`)
    /// and never outlives it, so the hot path pays no reference counting for it.
    unowned(unsafe) let storage: RocksDBStorage
    typealias ZEntry = RocksDBStorage.ZEntry

    /// ZADD's conditions: NX, XX, GT, LT, and INCR (the score is an increment).
    struct AddOptions {
        var nx = false, xx = false, gt = false, lt = false, incr = false
    }

    /// What ZADD did: members added, members whose score changed, and the last score written
    /// (INCR's reply; nil when a condition stopped it).
    struct AddResult: Equatable {
        var added = 0, changed = 0
        var score: Double?
    }

    /// Adds members or updates their scores under `options`. Throws `.scoreNaN` when an
    /// increment would make a score NaN.
    func add(_ key: ByteBuffer, _ pairs: [(score: Double, member: [UInt8])], _ options: AddOptions) throws(StoreError) -> AddResult {
        try storage.modifying(key) { () throws(StoreError) in
            var generation: UInt64, count: UInt64, expireAt: Int64 = 0
            var hints: ZsetHints = (nil, nil)
            if let (meta, g, c, stored) = try find(key) {
                (generation, count, expireAt) = (g, c, meta.expireAt)
                hints = Metadata.zsetHints(stored)
            } else {
                if options.xx { return AddResult() }
                (generation, count) = (storage.engine.nextGeneration(), 0)
            }
            var result = AddResult()
            var staged: [[UInt8]: Double] = [:]  // members written by this call
            // Every NaN is found before anything is staged: a refusal writes nothing.
            var writes: [(member: [UInt8], score: Double, old: Double?)] = []
            for (score, member) in pairs {
                var current = staged[member]
                if current == nil { current = try storage.storing { () throws(RocksDBError) in try storage.zmemberScore(key, generation: generation, member: member) } }
                if let current {
                    if options.nx { continue }
                    var new = score
                    if options.incr {
                        new = current + score
                        if new.isNaN { throw .scoreNaN }
                    }
                    if (options.gt && new <= current) || (options.lt && new >= current) { continue }
                    result.score = new
                    if new != current {
                        writes.append((member, new, current))
                        staged[member] = new
                        result.changed += 1
                    }
                } else {
                    if options.xx { continue }
                    writes.append((member, score, nil))
                    staged[member] = score
                    result.score = score
                    result.added += 1
                }
            }
            for write in writes { storage.stageZMember(key, generation: generation, member: write.member, score: write.score, old: write.old) }
            if result.added > 0 || result.changed > 0 {
                // Keep the pop hints true: widen them to every entry this call wrote.
                for (member, score) in staged where hints.floor != nil || hints.ceiling != nil {
                    let entry = RocksDBStorage.zindexSuffix(ZEntry(member: member, score: score))
                    if let low = hints.floor, entry.lexicographicallyPrecedes(low) { hints.floor = entry }
                    if let high = hints.ceiling, high.lexicographicallyPrecedes(entry) { hints.ceiling = entry }
                }
                storage.stageCollectionMeta(.zset, key, expireAt: expireAt, generation: generation,
                                            count: count + UInt64(result.added), hints: hints)
            }
            return result
        }
    }

    /// Removes `members` (the set goes with its last one); returns how many were there.
    func remove(_ key: ByteBuffer, members: ArraySlice<ByteBuffer>) throws(StoreError) -> Int {
        try storage.modifying(key) { () throws(StoreError) in
            guard let (meta, generation, count, _) = try find(key) else { return 0 }
            return try storage.storing { () throws(RocksDBError) in
                var removed = Set<[UInt8]>()
                for member in members.lazy.map(\.bytes) where !removed.contains(member) {
                    if let score = try storage.zmemberScore(key, generation: generation, member: member) {
                        storage.stageZRemove(key, generation: generation, entry: ZEntry(member: member, score: score))
                        removed.insert(member)
                    }
                }
                if !removed.isEmpty {
                    storage.stageCollectionMeta(.zset, key, expireAt: meta.expireAt, generation: generation, count: count - UInt64(removed.count))
                }
                return removed.count
            }
        }
    }

    /// `member`'s score; nil when it or the set is missing.
    func score(_ key: ByteBuffer, member: ByteBuffer) throws(StoreError) -> Double? {
        guard let (_, generation, _, _) = try find(key) else { return nil }
        return try storage.storing { () throws(RocksDBError) in try storage.zmemberScore(key, generation: generation, member: member.bytes) }
    }

    /// The scores of `members`, in their order (nil for a missing one).
    func scores(_ key: ByteBuffer, members: ArraySlice<ByteBuffer>) throws(StoreError) -> [Double?] {
        guard let (_, generation, _, _) = try find(key) else { return Array(repeating: nil, count: members.count) }
        return try storage.storing { () throws(RocksDBError) in
            var scores: [Double?] = []
            scores.reserveCapacity(members.count)
            for member in members { scores.append(try storage.zmemberScore(key, generation: generation, member: member.bytes)) }
            return scores
        }
    }

    /// The number of members (0 when missing): the count kept in the metadata, O(1).
    func count(_ key: ByteBuffer) throws(StoreError) -> Int {
        guard let (_, _, count, _) = try find(key) else { return 0 }
        return Int(count)
    }

    /// The member's rank from the lowest score (or the highest, `reverse`); nil when missing.
    func rank(_ key: ByteBuffer, member: ByteBuffer, reverse: Bool) throws(StoreError) -> Int? {
        // Under the key's stripe: the rank comes from the element count and a walk of the index.
        try storage.modifying(key) { () throws(StoreError) in
            guard let (_, generation, count, stored) = try find(key) else { return nil }
            let member = member.bytes
            guard let score = try storage.storing({ () throws(RocksDBError) in try storage.zmemberScore(key, generation: generation, member: member) }) else {
                return nil
            }
            let target = storage.zscoreIndexKey(key, generation: generation, score: score, member: member)
            let rank = storage.zforwardRank(key, generation: generation, hints: Metadata.zsetHints(stored), total: Int(count), of: target)
            return reverse ? Int(count) - 1 - rank : rank
        }
    }

    /// The entries a range selects, in reply order (`start`/`stop`: min/max for score and lex
    /// ranges, already validated); empty when the set is missing.
    func range(_ key: ByteBuffer, _ kind: RocksDBStorage.ZRangeKind, reverse: Bool, start: [UInt8], stop: [UInt8],
               limit: (offset: Int, count: Int)? = nil) throws(StoreError) -> [ZEntry] {
        guard let (_, generation, count, stored) = try find(key) else { return [] }
        return storage.zselect(key, generation: generation, hints: Metadata.zsetHints(stored), count: Int(count), kind: kind, reverse: reverse,
                               start: start, stop: stop, limit: limit)
    }

    /// Removes the entries a range selects; returns how many.
    func removeRange(_ key: ByteBuffer, _ kind: RocksDBStorage.ZRangeKind, start: [UInt8], stop: [UInt8]) throws(StoreError) -> Int {
        try storage.modifying(key) { () throws(StoreError) in
            guard let (meta, generation, count, stored) = try find(key) else { return 0 }
            let selected = storage.zselect(key, generation: generation, hints: Metadata.zsetHints(stored), count: Int(count), kind: kind, reverse: false,
                                           start: start, stop: stop, limit: nil)
            for entry in selected { storage.stageZRemove(key, generation: generation, entry: entry) }
            if !selected.isEmpty {
                storage.stageCollectionMeta(.zset, key, expireAt: meta.expireAt, generation: generation, count: count - UInt64(selected.count))
            }
            return selected.count
        }
    }

    /// Removes and returns up to `count` entries from the lowest scores (or the highest, `max`),
    /// starting at the set's pop hint; nil when the set is missing.
    func pop(_ key: ByteBuffer, count: Int, max: Bool) throws(StoreError) -> [ZEntry]? {
        try storage.modifying(key) { () throws(StoreError) in try popLocked(key, count: count, max: max) }
    }

    /// The first of `keys` that holds a sorted set, and up to `count` entries popped from it
    /// (ZMPOP); nil when none does. A key of another type before it is refused.
    func popFirst(_ keys: ArraySlice<ByteBuffer>, count: Int, max: Bool) throws(StoreError) -> (key: ByteBuffer, entries: [ZEntry])? {
        try storage.modifying(keys) { () throws(StoreError) in
            for key in keys {
                if let entries = try popLocked(key, count: count, max: max) { return (key, entries) }
            }
            return nil
        }
    }

    /// Every entry in (score, member) order; empty when the set is missing.
    func entries(_ key: ByteBuffer) throws(StoreError) -> [ZEntry] {
        guard let (_, generation, _, _) = try find(key) else { return [] }
        return storage.zentries(key, generation: generation)
    }

    /// Replaces whatever `destination` holds with the sorted set `body` computes, holding the
    /// stripes of `destination` and `sources` (what `body` reads) throughout, so no other
    /// client's write lands between the reads and the replacement (ZUNIONSTORE, ZRANGESTORE).
    /// `body` returns nil to store nothing; returns the stored set's size, or nil.
    func replace(_ destination: ByteBuffer, readingAlso sources: some Collection<ByteBuffer>,
                 _ body: () throws(StoreError) -> [ZEntry]?) throws(StoreError) -> Int? {
        try storage.modifying(CollectionOfOne(destination) + Array(sources)) { () throws(StoreError) in
            guard let entries = try body() else { return nil }
            storage.stageNewZSet(destination, entries)
            return entries.count
        }
    }

    /// Replaces whatever `key` holds with `entries` (RENAME, COPY, RESTORE; the caller holds
    /// the key's stripe).
    func replace(_ key: ByteBuffer, with entries: [ZEntry], expireAt: Int64) {
        storage.stageNewZSet(key, entries, expireAt: expireAt)
    }

    /// The entries at the positions `choose` picks from the set's size, in score order; nil
    /// when the set is missing. The walk starts at the pop hint, steps over the entries not
    /// picked without copying them, and stops at the last position wanted.
    func entries(_ key: ByteBuffer, at choose: (Int) -> [Int]) throws(StoreError) -> [Int: ZEntry]? {
        guard let (_, generation, count, stored) = try find(key) else { return nil }
        let positions = choose(Int(count))
        let (iterator, prefix) = storage.zindex(key, generation: generation, hints: Metadata.zsetHints(stored), reverse: false)
        return iterator.pick(positions, under: prefix) { stored, _ in
            guard stored.count >= prefix.count + 8 else { return nil }
            return ZEntry(member: Array(stored[(prefix.count + 8)...]), score: stored.withUnsafeBytes { Score.decode($0, at: prefix.count) })
        }
    }

    /// A sorted set's score index, for a command that reads it several times (GEO searches
    /// walk up to nine cells); valid for the command that opened it.
    struct ScoreIndex {
        unowned(unsafe) let storage: RocksDBStorage  // lives for one command, as the store
        let key: ByteBuffer
        let generation: UInt64

        /// `member`'s score; nil when it is not in the set.
        func score(of member: ByteBuffer) throws(StoreError) -> Double? {
            try storage.storing { () throws(RocksDBError) in try storage.zmemberScore(key, generation: generation, member: member.bytes) }
        }

        /// Walks entries in score order from the first scoring at least `min`; `visit` returns
        /// false to stop.
        func walk(fromScore min: Double, _ visit: (ZEntry) -> Bool) {
            var from = storage.elementPrefix(key, generation: generation)
            Score.encode(min, into: &from)
            storage.zwalk(key, generation: generation, hints: (nil, nil), reverse: false, from: from, visit)
        }
    }

    /// The set's score index; nil when the set is missing.
    func index(_ key: ByteBuffer) throws(StoreError) -> ScoreIndex? {
        guard let (_, generation, _, _) = try find(key) else { return nil }
        return ScoreIndex(storage: storage, key: key, generation: generation)
    }

    // MARK: - Lookup

    /// The live set's metadata, generation and member count; nil when missing.
    private func find(_ key: ByteBuffer) throws(StoreError) -> (meta: Metadata, generation: UInt64, count: UInt64, stored: [UInt8])? {
        try storage.liveCollection(.zset, key)
    }

    private func popLocked(_ key: ByteBuffer, count: Int, max: Bool) throws(StoreError) -> [ZEntry]? {
        guard let (meta, generation, total, stored) = try find(key) else { return nil }
        let hints = Metadata.zsetHints(stored)
        var popped: [ZEntry] = []
        if count > 0 {
            storage.zwalk(key, generation: generation, hints: hints, reverse: max) { entry in  // from the pop hint
                popped.append(entry)
                return popped.count < count
            }
        }
        for entry in popped { storage.stageZRemove(key, generation: generation, entry: entry) }
        if let last = popped.last {
            storage.stageZsetAfterPop(key, meta: meta, generation: generation, hints: hints, remaining: total - UInt64(popped.count),
                                      last: last, max: max)
        }
        return popped
    }
}

extension RocksDBStorage {
    /// This storage's sorted sets.
    var zsets: ZSetStore { ZSetStore(storage: self) }
}

/// Sorted-set storage under `ZSetStore`: both records of a member, walks of the score index
/// from either end or a bound, ranks, range selection and pop hints (also read by GEO commands,
/// whose values are sorted sets).
extension RocksDBStorage {
    struct ZEntry {
        var member: [UInt8]
        var score: Double
    }

    enum ZRangeKind { case rank, score, lex }

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
    /// of the set's `hints` is kept.
    func stageZsetAfterPop(_ key: ByteBuffer, meta: Metadata, generation: UInt64, hints: ZsetHints, remaining: UInt64, last: ZEntry,
                           max: Bool) {
        var hints = hints
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

    /// Stages `entries` as the whole sorted set at `key` under a new generation, replacing
    /// whatever the key held (O(1) for the old value; the sweep reclaims its elements).
    func stageNewZSet(_ key: ByteBuffer, _ entries: [ZEntry], expireAt: Int64 = 0) {
        let generation = engine.nextGeneration()
        for entry in entries { stageZMember(key, generation: generation, member: entry.member, score: entry.score, old: nil) }
        stageCollectionMeta(.zset, key, expireAt: expireAt, generation: generation, count: UInt64(entries.count))
    }

    /// Walks the score index of one sorted set, forward from `from` (default: its first entry)
    /// or backward from just before `before` (default: past its last entry), first stepping
    /// over `skip` entries without reading them. `visit` returns false to stop. Only the entries
    /// visited are read.
    func zwalk(_ key: ByteBuffer, generation: UInt64, hints: @autoclosure () -> ZsetHints, reverse: Bool, from: [UInt8]? = nil, before: [UInt8]? = nil,
               skip: Int = 0, _ visit: (ZEntry) -> Bool) {
        let (iterator, prefix) = zindex(key, generation: generation, hints: hints(), reverse: reverse, from: from, before: before)
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
    /// set's pop `hints` when it has any: the walks of ranges, ranks and random picks. The hints
    /// are parsed from the set's record only when the walk starts at an end (a score or lex
    /// bound positions it without them).
    func zindex(_ key: ByteBuffer, generation: UInt64, hints: @autoclosure () -> ZsetHints, reverse: Bool, from: [UInt8]? = nil, before: [UInt8]? = nil)
        -> (RocksIterator, [UInt8]) {
        let prefix = elementPrefix(key, generation: generation)
        var from = from, before = before
        // A walk from either end starts at the set's pop hint, past the deletion markers of
        // earlier pops.
        if reverse ? before == nil : from == nil {
            let hints = hints()
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
    func zforwardRank(_ key: ByteBuffer, generation: UInt64, hints: ZsetHints, total: Int, of target: [UInt8]) -> Int {
        let (forward, prefix) = zindex(key, generation: generation, hints: hints, reverse: false, from: nil, before: nil)
        let (backward, _) = zindex(key, generation: generation, hints: hints, reverse: true, from: nil, before: nil)
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

    /// The entries a range selects, in reply order, reading only what the range covers (plus
    /// the skipped prefix for rank ranges and LIMIT offsets). `start`/`stop` are min/max for
    /// score and lex ranges, already validated.
    func zselect(_ key: ByteBuffer, generation: UInt64, hints: @autoclosure () -> ZsetHints, count: Int, kind: ZRangeKind, reverse: Bool,
                 start: [UInt8], stop: [UInt8], limit: (offset: Int, count: Int)?) -> [ZEntry] {
        var out: [ZEntry] = []
        switch kind {
        case .rank:
            guard let (from, to) = Self.listRange(start: RedisInteger.parse(start)!, stop: RedisInteger.parse(stop)!, count: count) else {
                return []
            }
            var position = from
            zwalk(key, generation: generation, hints: hints(), reverse: reverse, skip: from) { entry in
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
            zwalk(key, generation: generation, hints: hints(), reverse: reverse, from: from, before: before) { entry in
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

}
