import NIOCore
import Protocol

/// ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD, as Redis 7.0's
/// zunionInterDiffGenericCommand: plain sets count as sorted sets with score 1, input types are
/// checked before the options, and NaN from weighted infinities becomes 0.
extension RocksDBSession {
    enum ZSetOperation { case union, inter, diff }
    enum Aggregate { case sum, min, max }

    /// The members (and scores) of a sorted set, or of a plain set with score 1: each store
    /// reads its own type, and a key that is neither is refused.
    private func zsource(_ key: ByteBuffer) throws(StoreError) -> [ZEntry] {
        do {
            return try zsets.entries(key)
        } catch .wrongType {
            return try sets.members(key).map { ZEntry(member: $0, score: 1) }
        }
    }

    /// `destination` is set for the STORE forms; `cardinality` for ZINTERCARD.
    func zsetOperation(_ args: [ByteBuffer], _ reply: inout ReplyWriter, _ operation: ZSetOperation,
                       store: Bool, cardinality: Bool = false) throws(StoreError) {
        let numkeysIndex = store ? 2 : 1
        guard let setCount = args[numkeysIndex].redisInteger else { return reply.error(RedisError.notInteger) }
        guard setCount >= 1 else {
            return reply.error("ERR at least 1 input key is needed for '\(args[0].text.lowercased())' command")
        }
        guard setCount <= args.count - numkeysIndex - 1 else { return reply.error(RedisError.syntax) }
        let keys = args[(numkeysIndex + 1)...(numkeysIndex + setCount)]
        if store {
            // The STORE forms read and write under every involved key's lock, so no other
            // client's write lands between reading the sources and replacing the destination.
            let stored = try zsets.replace(args[1], readingAlso: keys) { () throws(StoreError) -> [ZEntry]? in
                try zsetOperationBody(args, &reply, operation, keys: keys, setCount: setCount, numkeysIndex: numkeysIndex,
                                      store: true, cardinality: false)?.entries
            }
            if let stored { reply.integer(stored) }
        } else if let (result, withScores) = try zsetOperationBody(args, &reply, operation, keys: keys, setCount: setCount,
                                                                   numkeysIndex: numkeysIndex, store: false, cardinality: cardinality) {
            writeEntries(result, withScores: withScores, &reply)
        }
    }

    /// Reads the sources (their types are checked before the options, as Redis does), parses
    /// the options and combines: the entries and whether WITHSCORES was given; nil with the
    /// reply written (an option's error, or ZINTERCARD's count).
    private func zsetOperationBody(_ args: [ByteBuffer], _ reply: inout ReplyWriter, _ operation: ZSetOperation,
                                   keys: ArraySlice<ByteBuffer>, setCount: Int, numkeysIndex: Int, store: Bool,
                                   cardinality: Bool) throws(StoreError) -> (entries: [ZEntry], withScores: Bool)? {
        var sources: [[ZEntry]] = []
        for key in keys { sources.append(try zsource(key)) }
        var weights = [Double](repeating: 1, count: setCount)
        var aggregate = Aggregate.sum
        var withScores = false
        var limit = 0
        var j = numkeysIndex + setCount + 1
        while j < args.count {
            let remaining = args.count - j
            let word = args[j]
            if operation != .diff, !cardinality, remaining >= setCount + 1, word.isOption("WEIGHTS") {
                for i in 0..<setCount {
                    guard let weight = Score.parseStrict(args[j + 1 + i].bytes) else { return reply.refusing("ERR weight value is not a float") }
                    weights[i] = weight
                }
                j += setCount + 1
            } else if operation != .diff, !cardinality, remaining >= 2, word.isOption("AGGREGATE") {
                let kind = args[j + 1]
                if kind.isOption("SUM") { aggregate = .sum } else if kind.isOption("MIN") { aggregate = .min }
                else if kind.isOption("MAX") { aggregate = .max } else { return reply.refusing(RedisError.syntax) }
                j += 2
            } else if !store, !cardinality, word.isOption("WITHSCORES") {
                withScores = true
                j += 1
            } else if cardinality, remaining >= 2, word.isOption("LIMIT") {
                guard let value = args[j + 1].redisInteger, value >= 0 else { return reply.refusing("ERR LIMIT can't be negative") }
                limit = value
                j += 2
            } else {
                return reply.refusing(RedisError.syntax)
            }
        }
        let result = Self.combine(sources, weights: weights, aggregate: aggregate, operation)
        if cardinality {
            reply.integer(limit > 0 ? min(limit, result.count) : result.count)
            return nil
        }
        return (result, withScores)
    }

    static func combine(_ sources: [[ZEntry]], weights: [Double], aggregate: Aggregate, _ operation: ZSetOperation) -> [ZEntry] {
        func weighted(_ score: Double, _ weight: Double) -> Double {
            let value = score * weight
            return value.isNaN ? 0 : value
        }
        func merge(_ a: Double, _ b: Double) -> Double {
            switch aggregate {
            case .sum:
                let sum = a + b
                return sum.isNaN ? 0 : sum
            case .min: return Swift.min(a, b)
            case .max: return Swift.max(a, b)
            }
        }
        var scores: [[UInt8]: Double] = [:]
        switch operation {
        case .union:
            for (i, source) in sources.enumerated() {
                for entry in source {
                    let value = weighted(entry.score, weights[i])
                    scores[entry.member] = scores[entry.member].map { merge($0, value) } ?? value
                }
            }
        case .inter:
            guard !sources.contains(where: \.isEmpty) else { return [] }
            for entry in sources[0] { scores[entry.member] = weighted(entry.score, weights[0]) }
            for (i, source) in sources.enumerated().dropFirst() {
                var next: [[UInt8]: Double] = [:]
                for entry in source {
                    if let current = scores[entry.member] { next[entry.member] = merge(current, weighted(entry.score, weights[i])) }
                }
                scores = next
            }
        case .diff:
            for entry in sources[0] { scores[entry.member] = entry.score }
            for source in sources.dropFirst() { for entry in source { scores[entry.member] = nil } }
        }
        return scores.map { ZEntry(member: $0.key, score: $0.value) }.sorted {
            $0.score != $1.score ? $0.score < $1.score : $0.member.lexicographicallyPrecedes($1.member)
        }
    }
}
