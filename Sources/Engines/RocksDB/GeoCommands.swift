#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import Protocol

/// The geo commands, as Redis 7.0 builds them (`geo.c`): a geo set is a sorted set whose
/// scores are 52-bit geohashes, so GEOADD is ZADD with computed scores and a search reads the
/// score ranges of at most nine geohash cells from the sorted set's score index, then filters
/// by exact distance. Any sorted set can be read by the geo commands, and a geo set by the
/// sorted-set ones, as in Redis.
extension RocksDBSession {
    /// One search result: the member, its stored score, its point and its distance (meters).
    struct GeoPoint {
        var member: [UInt8]
        var score: Double
        var longitude: Double
        var latitude: Double
        var distance: Double
    }

    /// `extractLongLatOrReply`: two doubles, then Mercator's range.
    private func longitudeLatitude(_ args: [ByteBuffer], at index: Int, _ reply: inout ReplyWriter) -> (Double, Double)? {
        guard let longitude = Score.parseStrict(args[index].bytes), let latitude = Score.parseStrict(args[index + 1].bytes) else {
            reply.error(RedisError.notFloat)
            return nil
        }
        if longitude < GeoHash.longitudeRange.min || longitude > GeoHash.longitudeRange.max
            || latitude < GeoHash.latitudeRange.min || latitude > GeoHash.latitudeRange.max {
            reply.error("ERR invalid longitude,latitude pair \(Self.cFixed(longitude, 6)),\(Self.cFixed(latitude, 6))")
            return nil
        }
        return (longitude, latitude)
    }

