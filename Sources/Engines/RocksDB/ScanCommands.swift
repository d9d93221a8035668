import NIOCore
import Protocol

/// KEYS, SCAN and RANDOMKEY over `KeyspaceStore.walk`: the metadata column family, ordered by
/// (token, key).
///
/// A SCAN cursor is the token to resume at, plus one (0 starts and ends a scan). It needs no
/// server-side state, stays valid across restarts, and a page never splits the keys that share
/// a token, so every key that exists for the whole scan is returned.
extension RocksDBSession {
    func keys(_ args: [ByteBuffer], _ reply: inout ReplyWriter) {
        let pattern = args[1].bytes
        let matchAll = pattern == [UInt8(ascii: "*")]
        var found: [[UInt8]] = []
        _ = keyspace.walk(fromToken: 0) { key, _ in
            if matchAll || GlobMatch.matches(pattern: pattern, key) { found.append(Array(key)) }
            return true
        }
        reply.arrayHeader(found.count)
        for key in found { reply.bulk(bytes: key) }
    }

    struct ScanOptions {
        var pattern: [UInt8]?
        var count = 10
        var type: String?
    }

    /// MATCH, COUNT (and, for SCAN, TYPE) from `args[from...]`; nil with the error written.
    func scanOptions(_ args: [ByteBuffer], from: Int, allowType: Bool, _ reply: inout ReplyWriter) -> ScanOptions? {
        var options = ScanOptions()
        var i = from
        while i < args.count {
            guard i + 1 < args.count else { reply.error(RedisError.syntax); return nil }
            if args[i].isOption("MATCH") {
                // Redis skips matching for exactly "*" (so it also returns the empty key, which
                // the matcher itself never matches).
                let pattern = args[i + 1].bytes
                options.pattern = pattern == [UInt8(ascii: "*")] ? nil : pattern
            } else if args[i].isOption("COUNT") {
                guard let value = args[i + 1].redisInteger else { reply.error(RedisError.notInteger); return nil }
                guard value >= 1 else { reply.error(RedisError.syntax); return nil }
                options.count = value
            } else if allowType, args[i].isOption("TYPE") {
                options.type = args[i + 1].text.lowercased()
            } else {
                reply.error(RedisError.syntax)
                return nil
            }
            i += 2
        }
        return options
    }

    func scan(_ args: [ByteBuffer], _ reply: inout ReplyWriter) {
        guard let cursorText = args[1].text.nonEmpty, let cursor = UInt64(cursorText) else {
            return reply.error("ERR invalid cursor")
        }
        guard let options = scanOptions(args, from: 2, allowType: true, &reply) else { return }
        let (pattern, count, type) = (options.pattern, options.count, options.type)
        // Cursors past the last token are simply done.
        guard cursor <= UInt64(UInt32.max) + 1 else {
            reply.arrayHeader(2)
            reply.bulk("0")
            return reply.arrayHeader(0)
        }
        var found: [[UInt8]] = []
        var examined = 0
        let next = keyspace.walk(fromToken: cursor == 0 ? 0 : UInt32(cursor - 1)) { key, keyType in
            examined += 1
            let typeMatches = type.map { $0 == keyType.name.description } ?? true
            if typeMatches, pattern.map({ GlobMatch.matches(pattern: $0, key) }) ?? true { found.append(Array(key)) }
            return examined < count
        }
        reply.arrayHeader(2)
        reply.bulk(next.map { String(UInt64($0) + 1) } ?? "0")
        reply.arrayHeader(found.count)
        for key in found { reply.bulk(bytes: key) }
    }

    func randomkey(_ reply: inout ReplyWriter) {
        if let key = keyspace.randomKey() { reply.bulk(bytes: key) } else { reply.null() }
    }

    /// HSCAN, SSCAN, ZSCAN key cursor [MATCH pattern] [COUNT count], over the elements (and
    /// values or score texts) `items` reads from the family's store once the arguments are
    /// valid. Collections of up to 512 elements come back whole with cursor 0 (as Redis's
    /// compact encodings do); larger ones page by element offset in byte order.
    func collectionScan(_ args: [ByteBuffer], _ reply: inout ReplyWriter,
                        _ items: () throws(StoreError) -> [(element: [UInt8], extra: [UInt8]?)]) throws(StoreError) {
        guard let cursor = Int(args[2].text), cursor >= 0 else { return reply.error("ERR invalid cursor") }
        guard let options = scanOptions(args, from: 3, allowType: false, &reply) else { return }
        let (pattern, count) = (options.pattern, options.count)
        let items = try items()
        let page: ArraySlice<(element: [UInt8], extra: [UInt8]?)>
        var next = 0
        if items.count <= 512 {
            page = items[...]
        } else {
            let start = min(cursor, items.count)
            let end = min(start + count, items.count)
            page = items[start..<end]
            next = end < items.count ? end : 0
        }
        let selected = page.filter { item in pattern.map { GlobMatch.matches(pattern: $0, item.element) } ?? true }
        reply.arrayHeader(2)
        reply.bulk(String(next))
        reply.arrayHeader(selected.reduce(0) { $0 + ($1.extra == nil ? 1 : 2) })
        for item in selected {
            reply.bulk(bytes: item.element)
            if let extra = item.extra { reply.bulk(bytes: extra) }
        }
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
