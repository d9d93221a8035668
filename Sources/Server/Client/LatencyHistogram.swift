#if canImport(Glibc)
import Glibc
#endif

/// Request latency, in fixed buckets, kept per event loop (no sharing on the request path) and
/// summed when `/metrics` or `/info` asks.
struct LatencyHistogram: Sendable {
    /// Bucket upper bounds in microseconds (Prometheus `le`), then +Inf.
    static let bounds: [Int] = [50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000]
    var counts = [Int](repeating: 0, count: LatencyHistogram.bounds.count + 1)
    var sumMicros = 0
    var maxMicros = 0

    var count: Int { counts.reduce(0, +) }

    mutating func record(micros: Int, times: Int = 1) {
        var i = 0
        while i < Self.bounds.count, micros > Self.bounds[i] { i += 1 }
        counts[i] += times
        sumMicros += micros * times
        if micros > maxMicros { maxMicros = micros }
    }

    static func + (a: LatencyHistogram, b: LatencyHistogram) -> LatencyHistogram {
        var out = a
        for i in out.counts.indices { out.counts[i] += b.counts[i] }
        out.sumMicros += b.sumMicros
        out.maxMicros = max(a.maxMicros, b.maxMicros)
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
            if seen >= rank { return i < Self.bounds.count ? min(Self.bounds[i], maxMicros) : maxMicros }
        }
        return maxMicros
    }

    var meanMicros: Int { count == 0 ? 0 : sumMicros / count }
}

/// A monotonic clock in microseconds (one call per read burst and per reply flush).
@inline(__always)
func monotonicMicros() -> Int {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec * 1_000_000 + ts.tv_nsec / 1_000
}
