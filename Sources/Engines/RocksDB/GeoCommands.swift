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
    func geopos(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        let scores = try zsets.scores(args[1], members: args[2...])
        reply.arrayHeader(scores.count)
        for score in scores {
            if let (longitude, latitude) = score.map(GeoHash.point(ofScore:)) {
                reply.arrayHeader(2)
                writeCoordinate(longitude, &reply)
                writeCoordinate(latitude, &reply)
            } else {
                reply.nullArray()
            }
        }
    }

    /// GEOHASH key member [...]
    func geohash(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        let scores = try zsets.scores(args[1], members: args[2...])
        reply.arrayHeader(scores.count)
        for score in scores {
            if let score {
                reply.bulk(bytes: GeoHash.standardText(ofScore: score))
            } else {
                reply.null()
            }
        }
    }

    /// GEODIST key member1 member2 [unit]
    func geodist(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        var conversion = 1.0
        if args.count == 5 {
            guard let unit = geoUnit(args[4], &reply) else { return }
            conversion = unit
        } else if args.count > 5 {
            return reply.error(RedisError.syntax)
        }
        let scores = try zsets.scores(args[1], members: args[2...3])
        guard let a = scores[0].map(GeoHash.point(ofScore:)), let b = scores[1].map(GeoHash.point(ofScore:)) else { return reply.null() }
        reply.bulk(Self.cFixed(GeoHash.distance(a.0, a.1, b.0, b.1) / conversion, 4))
    }

    /// GEORADIUS, GEORADIUSBYMEMBER, their _RO forms, GEOSEARCH and GEOSEARCHSTORE.
    func geoSearch(_ args: [ByteBuffer], _ reply: inout ReplyWriter, kind: GeoSearchKind) throws(StoreError) {
        if let store = kind.storeKeyIndex(args) {
            // The search reads the source and replaces the destination under both keys' locks.
            let stored = try zsets.replace(args[store], readingAlso: [args[kind.sourceIndex]]) { () throws(StoreError) -> [ZEntry]? in
                try geoSearchBody(args, &reply, kind: kind)
            }
            if let stored { reply.integer(stored) }
        } else {
            _ = try geoSearchBody(args, &reply, kind: kind)
        }
    }

    /// Parses and searches. With a destination (STORE, STOREDIST, GEOSEARCHSTORE), returns the
    /// entries to store and writes no reply; otherwise writes the reply and returns nil (as it
    /// does with an error).
    private func geoSearchBody(_ args: [ByteBuffer], _ reply: inout ReplyWriter, kind: GeoSearchKind) throws(StoreError) -> [ZEntry]? {
        let source = args[kind.sourceIndex]
        // The key's type is checked first, as Redis does.
        let index = try zsets.index(source)
        var center: (Double, Double)?
        var shapeKind: GeoHash.Shape.Kind?
        var conversion = 1.0
        var base: Int
        switch kind {
        case .radius:
            base = 6
            guard let point = longitudeLatitude(args, at: 2, &reply), let radius = geoRadius(args, at: 4, &reply) else { return nil }
            (center, shapeKind, conversion) = (point, .circle(radius: radius.radius), radius.conversion)
        case .radiusByMember:
            base = 5
            // Without the key Redis parses the options only, to know which empty reply to give.
            if let index {
                guard let point = try index.score(of: args[2]).map(GeoHash.point(ofScore:)) else {
                    return reply.refusing("ERR could not decode requested zset member")
                }
                guard let radius = geoRadius(args, at: 3, &reply) else { return nil }
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
                guard let n = args[i + 1].redisInteger else { return reply.refusing(RedisError.notInteger) }
                if n <= 0 { return reply.refusing("ERR COUNT must be > 0") }
                count = n
                i += 1
            } else if (word.isOption("STORE") || word.isOption("STOREDIST")), remaining >= 1, kind.acceptsStore {
                storeKey = args[i + 1]
                storeDistance = word.isOption("STOREDIST")
                i += 1
            } else if word.isOption("STOREDIST"), case .searchStore = kind {
                storeDistance = true
            } else if word.isOption("FROMMEMBER"), remaining >= 1, kind.isSearch, !fromLonLat {
                if let index {
                    guard let point = try index.score(of: args[i + 1]).map(GeoHash.point(ofScore:)) else {
                        return reply.refusing("ERR could not decode requested zset member")
                    }
                    center = point
                }
                fromMember = true
                i += 1
            } else if word.isOption("FROMLONLAT"), remaining >= 2, kind.isSearch, !fromMember {
                guard let point = longitudeLatitude(args, at: i + 1, &reply) else { return nil }
                center = point
                fromLonLat = true
                i += 2
            } else if word.isOption("BYRADIUS"), remaining >= 2, kind.isSearch, !byBox {
                guard let radius = geoRadius(args, at: i + 1, &reply) else { return nil }
                (shapeKind, conversion) = (.circle(radius: radius.radius), radius.conversion)
                byRadius = true
                i += 2
            } else if word.isOption("BYBOX"), remaining >= 3, kind.isSearch, !byRadius {
                guard let width = Score.parseStrict(args[i + 1].bytes) else { return reply.refusing("ERR need numeric width") }
                guard let height = Score.parseStrict(args[i + 2].bytes) else { return reply.refusing("ERR need numeric height") }
                if width < 0 || height < 0 { return reply.refusing("ERR height or width cannot be negative") }
                guard let unit = geoUnit(args[i + 3], &reply) else { return nil }
                (shapeKind, conversion) = (.box(width: width, height: height), unit)
                byBox = true
                i += 3
            } else {
                return reply.refusing(RedisError.syntax)
            }
            i += 1
        }
        if storeKey != nil && (withDist || withHash || withCoord) {
            let what = kind == .searchStore ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS"
            return reply.refusing("ERR \(what) is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
        }
        let name = String(decoding: args[0].bytes, as: UTF8.self)
        if kind.isSearch && !(fromMember || fromLonLat) {
            return reply.refusing("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for \(name)")
        }
        if kind.isSearch && !(byRadius || byBox) {
            return reply.refusing("ERR exactly one of BYRADIUS and BYBOX can be specified for \(name)")
        }
        if any && count == 0 { return reply.refusing("ERR the ANY argument requires COUNT argument") }
        guard let index, let center, let shapeKind else {
            if storeKey != nil { return [] }
            reply.arrayHeader(0)
            return nil
        }
        if count != 0 && ascending == nil && !any { ascending = true }
        let shape = GeoHash.Shape(longitude: center.0, latitude: center.1, kind: shapeKind, conversion: conversion)
        var points = geoPoints(index, shape: shape, limit: any ? count : 0)
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
        if storeKey != nil {
            return points.prefix(returned).map { ZEntry(member: $0.member, score: storeDistance ? $0.distance / conversion : $0.score) }
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
        return nil
    }

    /// The set's members inside `shape`, cell by cell in Redis's order, each cell's in score
    /// order; with a `limit` (ANY), the search stops as soon as that many are found.
    func geoPoints(_ index: ZSetStore.ScoreIndex, shape: GeoHash.Shape, limit: Int) -> [GeoPoint] {
        var points: [GeoPoint] = []
        let cells = GeoHash.searchCells(shape)
        var lastProcessed = 0
        for (position, cell) in cells.enumerated() {
            if cell.isZero { continue }
            // Huge radii make neighbours repeat; Redis skips a cell equal to the last one it
            // searched (but never compares with the centre, index 0).
            if lastProcessed != 0 && cell == cells[lastProcessed] { continue }
            if !points.isEmpty && limit > 0 && points.count >= limit { break }
            let (min, max) = GeoHash.scoreRange(cell)
            index.walk(fromScore: min) { entry in
                guard entry.score < max else { return false }
                let (longitude, latitude) = GeoHash.point(ofScore: entry.score)
                if let distance = GeoHash.distanceIfWithin(shape, longitude: longitude, latitude: latitude) {
                    points.append(GeoPoint(member: entry.member, score: entry.score, longitude: longitude,
                                           latitude: latitude, distance: distance))
                }
                return !(limit > 0 && points.count >= limit)
            }
            lastProcessed = position
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
        (.geopos, .store { s, a, r throws(StoreError) in try s.geopos(a, &r) }),
        (.geodist, .store { s, a, r throws(StoreError) in try s.geodist(a, &r) }),
        (.geohash, .store { s, a, r throws(StoreError) in try s.geohash(a, &r) }),
        (.georadius, .store { s, a, r throws(StoreError) in try s.geoSearch(a, &r, kind: .radius(readOnly: false)) }),
        (.georadiusRO, .store { s, a, r throws(StoreError) in try s.geoSearch(a, &r, kind: .radius(readOnly: true)) }),
        (.georadiusbymember, .store { s, a, r throws(StoreError) in try s.geoSearch(a, &r, kind: .radiusByMember(readOnly: false)) }),
        (.georadiusbymemberRO, .store { s, a, r throws(StoreError) in try s.geoSearch(a, &r, kind: .radiusByMember(readOnly: true)) }),
        (.geosearch, .store { s, a, r throws(StoreError) in try s.geoSearch(a, &r, kind: .search) }),
        (.geosearchstore, .store { s, a, r throws(StoreError) in try s.geoSearch(a, &r, kind: .searchStore) }),
    ]
}
