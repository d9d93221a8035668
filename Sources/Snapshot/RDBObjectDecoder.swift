/// Decodes one value given its RDB type byte: the plain types and every compact encoding
/// Redis 2.x through 7.2 writes (RDB versions up to 11).
public enum RDBObjectDecoder {
    /// Refuses types Dynamis cannot hold, naming them, before anything else is read.
    public static func checkSupported(type: UInt8, at offset: Int) throws(RDBError) {
        switch type {
        case 0...5, 9...14, 16...18, 20: return
        case 15, 19, 21: throw RDBError("streams (RDB type \(type)) are not supported by Dynamis", at: offset)
        case 6, 7: throw RDBError("module values (RDB type \(type)) are not supported", at: offset)
        case 22...25: throw RDBError("hashes with field expiry (RDB type \(type), Redis 7.4+) are not supported", at: offset)
        default: throw RDBError("unknown RDB value type \(type)", at: offset)
        }
    }

    public static func decode(type: UInt8, _ c: inout RDBCursor) throws(RDBError) -> RDBValue {
        let start = c.offset
        try checkSupported(type: type, at: start)
        switch type {
        case 0: return .string(try c.string())
        case 1:
            let n = try c.count()
            var items: [[UInt8]] = []
            items.reserveCapacity(n)
            for _ in 0..<n { items.append(try c.string()) }
            return .list(items)
        case 2:
            let n = try c.count()
            var items: [[UInt8]] = []
            items.reserveCapacity(n)
            for _ in 0..<n { items.append(try c.string()) }
            return .set(items)
        case 3, 5:
            let n = try c.count()
            var items: [RDBScoredMember] = []
            items.reserveCapacity(n)
            for _ in 0..<n {
                let member = try c.string()
                let score = type == 3 ? try c.textDouble() : Double(bitPattern: try c.littleEndian(UInt64.self))
                guard !score.isNaN else { throw RDBError("sorted set score is NaN", at: c.offset) }
                items.append(RDBScoredMember(member: member, score: score))
            }
            return .zset(items)
        case 4:
            let n = try c.count()
            var items: [RDBField] = []
            items.reserveCapacity(n)
            for _ in 0..<n { items.append(RDBField(field: try c.string(), value: try c.string())) }
            return .hash(items)
        case 9: return .hash(try CompactEncodings.zipmap(try c.string(), base: start))
        case 10: return .list(try CompactEncodings.ziplist(try c.string(), base: start).map(\.asBytes))
        case 11: return .set(try CompactEncodings.intset(try c.string(), base: start))
        case 12: return .zset(try scored(CompactEncodings.ziplist(try c.string(), base: start), c))
        case 13: return .hash(try paired(CompactEncodings.ziplist(try c.string(), base: start), c))
        case 14, 18:
            let nodes = try c.count()
            var items: [[UInt8]] = []
            for _ in 0..<nodes {
                var container = 2  // quicklist 1 nodes are always ziplists
                if type == 18 { container = try c.length() }
                let at = c.offset
                let blob = try c.string()
                switch (type, container) {
                case (14, _): items += try CompactEncodings.ziplist(blob, base: at).map(\.asBytes)
                case (_, 1): items.append(blob)
                case (_, 2): items += try CompactEncodings.listpack(blob, base: at).map(\.asBytes)
                default: throw RDBError("unknown quicklist container \(container)", at: at)
                }
            }
            return .list(items)
        case 16: return .hash(try paired(CompactEncodings.listpack(try c.string(), base: start), c))
        case 17: return .zset(try scored(CompactEncodings.listpack(try c.string(), base: start), c))
        case 20: return .set(try CompactEncodings.listpack(try c.string(), base: start).map(\.asBytes))
        default: throw RDBError("unknown RDB value type \(type)", at: start)
        }
    }

    private static func paired(_ elements: [CompactEncodings.Element], _ c: RDBCursor) throws(RDBError) -> [RDBField] {
        guard elements.count % 2 == 0 else { throw c.fail("hash encoding holds an odd number of entries") }
        var out: [RDBField] = []
        out.reserveCapacity(elements.count / 2)
        var i = 0
        while i < elements.count {
            out.append(RDBField(field: elements[i].asBytes, value: elements[i + 1].asBytes))
            i += 2
        }
        return out
    }

    private static func scored(_ elements: [CompactEncodings.Element], _ c: RDBCursor) throws(RDBError) -> [RDBScoredMember] {
        guard elements.count % 2 == 0 else { throw c.fail("sorted set encoding holds an odd number of entries") }
        var out: [RDBScoredMember] = []
        out.reserveCapacity(elements.count / 2)
        var i = 0
        while i < elements.count {
            out.append(RDBScoredMember(member: elements[i].asBytes, score: try elements[i + 1].asScore(c)))
            i += 2
        }
        return out
    }

    /// Refuses what Redis would refuse to load as a key: an empty collection, or a set, hash
    /// or sorted set with a repeated member (whose count would disagree with its elements).
    public static func validate(_ value: RDBValue) -> String? {
        switch value {
        case .string: return nil
        case .list(let items): return items.isEmpty ? "empty list" : nil
        case .set(let items): return unique(items, "set")
        case .hash(let items): return unique(items.map(\.field), "hash")
        case .zset(let items): return unique(items.map(\.member), "sorted set")
        }
    }

    private static func unique(_ items: [[UInt8]], _ kind: String) -> String? {
        if items.isEmpty { return "empty \(kind)" }
        var seen = Set<[UInt8]>(minimumCapacity: items.count)
        for item in items where !seen.insert(item).inserted { return "duplicate \(kind) member" }
        return nil
    }
}
