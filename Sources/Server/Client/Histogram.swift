#if canImport(Glibc)
import Glibc
#endif

/// The bucket upper bounds of one kind of histogram (Prometheus `le`), then +Inf.
protocol HistogramBounds {
    static var bounds: [Int] { get }
}

/// Microseconds, 50 µs to 2.5 s.
enum LatencyBounds: HistogramBounds {
    static let bounds = [50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000]
}

/// Bytes, 16 B to 16 MB.
enum SizeBounds: HistogramBounds {
    static let bounds = [16, 64, 256, 1_024, 4_096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216]
}

typealias LatencyHistogram = Histogram<LatencyBounds>
typealias SizeHistogram = Histogram<SizeBounds>

/// Values in fixed buckets, kept per event loop (no sharing on the request path) and summed
/// when `/metrics` or `/info` asks.
struct Histogram<Bounds: HistogramBounds>: Sendable {
    static var bounds: [Int] { Bounds.bounds }
    var counts = [Int](repeating: 0, count: Bounds.bounds.count + 1)
    var sum = 0
    var maximum = 0

    var count: Int { counts.reduce(0, +) }

    mutating func record(_ value: Int, times: Int = 1) {
        var i = 0
        while i < Self.bounds.count, value > Self.bounds[i] { i += 1 }
        counts[i] += times
        sum += value * times
        if value > maximum { maximum = value }
    }

    static func + (a: Histogram, b: Histogram) -> Histogram {
        var out = a
        for i in out.counts.indices { out.counts[i] += b.counts[i] }
        out.sum += b.sum
        out.maximum = max(a.maximum, b.maximum)
        return out
    }

    /// The bucket bound at or below which `fraction` of requests fall (an upper estimate, as
    /// bucketed histograms give); the largest seen for the last bucket.
    func quantile(_ fraction: Double) -> Int {
        let total = count
        guard total > 0 else { return 0 }
        let rank = Int((Double(total) * fraction).rounded(.up))
        var seen = 0
        for (i, c) in counts.enumerated() {
            seen += c
            if seen >= rank { return i < Self.bounds.count ? min(Self.bounds[i], maximum) : maximum }
        }
        return maximum
    }

    var mean: Int { count == 0 ? 0 : sum / count }
}

/// A monotonic clock in microseconds (one call per read burst and per reply flush).
@inline(__always)
func monotonicMicros() -> Int {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec * 1_000_000 + ts.tv_nsec / 1_000
}
