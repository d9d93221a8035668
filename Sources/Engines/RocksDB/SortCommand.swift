#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import Protocol

/// SORT and SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
/// [STORE destination], with Redis 7.0's rules: numeric sort parses with strtod (ties broken by
/// the elements' bytes), ALPHA compares bytes, a BY pattern without `*` skips sorting, `#` in
/// GET is the element, `key*->field` reads a hash field, and missing lookups are nil (or an
/// empty string when stored).
extension RocksDBSession {
    private struct SortOptions {
        var by: [UInt8]?
        var gets: [[UInt8]] = []
        var offset = 0, count = -1
        var desc = false, alpha = false
        var store: ByteBuffer?
        var dontSort = false
    }

    func sort(_ args: [ByteBuffer], _ reply: inout ReplyWriter, readOnly: Bool) throws(RocksDBError) {
        var options = SortOptions()
        var j = 2
        while j < args.count {
            let left = args.count - j - 1
            if args[j].isOption("ASC") {
                options.desc = false
            } else if args[j].isOption("DESC") {
                options.desc = true
            } else if args[j].isOption("ALPHA") {
                options.alpha = true
            } else if args[j].isOption("LIMIT"), left >= 2 {
                guard let offset = args[j + 1].redisInteger, let count = args[j + 2].redisInteger else {
                    return reply.error(RedisError.notInteger)
                }
                (options.offset, options.count) = (offset, count)
                j += 2
            } else if args[j].isOption("STORE"), left >= 1, !readOnly {
                options.store = args[j + 1]
                j += 1
            } else if args[j].isOption("BY"), left >= 1 {
                let pattern = args[j + 1].bytes
                options.by = pattern
                if !pattern.contains(UInt8(ascii: "*")) { options.dontSort = true }
                j += 1
            } else if args[j].isOption("GET"), left >= 1 {
                options.gets.append(args[j + 1].bytes)
                j += 1
            } else {
                return reply.error(RedisError.syntax)
            }
            j += 1
        }
        let now = WallClock.nowMillis()
        var elements: [[UInt8]]
        var isSet = false, ordered = false
        switch try storage.readValue(args[1], now: now)?.0 {
        case nil: elements = []
        case .string?, .hash?: return reply.error(RedisError.wrongType)
        case .list(let values)?: elements = values; ordered = true
        case .set(let members)?: elements = members; isSet = true
        case .zset(let entries)?: elements = entries.map(\.member); ordered = true
        }
        // Redis sorts a set it would otherwise return unordered when storing (determinism).
        if options.dontSort, isSet, options.store != nil {
            options.dontSort = false
            options.alpha = true
            options.by = nil
        }
        if options.dontSort, ordered, options.desc { elements.reverse() }
        if !options.dontSort {
            guard let sorted = try sortElements(elements, options) else {
                return reply.error("ERR One or more scores can't be converted into double")
            }
            elements = sorted
        }
        // LIMIT, clamped as Redis clamps it.
        let total = elements.count
        var start = max(options.offset, 0)
        var end = options.count < 0 ? total - 1 : start + options.count - 1
        if start >= total {
            start = total - 1
            end = total - 2
        }
        if end >= total { end = total - 1 }
        let selected = end >= start ? Array(elements[start...end]) : []

        var output: [[UInt8]?] = []
        if options.gets.isEmpty {
            output = selected
        } else {
            output.reserveCapacity(selected.count * options.gets.count)
            for element in selected {
                for pattern in options.gets { output.append(try lookup(pattern, element)) }
            }
        }
        guard let destination = options.store else {
            reply.arrayHeader(output.count)
            for item in output {
                if let item { reply.bulk(bytes: item) } else { reply.null() }
            }
            return
        }
        try storage.modify(token: destination.withUnsafeReadableBytes { engine.keyToken($0) }) { () throws(RocksDBError) in
            if output.isEmpty {
                if try storage.readMeta(destination, now: now) != nil { storage.stageDelete(destination) }
            } else {
                storage.stageValue(.list(output.map { $0 ?? [] }), expireAt: 0, at: destination)
            }
        }
        if !output.isEmpty { engine.blocking.keyReady(destination.bytes) }
        reply.integer(output.count)
    }

    /// Sorts by the elements (or their BY lookups); nil when a numeric sort meets a non-number.
    private func sortElements(_ elements: [[UInt8]], _ options: SortOptions) throws(RocksDBError) -> [[UInt8]]? {
        struct Item {
            let element: [UInt8]
            var key: [UInt8]?
            var score = 0.0
        }
        var items: [Item] = []
        items.reserveCapacity(elements.count)
        for element in elements {
            var item = Item(element: element)
            let value: [UInt8]? = try options.by.map { pattern throws(RocksDBError) in try lookup(pattern, element) } ?? element
            if options.alpha {
                item.key = value
            } else if let value {
                guard let score = Self.strtodExact(value) else { return nil }
                item.score = score
            }
            items.append(item)
        }
        let desc = options.desc
        let byPattern = options.by != nil
        items.sort { a, b in
            let order: Int
            if !options.alpha {
                order = a.score < b.score ? -1 : a.score > b.score ? 1 : Self.compare(a.element, b.element)
            } else if byPattern {
                switch (a.key, b.key) {
                case (nil, nil): order = 0
                case (nil, _): order = -1
                case (_, nil): order = 1
                case (let x?, let y?): order = Self.compare(x, y)
                }
            } else {
                order = Self.compare(a.element, b.element)
            }
            return desc ? order > 0 : order < 0
        }
        return items.map(\.element)
    }

    /// Byte order, shorter first on a common prefix (memcmp, then length).
    private static func compare(_ a: [UInt8], _ b: [UInt8]) -> Int {
        for (x, y) in zip(a, b) where x != y { return x < y ? -1 : 1 }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }

    /// strtod as Redis applies it: the whole C string must parse (so "" is 0, and a NUL ends
    /// the number), no overflow, no NaN.
    static func strtodExact(_ bytes: [UInt8]) -> Double? {
        var text = bytes
        text.append(0)
        return text.withUnsafeBufferPointer { buffer -> Double? in
            let start = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            var end: UnsafeMutablePointer<CChar>?
            errno = 0
            let value = strtod(start, &end)
            guard let end, end.pointee == 0, errno != ERANGE, !value.isNaN else { return nil }
            return value
        }
    }

    /// Redis's lookupKeyByPattern: `#` is the element; otherwise the first `*` takes the
    /// element, and `->field` after it reads that hash field. No `*`: nothing.
    private func lookup(_ pattern: [UInt8], _ element: [UInt8]) throws(RocksDBError) -> [UInt8]? {
        if pattern == [UInt8(ascii: "#")] { return element }
        guard let star = pattern.firstIndex(of: UInt8(ascii: "*")) else { return nil }
        var field: [UInt8]?
        var postfixEnd = pattern.count
        var i = star + 1
        while i + 1 < pattern.count {
            if pattern[i] == UInt8(ascii: "-"), pattern[i + 1] == UInt8(ascii: ">"), i + 2 < pattern.count {
                field = Array(pattern[(i + 2)...])
                postfixEnd = i
                break
            }
            i += 1
        }
        let key = ByteBuffer(bytes: Array(pattern[..<star]) + element + Array(pattern[(star + 1)..<postfixEnd]))
        // A key of another type reads as missing, as in Redis.
        do throws(StoreError) {
            if let field { return try hashes.get(key, field: ByteBuffer(bytes: field)) }
            return try strings.bytes(key).map(Array.init)
        } catch .storage(let error) {
            throw error
        } catch {
            return nil
        }
    }
}
