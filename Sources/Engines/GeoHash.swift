#if canImport(Glibc)
import Glibc
#endif

/// Redis 7.0's geohash arithmetic (`geohash.c`, `geohash_helper.c`): 52-bit interleaved scores,
/// the nine search boxes around a point, and its distance formulas, step for step, so that
/// GEOADD scores, GEOSEARCH results and distances equal redis-server's. Pure: no storage.
enum GeoHash {
    /// Bits per coordinate of a stored score (26 + 26 = 52, exact in a double).
    static let maxStep: UInt8 = 26
    /// Web Mercator's limits (EPSG:900913): Redis cannot index nearer the poles.
    static let latitudeRange = (min: -85.05112878, max: 85.05112878)
    static let longitudeRange = (min: -180.0, max: 180.0)
    static let earthRadius = 6372797.560856
    static let mercatorMax = 20037726.37
    private static let degreesToRadians = Double.pi / 180.0

    /// A cell: `step` bits of each coordinate interleaved into `bits`.
    struct Cell: Equatable {
        var bits: UInt64
        var step: UInt8
        /// Redis's "zero" cell (`HASHISZERO`): a neighbour excluded from the search.
        var isZero: Bool { bits == 0 && step == 0 }
        static let zero = Cell(bits: 0, step: 0)
    }

    struct Area {
        var longitude: (min: Double, max: Double)
        var latitude: (min: Double, max: Double)
    }

    /// The area a search covers: a circle of `radius`, or a `width` × `height` box, around
    /// (`longitude`, `latitude`); lengths in the unit of `conversion` (meters per unit).
    struct Shape {
        enum Kind { case circle(radius: Double), box(width: Double, height: Double) }
        var longitude: Double
        var latitude: Double
        var kind: Kind
        var conversion: Double
    }

    // MARK: Encoding

    /// `interleave64`: x's bits at even positions, y's at odd ones. Straight-line, as in C: a
    /// search decodes every point it visits, so no table is built per call.
    static func interleave(_ xlo: UInt32, _ ylo: UInt32) -> UInt64 {
        func spread(_ value: UInt32) -> UInt64 {
            var v = UInt64(value)
            v = (v | (v << 16)) & 0x0000FFFF0000FFFF
            v = (v | (v << 8)) & 0x00FF00FF00FF00FF
            v = (v | (v << 4)) & 0x0F0F0F0F0F0F0F0F
            v = (v | (v << 2)) & 0x3333333333333333
            return (v | (v << 1)) & 0x5555555555555555
        }
        return spread(xlo) | (spread(ylo) << 1)
    }

    /// `deinterleave64`: even bits in the low half, odd bits in the high half.
    static func deinterleave(_ interleaved: UInt64) -> UInt64 {
        func gather(_ value: UInt64) -> UInt64 {
            var v = value & 0x5555555555555555
            v = (v | (v >> 1)) & 0x3333333333333333
            v = (v | (v >> 2)) & 0x0F0F0F0F0F0F0F0F
            v = (v | (v >> 4)) & 0x00FF00FF00FF00FF
            v = (v | (v >> 8)) & 0x0000FFFF0000FFFF
            return (v | (v >> 16)) & 0x00000000FFFFFFFF
        }
        return gather(interleaved) | (gather(interleaved >> 1) << 32)
    }

    /// `geohashEncode` over the given ranges; nil outside them (or outside Mercator's).
    static func encode(longitude: Double, latitude: Double, step: UInt8,
                       longitudeRange: (min: Double, max: Double) = longitudeRange,
                       latitudeRange: (min: Double, max: Double) = latitudeRange) -> Cell? {
        guard step > 0, step <= 32 else { return nil }
        guard longitude <= Self.longitudeRange.max, longitude >= Self.longitudeRange.min,
              latitude <= Self.latitudeRange.max, latitude >= Self.latitudeRange.min else { return nil }
        guard latitude >= latitudeRange.min, latitude <= latitudeRange.max,
              longitude >= longitudeRange.min, longitude <= longitudeRange.max else { return nil }
        let scale = Double(UInt64(1) << UInt64(step))
        let latOffset = (latitude - latitudeRange.min) / (latitudeRange.max - latitudeRange.min) * scale
        let longOffset = (longitude - longitudeRange.min) / (longitudeRange.max - longitudeRange.min) * scale
        return Cell(bits: interleave(UInt32(latOffset), UInt32(longOffset)), step: step)
    }

    /// The score GEOADD stores for a point (`geohashAlign52Bits` of its 26-step cell).
    static func score(longitude: Double, latitude: Double) -> UInt64? {
        encode(longitude: longitude, latitude: latitude, step: maxStep).map(align52)
    }

    static func align52(_ cell: Cell) -> UInt64 { cell.bits << UInt64(52 - Int(cell.step) * 2) }