    /// `%.<digits>f`, as C prints it.
    static func cFixed(_ value: Double, _ digits: Int) -> String {
        var buffer = [CChar](repeating: 0, count: 400)
        let length = withVaList([value]) { vsnprintf(&buffer, 400, "%.\(digits)f", $0) }
        return String(decoding: buffer[0..<Int(min(max(length, 0), 399))].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private func geoUnit(_ word: ByteBuffer, _ reply: inout ReplyWriter) -> Double? {
        guard let unit = GeoHash.unit(word.bytes) else {
            reply.error("ERR unsupported unit provided. please use M, KM, FT, MI")
            return nil
        }
        return unit
    }

    /// `extractDistanceOrReply`: radius and unit.
    private func geoRadius(_ args: [ByteBuffer], at index: Int, _ reply: inout ReplyWriter) -> (radius: Double, conversion: Double)? {
        guard let radius = Score.parseStrict(args[index].bytes) else {
            reply.error("ERR need numeric radius")
            return nil
        }
        if radius < 0 {
            reply.error("ERR radius cannot be negative")
            return nil
        }
        guard let conversion = geoUnit(args[index + 1], &reply) else { return nil }
        return (radius, conversion)
    }

    /// A member's point, or nil when it is not in the set.
    private func geoMemberPoint(_ key: ByteBuffer, generation: UInt64, member: [UInt8]) throws(RocksDBError) -> (Double, Double)? {
        guard let score = try zmemberScore(key, generation: generation, member: member) else { return nil }
        return GeoHash.point(ofScore: score)
    }

    /// A coordinate as `addReplyHumanLongDouble` sends it: a RESP3 double, a RESP2 bulk string.
    private func writeCoordinate(_ value: Double, _ reply: inout ReplyWriter) {
        reply.double(String(decoding: LongDouble.humanString(Float80(value)), as: UTF8.self))
    }

    // MARK: Commands

    /// GEOADD key [NX|XX] [CH] longitude latitude member [...]: ZADD with geohash scores.
    func geoadd(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        var xx = false, nx = false
        var first = 2
        while first < args.count {
            if args[first].isOption("NX") { nx = true } else if args[first].isOption("XX") { xx = true }
            else if !args[first].isOption("CH") { break }
            first += 1
        }
        if (args.count - first) % 3 != 0 || (xx && nx) { return reply.error(RedisError.syntax) }
        var zaddArgs = Array(args[0..<first])
        for i in stride(from: first, to: args.count, by: 3) {
            guard let (longitude, latitude) = longitudeLatitude(args, at: i, &reply) else { return }
            let score = GeoHash.score(longitude: longitude, latitude: latitude)!
            zaddArgs.append(ByteBuffer(string: String(score)))
            zaddArgs.append(args[i + 2])
        }
        try zadd(zaddArgs, &reply, zincrby: false)
    }

    /// GEOPOS key member [...]
    func geopos(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        let lookup = try lookupCollection(.zset, args[1], now: WallClock.nowMillis())
        if case .wrongType = lookup { return reply.error(RedisError.wrongType) }
        reply.arrayHeader(args.count - 2)
        for member in args.dropFirst(2) {
            if case .found(_, let generation, _) = lookup,
               let (longitude, latitude) = try geoMemberPoint(args[1], generation: generation, member: member.bytes) {
                reply.arrayHeader(2)
                writeCoordinate(longitude, &reply)
                writeCoordinate(latitude, &reply)
            } else {
                reply.nullArray()
            }
        }
    }

    /// GEOHASH key member [...]
    func geohash(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        let lookup = try lookupCollection(.zset, args[1], now: WallClock.nowMillis())
        if case .wrongType = lookup { return reply.error(RedisError.wrongType) }
        reply.arrayHeader(args.count - 2)
        for member in args.dropFirst(2) {
            if case .found(_, let generation, _) = lookup,
               let score = try zmemberScore(args[1], generation: generation, member: member.bytes) {
                reply.bulk(bytes: GeoHash.standardText(ofScore: score))
            } else {
                reply.null()
            }
        }
    }

    /// GEODIST key member1 member2 [unit]
    func geodist(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        var conversion = 1.0
        if args.count == 5 {
            guard let unit = geoUnit(args[4], &reply) else { return }
            conversion = unit
        } else if args.count > 5 {
            return reply.error(RedisError.syntax)
        }
        switch try lookupCollection(.zset, args[1], now: WallClock.nowMillis()) {
        case .wrongType: reply.error(RedisError.wrongType)
        case .missing: reply.null()
        case .found(_, let generation, _):
            guard let a = try geoMemberPoint(args[1], generation: generation, member: args[2].bytes),
                  let b = try geoMemberPoint(args[1], generation: generation, member: args[3].bytes) else { return reply.null() }
            reply.bulk(Self.cFixed(GeoHash.distance(a.0, a.1, b.0, b.1) / conversion, 4))
        }
    }

    /// GEORADIUS, GEORADIUSBYMEMBER, their _RO forms, GEOSEARCH and GEOSEARCHSTORE.
    func geoSearch(_ args: [ByteBuffer], _ reply: inout ReplyWriter, kind: GeoSearchKind) throws(RocksDBError) {
        if let store = kind.storeKeyIndex(args) {
            let stripes = [args[kind.sourceIndex], args[store]].map { k in
                KeyLocks.stripe(of: k.withUnsafeReadableBytes { engine.keyToken($0) })
            }
            try modify(stripes: stripes) { () throws(RocksDBError) in
                try geoSearchBody(args, &reply, kind: kind)
            }
        } else {
            try geoSearchBody(args, &reply, kind: kind)
        }
    }

    private func geoSearchBody(_ args: [ByteBuffer], _ reply: inout ReplyWriter, kind: GeoSearchKind) throws(RocksDBError) {
        let source = args[kind.sourceIndex]
        var generation: UInt64?
        switch try lookupCollection(.zset, source, now: WallClock.nowMillis()) {
        case .wrongType: return reply.error(RedisError.wrongType)
        case .missing: break
        case .found(_, let g, _): generation = g
        }
        var center: (Double, Double)?
        var shapeKind: GeoHash.Shape.Kind?
        var conversion = 1.0
        var base: Int
        switch kind {
        case .radius:
            base = 6
            guard let point = longitudeLatitude(args, at: 2, &reply), let radius = geoRadius(args, at: 4, &reply) else { return }
            (center, shapeKind, conversion) = (point, .circle(radius: radius.radius), radius.conversion)
        case .radiusByMember:
            base = 5
            // Without the key Redis parses the options only, to know which empty reply to give.
            if let generation {
                guard let point = try geoMemberPoint(source, generation: generation, member: args[2].bytes) else {
                    return reply.error("ERR could not decode requested zset member")
                }
                guard let radius = geoRadius(args, at: 3, &reply) else { return }
                (center, shapeKind, conversion) = (point, .circle(radius: radius.radius), radius.conversion)
            }
        case .search: base = 2
        case .searchStore: base = 3
        }
        var withDist = false, withHash = false, withCoord = false, any = false
        var fromMember = false, fromLonLat = false, byRadius = false, byBox = false
        var ascending: Bool?
        var count = 0
        var storeKey: ByteBuffer? = kind == .searchStore ? args[1] : nil
        var storeDistance = false
        var i = base
        while i < args.count {
            let word = args[i]
            let remaining = args.count - i - 1
            if word.isOption("WITHDIST") { withDist = true }
            else if word.isOption("WITHHASH") { withHash = true }
            else if word.isOption("WITHCOORD") { withCoord = true }
            else if word.isOption("ANY") { any = true }
            else if word.isOption("ASC") { ascending = true }
            else if word.isOption("DESC") { ascending = false }
            else if word.isOption("COUNT"), remaining >= 1 {
                guard let n = args[i + 1].redisInteger else { return reply.error(RedisError.notInteger) }
                if n <= 0 { return reply.error("ERR COUNT must be > 0") }
                count = n
                i += 1
            } else if (word.isOption("STORE") || word.isOption("STOREDIST")), remaining >= 1, kind.acceptsStore {
                storeKey = args[i + 1]
                storeDistance = word.isOption("STOREDIST")
                i += 1
            } else if word.isOption("STOREDIST"), case .searchStore = kind {
                storeDistance = true
            } else if word.isOption("FROMMEMBER"), remaining >= 1, kind.isSearch, !fromLonLat {
                if let generation {
                    guard let point = try geoMemberPoint(source, generation: generation, member: args[i + 1].bytes) else {
                        return reply.error("ERR could not decode requested zset member")
                    }
                    center = point
                }
                fromMember = true
                i += 1
            } else if word.isOption("FROMLONLAT"), remaining >= 2, kind.isSearch, !fromMember {
                guard let point = longitudeLatitude(args, at: i + 1, &reply) else { return }
                center = point
                fromLonLat = true
                i += 2
            } else if word.isOption("BYRADIUS"), remaining >= 2, kind.isSearch, !byBox {
                guard let radius = geoRadius(args, at: i + 1, &reply) else { return }
                (shapeKind, conversion) = (.circle(radius: radius.radius), radius.conversion)
                byRadius = true
                i += 2
            } else if word.isOption("BYBOX"), remaining >= 3, kind.isSearch, !byRadius {
                guard let width = Score.parseStrict(args[i + 1].bytes) else { return reply.error("ERR need numeric width") }
                guard let height = Score.parseStrict(args[i + 2].bytes) else { return reply.error("ERR need numeric height") }
                if width < 0 || height < 0 { return reply.error("ERR height or width cannot be negative") }
                guard let unit = geoUnit(args[i + 3], &reply) else { return }
                (shapeKind, conversion) = (.box(width: width, height: height), unit)
                byBox = true
                i += 3
            } else {
                return reply.error(RedisError.syntax)
            }
            i += 1
        }
        if storeKey != nil && (withDist || withHash || withCoord) {
            let what = kind == .searchStore ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS"
            return reply.error("ERR \(what) is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
        }
        let name = String(decoding: args[0].bytes, as: UTF8.self)
        if kind.isSearch && !(fromMember || fromLonLat) {
            return reply.error("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for \(name)")
        }
        if kind.isSearch && !(byRadius || byBox) {
            return reply.error("ERR exactly one of BYRADIUS and BYBOX can be specified for \(name)")
        }
        if any && count == 0 { return reply.error("ERR the ANY argument requires COUNT argument") }
        guard let generation, let center, let shapeKind else {
            if let storeKey {
                stageNewZSet(storeKey, [])
                return reply.integer(0)
            }
            return reply.arrayHeader(0)
        }
        if count != 0 && ascending == nil && !any { ascending = true }
        let shape = GeoHash.Shape(longitude: center.0, latitude: center.1, kind: shapeKind, conversion: conversion)
        var points = geoPoints(source, generation: generation, shape: shape, limit: any ? count : 0)
        if let ascending {
            // A stable sort: equal distances keep the index order, as glibc's qsort (a merge
            // sort) leaves them in redis-server.
            points = points.enumerated().sorted { a, b in
                if a.element.distance != b.element.distance {
                    return ascending ? a.element.distance < b.element.distance : a.element.distance > b.element.distance
                }
                return a.offset < b.offset
            }.map(\.element)
        }
        let returned = count == 0 ? points.count : min(count, points.count)
        if let storeKey {
            let entries = points.prefix(returned).map { ZEntry(member: $0.member, score: storeDistance ? $0.distance / conversion : $0.score) }
            stageNewZSet(storeKey, Array(entries))
            return reply.integer(returned)
        }
        let options = (withDist ? 1 : 0) + (withHash ? 1 : 0) + (withCoord ? 1 : 0)
        reply.arrayHeader(returned)
        for point in points.prefix(returned) {
            if options > 0 { reply.arrayHeader(options + 1) }
            reply.bulk(bytes: point.member)
            if withDist { reply.bulk(Self.cFixed(point.distance / conversion, 4)) }
            if withHash { reply.integer(Int(GeoHash.cInt64(point.score))) }
            if withCoord {
                reply.arrayHeader(2)
                writeCoordinate(point.longitude, &reply)
                writeCoordinate(point.latitude, &reply)
            }
        }
    }

    /// The set's members inside `shape`, cell by cell in Redis's order, each cell's in score
    /// order; with a `limit` (ANY), the search stops as soon as that many are found.
    func geoPoints(_ key: ByteBuffer, generation: UInt64, shape: GeoHash.Shape, limit: Int) -> [GeoPoint] {
        var points: [GeoPoint] = []
        let cells = GeoHash.searchCells(shape)
        var lastProcessed = 0
        let prefix = elementPrefix(key, generation: generation)
        for (index, cell) in cells.enumerated() {
            if cell.isZero { continue }
            // Huge radii make neighbours repeat; Redis skips a cell equal to the last one it
            // searched (but never compares with the centre, index 0).
            if lastProcessed != 0 && cell == cells[lastProcessed] { continue }
            if !points.isEmpty && limit > 0 && points.count >= limit { break }
            let (min, max) = GeoHash.scoreRange(cell)
            var from = prefix
            Score.encode(min, into: &from)
            zwalk(key, generation: generation, reverse: false, from: from) { entry in
                guard entry.score < max else { return false }
                let (longitude, latitude) = GeoHash.point(ofScore: entry.score)
                if let distance = GeoHash.distanceIfWithin(shape, longitude: longitude, latitude: latitude) {
                    points.append(GeoPoint(member: entry.member, score: entry.score, longitude: longitude,
                                           latitude: latitude, distance: distance))
                }
                return !(limit > 0 && points.count >= limit)
            }
            lastProcessed = index
        }
        return points
    }
}

/// Which command of the geo search family runs (Redis's `georadiusGeneric` flags).
enum GeoSearchKind: Equatable, Sendable {
    case radius(readOnly: Bool)
    case radiusByMember(readOnly: Bool)
    case search
    case searchStore

    var sourceIndex: Int { self == .searchStore ? 2 : 1 }
    var acceptsStore: Bool {
        switch self {
        case .radius(let readOnly), .radiusByMember(let readOnly): return !readOnly
        default: return false
        }
    }
    var isSearch: Bool { self == .search || self == .searchStore }

    /// Where the destination key is: GEOSEARCHSTORE's first key, or the argument after
    /// GEORADIUS's STORE/STOREDIST (the same scan as routing's and wake-ups'); nil when the command
    /// stores nothing.
    func storeKeyIndex(_ args: [ByteBuffer]) -> Int? {
        switch self {
        case .searchStore: return args.count > 1 ? 1 : nil
        case .search: return nil
        case .radius(let readOnly), .radiusByMember(let readOnly):
            if readOnly { return nil }
            return KeySpec.geoStoreDestination(args, optionsFrom: self == .radius(readOnly: false) ? 6 : 5)
        }
    }
}

extension RocksDBSession {
    /// Geo: the RocksDB engine's handlers (the rows are in `Protocol/Commands/`).
    static let geoCommands: [(CommandID, RocksDBHandler)] = [
        (.geoadd, .store { s, a, r throws(StoreError) in try s.geoadd(a, &r) }),
        (.geopos, .run { s, a, r throws(RocksDBError) in try s.geopos(a, &r) }),
        (.geodist, .run { s, a, r throws(RocksDBError) in try s.geodist(a, &r) }),
        (.geohash, .run { s, a, r throws(RocksDBError) in try s.geohash(a, &r) }),
        (.georadius, .run { s, a, r throws(RocksDBError) in try s.geoSearch(a, &r, kind: .radius(readOnly: false)) }),
        (.georadiusRO, .run { s, a, r throws(RocksDBError) in try s.geoSearch(a, &r, kind: .radius(readOnly: true)) }),
        (.georadiusbymember, .run { s, a, r throws(RocksDBError) in try s.geoSearch(a, &r, kind: .radiusByMember(readOnly: false)) }),
        (.georadiusbymemberRO, .run { s, a, r throws(RocksDBError) in try s.geoSearch(a, &r, kind: .radiusByMember(readOnly: true)) }),
        (.geosearch, .run { s, a, r throws(RocksDBError) in try s.geoSearch(a, &r, kind: .search) }),
        (.geosearchstore, .run { s, a, r throws(RocksDBError) in try s.geoSearch(a, &r, kind: .searchStore) }),
    ]
}
