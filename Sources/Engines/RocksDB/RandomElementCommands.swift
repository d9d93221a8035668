import NIOCore
import Protocol

/// ZRANDMEMBER and HRANDFIELD. Hashes and sorted sets keep no slot index (sets do, see
/// `SetSlotIndex.swift`: an index would cost every HSET and ZADD a write), so a pick walks the
/// collection in order. The walk steps over elements without copying them, copies and formats
/// only the picked ones, and stops at the last position wanted.
extension RocksDBSession {
    /// Random members (fields), with scores (values) on request. A positive count gives distinct
    /// elements, a negative one allows repeats.
    func randomElements(_ args: [ByteBuffer], _ reply: inout ReplyWriter, type: ValueType) throws(RocksDBError) {
        var count: Int?
        var withExtra = false
        if args.count >= 3 {
            guard let parsed = args[2].redisInteger else { return reply.error(RedisError.notInteger) }
            guard parsed != Int.min else { return reply.error(RepeatedPicks.outOfRange) }
            count = parsed
        }
        if args.count == 4 {
            guard args[3].isOption(type == .zset ? "WITHSCORES" : "WITHVALUES") else { return reply.error(RedisError.syntax) }
            withExtra = true
        } else if args.count > 4 {
            return reply.error(RedisError.syntax)
        }
        let generation: UInt64, total: Int
        switch try lookupCollection(type, args[1], now: WallClock.nowMillis()) {
        case .wrongType: return reply.error(RedisError.wrongType)
        case .missing: return count == nil ? reply.null() : reply.arrayHeader(0)
        case .found(_, let g, let c): (generation, total) = (g, Int(c))
        }
        // In RESP3 each (element, score or value) is a two-element array, and scores are doubles.
        let pairs = withExtra && reply.resp3
        func write(_ item: (element: [UInt8], extra: [UInt8]), _ reply: inout ReplyWriter) {
            if pairs { reply.arrayHeader(2) }
            reply.bulk(bytes: item.element)
            guard withExtra else { return }
            if type == .zset { reply.double(String(decoding: item.extra, as: UTF8.self)) } else { reply.bulk(bytes: item.extra) }
        }
        let positions: [Int]
        switch count {
        case nil: positions = [Int.random(in: 0..<total)]
        case let count? where count >= total:
            // The whole collection. Redis 7.0 walks a sorted set from its highest score down
            // (`zuiNext` starts at the tail), so that order is deterministic there; a hash's
            // order is its insertion or table order, which Dynamis does not keep.
            positions = type == .zset ? Array((0..<total).reversed()) : Array(0..<total).shuffled()
        case let count? where count >= 0: positions = Self.distinctSlots(count, below: UInt64(total)).map { Int($0) }
        case let count? where -count <= total: positions = (0..<(-count)).map { _ in Int.random(in: 0..<total) }
        case let count?:
            // More repeats than elements: every element is read once, the picks stream from them.
            let all = pickedElements(args[1], type: type, generation: generation, at: Array(0..<total), formatExtra: withExtra)
            guard !all.isEmpty else { return reply.arrayHeader(0) }
            return reply.repeatedPicks(-count, perPick: withExtra && !pairs ? 2 : 1) { reply in
                write(all.randomElement()!.value, &reply)
            }
        }
        let picked = pickedElements(args[1], type: type, generation: generation, at: positions, formatExtra: withExtra)
        if count == nil {
            guard let item = picked[positions[0]] else { return reply.null() }
            return reply.bulk(bytes: item.element)
        }
        // A position past the end means the collection shrank under the walk: it is left out.
        let chosen = positions.compactMap { picked[$0] }
        reply.arrayHeader(withExtra && !pairs ? chosen.count * 2 : chosen.count)
        for item in chosen { write(item, &reply) }
    }

    /// The elements at `positions` (in element order: score order for sorted sets, field byte
    /// order for hashes), each with its score text or value when `formatExtra`.
    private func pickedElements(_ key: ByteBuffer, type: ValueType, generation: UInt64, at positions: [Int],
                                formatExtra: Bool) -> [Int: (element: [UInt8], extra: [UInt8])] {
        let prefix: [UInt8], iterator: RocksIterator
        if type == .zset {
            // From the pop hint, past the deletion markers of earlier pops.
            (iterator, prefix) = zindex(key, generation: generation, reverse: false)
        } else {
            prefix = elementPrefix(key, generation: generation)
            iterator = RocksIterator(db, .subkeys, scan: false, through: transaction)
            iterator.seek(prefix)
        }
        var at = 0
        var out: [Int: (element: [UInt8], extra: [UInt8])] = [:]
        out.reserveCapacity(positions.count)
        for target in Set(positions).sorted() {
            while at < target, iterator.isValid {
                iterator.next()
                at += 1
            }
            guard iterator.isValid else { break }
            let stored = iterator.key
            guard stored.starts(with: prefix) else { break }
            if type == .zset {
                guard stored.count >= prefix.count + 8 else { break }
                let score = formatExtra ? Array(Score.text(stored.withUnsafeBytes { Score.decode($0, at: prefix.count) }).utf8) : []
                out[target] = (Array(stored[(prefix.count + 8)...]), score)
            } else {
                out[target] = (Array(stored[prefix.count...]), formatExtra ? Array(iterator.value) : [])
            }
        }
        return out
    }
}