    /// `geohashDecode`: the cell's bounds.
    static func decode(_ cell: Cell) -> Area? {
        if cell.isZero { return nil }
        let separated = deinterleave(cell.bits)
        let latScale = latitudeRange.max - latitudeRange.min
        let longScale = longitudeRange.max - longitudeRange.min
        let ilato = UInt32(truncatingIfNeeded: separated)
        let ilono = UInt32(truncatingIfNeeded: separated >> 32)
        let divisor = Double(UInt64(1) << UInt64(cell.step))
        // C adds 1 in 32-bit unsigned arithmetic: keep its wrap-around.
        return Area(longitude: (longitudeRange.min + Double(ilono) / divisor * longScale,
                                longitudeRange.min + Double(ilono &+ 1) / divisor * longScale),
                    latitude: (latitudeRange.min + Double(ilato) / divisor * latScale,
                               latitudeRange.min + Double(ilato &+ 1) / divisor * latScale))
    }

    /// A stored score's point, the centre of its cell (`decodeGeohash`). Any score decodes:
    /// scores a plain ZADD wrote give the points Redis gives for them.
    static func point(ofScore score: Double) -> (longitude: Double, latitude: Double) {
        let area = decode(Cell(bits: cUInt64(score), step: maxStep))!
        // Clamped to the indexable range, as `geohashDecodeAreaToLongLat` does: the last cell's
        // centre would lie past 180° or Mercator's latitude limit.
        let longitude = min(max((area.longitude.min + area.longitude.max) / 2, longitudeRange.min), longitudeRange.max)
        let latitude = min(max((area.latitude.min + area.latitude.max) / 2, latitudeRange.min), latitudeRange.max)
        return (longitude, latitude)
    }

    /// C's `(uint64_t)` of a double as x86-64 compilers emit it (no trap on negative or huge
    /// scores, which a plain ZADD can store in a set GEO commands then read).
    static func cUInt64(_ value: Double) -> UInt64 {
        if value.isNaN { return 1 << 63 }
        if value < 9223372036854775808.0 {
            return UInt64(bitPattern: cInt64(value))
        }
        return UInt64(bitPattern: cInt64(value - 9223372036854775808.0)) ^ (1 << 63)
    }

    /// C's `(long long)` of a double on x86-64 (`cvttsd2si`): out of range is INT64_MIN.
    static func cInt64(_ value: Double) -> Int64 {
        guard !value.isNaN, value > -9223372036854775809.0, value < 9223372036854775808.0 else { return Int64.min }
        return Int64(value)
    }

    /// GEOHASH's text: the point re-encoded over the standard ±90° range, 11 characters.
    static func standardText(ofScore score: Double) -> [UInt8] {
        let alphabet = Array("0123456789bcdefghjkmnpqrstuvwxyz".utf8)
        let (longitude, latitude) = point(ofScore: score)
        let bits = encode(longitude: longitude, latitude: latitude, step: 26,
                          longitudeRange: (-180, 180), latitudeRange: (-90, 90))?.bits ?? 0
        var out: [UInt8] = []
        for i in 0..<10 {
            let shift = UInt64(52 - (i + 1) * 5)
            out.append(alphabet[Int((bits >> shift) & 0x1f)])
        }
        // 52 bits make ten characters; Redis pads the eleventh with a zero digit.
        out.append(alphabet[0])
        return out
    }

    // MARK: Neighbours and search areas

    /// `geohash_move_x`/`geohash_move_y`: steps one coordinate's interleaved bits (`lane`:
    /// longitude's odd positions or latitude's even ones) by ±1, with the carry skipping the
    /// other coordinate's bits, which stay as they are.
    private static func move(_ cell: inout Cell, _ d: Int, lane: UInt64) {
        if d == 0 { return }
        let shift = UInt64(64 - Int(cell.step) * 2)
        var moving = cell.bits & lane
        let kept = cell.bits & ~lane
        let zz = ~lane >> shift
        if d > 0 { moving = moving &+ (zz &+ 1) } else { moving = (moving | zz) &- (zz &+ 1) }
        cell.bits = (moving & (lane >> shift)) | kept
    }

    /// The cell moved `dx` east and `dy` north.
    static func neighbour(_ cell: Cell, _ dx: Int, _ dy: Int) -> Cell {
        var out = cell
        move(&out, dx, lane: 0xaaaaaaaaaaaaaaaa)
        move(&out, dy, lane: 0x5555555555555555)
        return out
    }

    /// `geohashEstimateStepsByRadius`.
    static func estimateSteps(radius: Double, latitude: Double) -> UInt8 {
        if radius == 0 { return 26 }
        var range = radius
        var step = 1
        while range < mercatorMax {
            range *= 2
            step += 1
        }
        step -= 2
        if latitude > 66 || latitude < -66 {
            step -= 1
            if latitude > 80 || latitude < -80 { step -= 1 }
        }
        return UInt8(min(max(step, 1), 26))
    }

