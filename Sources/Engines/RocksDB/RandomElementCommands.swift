import NIOCore
import Protocol

/// ZRANDMEMBER and HRANDFIELD: which positions to pick and the reply; the stores walk to them
/// (`HashStore.fields(_:at:values:)`, `ZSetStore.entries(_:at:)`).
extension RocksDBSession {
    /// Random members (fields), with scores (values) on request. A positive count gives distinct
    /// elements, a negative one allows repeats.
    func randomElements(_ args: [ByteBuffer], _ reply: inout ReplyWriter, type: ValueType) throws(StoreError) {
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
        // The store picks the positions once it knows the size, and walks to them.
        var chose: [Int] = []
        var repeatsFromAll = false
        let choose = { (total: Int) -> [Int] in
            switch count {
            case nil: chose = [Int.random(in: 0..<total)]
            case let count? where count >= total:
                // The whole collection. Redis 7.0 walks a sorted set from its highest score down
                // (`zuiNext` starts at the tail), so that order is deterministic there; a hash's
                // order is its insertion or table order, which Dynamis does not keep.
                chose = type == .zset ? Array((0..<total).reversed()) : Array(0..<total).shuffled()
            case let count? where count >= 0: chose = RocksDBStorage.distinctSlots(count, below: UInt64(total)).map { Int($0) }
            case let count? where -count <= total: chose = (0..<(-count)).map { _ in Int.random(in: 0..<total) }
            case _?:
                // More repeats than elements: every element is read once, the picks stream from them.
                repeatsFromAll = true
                chose = Array(0..<total)
            }
            return chose
        }
        let found: [Int: (element: [UInt8], extra: [UInt8])]?
        if type == .zset {
            found = try zsets.entries(args[1], at: choose)?.mapValues { entry in
                (entry.member, withExtra ? Array(Score.text(entry.score).utf8) : [])
            }
        } else {
            found = try hashes.fields(args[1], at: choose, values: withExtra)
        }
        guard let picked = found else { return count == nil ? reply.null() : reply.arrayHeader(0) }
        // In RESP3 each (element, score or value) is a two-element array, and scores are doubles.
        let pairs = withExtra && reply.resp3
        func write(_ item: (element: [UInt8], extra: [UInt8]), _ reply: inout ReplyWriter) {
            if pairs { reply.arrayHeader(2) }
            reply.bulk(bytes: item.element)
            guard withExtra else { return }
            if type == .zset { reply.double(String(decoding: item.extra, as: UTF8.self)) } else { reply.bulk(bytes: item.extra) }
        }
        if repeatsFromAll, let count {
            let all = Array(picked.values)
            guard !all.isEmpty else { return reply.arrayHeader(0) }
            return reply.repeatedPicks(-count, perPick: withExtra && !pairs ? 2 : 1) { reply in
                write(all.randomElement()!, &reply)
            }
        }
        let positions = chose
        if count == nil {
            guard let item = picked[positions[0]] else { return reply.null() }
            return reply.bulk(bytes: item.element)
        }
        // A position past the end means the collection shrank under the walk: it is left out.
        let chosen = positions.compactMap { picked[$0] }
        reply.arrayHeader(withExtra && !pairs ? chosen.count * 2 : chosen.count)
        for item in chosen { write(item, &reply) }
    }
}
