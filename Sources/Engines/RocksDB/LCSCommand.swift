import NIOCore
import Protocol

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]: the longest common subsequence
/// of two strings, as Redis 7.0 computes and reports it (the classic dynamic-programming table,
/// walked back from the end, matches reported from the last to the first).
extension RocksDBSession {
    func lcs(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        // Redis reads both keys before looking at the options.
        var values: [ArraySlice<UInt8>] = []
        for key in args[1...2] {
            do throws(StoreError) {
                values.append(try strings.bytes(key) ?? [])
            } catch .wrongType {
                return reply.error("ERR The specified keys must contain string values")
            }
        }
        var getLength = false, getIndexes = false, withMatchLength = false
        var minMatchLength = 0
        var j = 3
        while j < args.count {
            if args[j].isOption("IDX") { getIndexes = true }
            else if args[j].isOption("LEN") { getLength = true }
            else if args[j].isOption("WITHMATCHLEN") { withMatchLength = true }
            else if args[j].isOption("MINMATCHLEN"), j + 1 < args.count {
                guard let value = args[j + 1].redisInteger else { return reply.error(RedisError.notInteger) }
                minMatchLength = max(0, value)
                j += 1
            } else {
                return reply.error(RedisError.syntax)
            }
            j += 1
        }
        if getLength && getIndexes { return reply.error("ERR If you want both the length and indexes, please just use IDX.") }
        let a = Array(values[0]), b = Array(values[1])
        let width = b.count + 1
        guard (a.count + 1) * width * 4 <= maxStringLength else {
            return reply.error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
        }
        // table[i * width + j]: the LCS length of a[..<i] and b[..<j].
        var table = [UInt32](repeating: 0, count: (a.count + 1) * width)
        for i in 1...max(a.count, 1) where i <= a.count {
            for j in 1...max(b.count, 1) where j <= b.count {
                table[i * width + j] = a[i - 1] == b[j - 1]
                    ? table[(i - 1) * width + j - 1] + 1
                    : max(table[(i - 1) * width + j], table[i * width + j - 1])
            }
        }
        let length = Int(table[a.count * width + b.count])
        if getLength { return reply.integer(length) }
        // Walk back from the end, collecting the subsequence and, for IDX, the matching ranges.
        var result = [UInt8](repeating: 0, count: length)
        var matches: [(a: (Int, Int), b: (Int, Int), length: Int)] = []
        var remaining = length
        var i = a.count, k = b.count
        var rangeStart: (a: Int, b: Int)?, rangeEnd = (a: 0, b: 0)
        while i > 0 && k > 0 {
            var emit = false
            if a[i - 1] == b[k - 1] {
                result[remaining - 1] = a[i - 1]
                if let start = rangeStart {
                    if start.a == i && start.b == k { rangeStart = (i - 1, k - 1) } else { emit = true }
                } else {
                    rangeStart = (i - 1, k - 1)
                    rangeEnd = (i - 1, k - 1)
                }
                if let start = rangeStart, start.a == 0 || start.b == 0 { emit = true }
                remaining -= 1
                i -= 1
                k -= 1
            } else {
                if table[(i - 1) * width + k] > table[i * width + k - 1] { i -= 1 } else { k -= 1 }
                if rangeStart != nil { emit = true }
            }
            if emit, let start = rangeStart {
                let matchLength = rangeEnd.a - start.a + 1
                if minMatchLength == 0 || matchLength >= minMatchLength {
                    matches.append(((start.a, rangeEnd.a), (start.b, rangeEnd.b), matchLength))
                }
                rangeStart = nil
            }
        }
        guard getIndexes else { return reply.bulk(bytes: result) }
        reply.mapHeader(2)
        reply.bulk("matches")
        reply.arrayHeader(matches.count)
        for match in matches {
            reply.arrayHeader(withMatchLength ? 3 : 2)
            reply.arrayHeader(2)
            reply.integer(match.a.0)
            reply.integer(match.a.1)
            reply.arrayHeader(2)
            reply.integer(match.b.0)
            reply.integer(match.b.1)
            if withMatchLength { reply.integer(match.length) }
        }
        reply.bulk("len")
        reply.integer(length)
    }
}