    /// `geohashBoundingBox`: min/max longitude and latitude of the shape.
    static func boundingBox(_ shape: Shape) -> (minLon: Double, minLat: Double, maxLon: Double, maxLat: Double) {
        let (height, width): (Double, Double)
        switch shape.kind {
        case .circle(let radius): (height, width) = (shape.conversion * radius, shape.conversion * radius)
        case .box(let w, let h): (height, width) = (shape.conversion * (h / 2), shape.conversion * (w / 2))
        }
        let latDelta = (height / earthRadius) / degreesToRadians
        let longDeltaTop = (width / earthRadius / cos((shape.latitude + latDelta) * degreesToRadians)) / degreesToRadians
        let longDeltaBottom = (width / earthRadius / cos((shape.latitude - latDelta) * degreesToRadians)) / degreesToRadians
        let southern = shape.latitude < 0
        return (southern ? shape.longitude - longDeltaBottom : shape.longitude - longDeltaTop,
                shape.latitude - latDelta,
                southern ? shape.longitude + longDeltaBottom : shape.longitude + longDeltaTop,
                shape.latitude + latDelta)
    }

    /// `geohashCalculateAreasByShapeWGS84` then `membersOfAllNeighbors`' order: the centre
    /// cell, then north, south, east, west, north-east, north-west, south-east, south-west, with
    /// the cells that cannot hold a match zeroed.
    static func searchCells(_ shape: Shape) -> [Cell] {
        let bounds = boundingBox(shape)
        let radius: Double
        switch shape.kind {
        case .circle(let r): radius = r * shape.conversion
        case .box(let w, let h): radius = (w / 2 * (w / 2) + h / 2 * (h / 2)).squareRoot() * shape.conversion
        }
        var steps = estimateSteps(radius: radius, latitude: shape.latitude)
        guard var centre = encode(longitude: shape.longitude, latitude: shape.latitude, step: steps) else { return [] }
        var decreaseStep = false
        if let north = decode(neighbour(centre, 0, 1)), north.latitude.max < bounds.maxLat { decreaseStep = true }
        if let south = decode(neighbour(centre, 0, -1)), south.latitude.min > bounds.minLat { decreaseStep = true }
        if let east = decode(neighbour(centre, 1, 0)), east.longitude.max < bounds.maxLon { decreaseStep = true }
        if let west = decode(neighbour(centre, -1, 0)), west.longitude.min > bounds.minLon { decreaseStep = true }
        if steps > 1 && decreaseStep {
            steps -= 1
            guard let wider = encode(longitude: shape.longitude, latitude: shape.latitude, step: steps) else { return [] }
            centre = wider
        }
        // (dx, dy) of north, south, east, west, NE, NW, SE, SW.
        let offsets = [(0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1)]
        var cells = [centre] + offsets.map { neighbour(centre, $0.0, $0.1) }
        if steps >= 2, let area = decode(centre) {
            func zero(_ indexes: [Int]) { for i in indexes { cells[i] = .zero } }
            if area.latitude.min < bounds.minLat { zero([2, 8, 7]) }
            if area.latitude.max > bounds.maxLat { zero([1, 5, 6]) }
            if area.longitude.min < bounds.minLon { zero([4, 8, 6]) }
            if area.longitude.max > bounds.maxLon { zero([3, 7, 5]) }
        }
        return cells
    }

    /// The score range [min, max) a cell's points have.
    static func scoreRange(_ cell: Cell) -> (min: Double, max: Double) {
        var next = cell
        next.bits &+= 1
        return (Double(align52(cell)), Double(align52(next)))
    }

    // MARK: Distances

    /// Haversine distance in meters (Redis 7.0's `geohashGetDistance`).
    static func distance(_ lon1: Double, _ lat1: Double, _ lon2: Double, _ lat2: Double) -> Double {
        let lat1r = lat1 * degreesToRadians, lon1r = lon1 * degreesToRadians
        let lat2r = lat2 * degreesToRadians, lon2r = lon2 * degreesToRadians
        let u = sin((lat2r - lat1r) / 2)
        let v = sin((lon2r - lon1r) / 2)
        return 2.0 * earthRadius * asin((u * u + cos(lat1r) * cos(lat2r) * v * v).squareRoot())
    }

    /// The distance from the shape's centre to the point, or nil when the point is outside
    /// the shape (`geoWithinShape`).
    static func distanceIfWithin(_ shape: Shape, longitude: Double, latitude: Double) -> Double? {
        switch shape.kind {
        case .circle(let radius):
            let d = distance(shape.longitude, shape.latitude, longitude, latitude)
            return d > radius * shape.conversion ? nil : d
        case .box(let width, let height):
            let lonDistance = distance(longitude, latitude, shape.longitude, latitude)
            let latDistance = distance(longitude, latitude, longitude, shape.latitude)
            if lonDistance > width * shape.conversion / 2 || latDistance > height * shape.conversion / 2 { return nil }
            return distance(shape.longitude, shape.latitude, longitude, latitude)
        }
    }

    /// Meters per unit (`extractUnitOrReply`), case-insensitive.
    static func unit(_ word: [UInt8]) -> Double? {
        switch String(decoding: word, as: UTF8.self).lowercased() {
        case "m": return 1
        case "km": return 1000
        case "ft": return 0.3048
        case "mi": return 1609.34
        default: return nil
        }
    }
}
