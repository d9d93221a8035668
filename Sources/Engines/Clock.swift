#if canImport(Glibc)
import Glibc
#endif

/// Wall-clock time for expiry and write timestamps (public: CLIENT PAUSE deadlines use it too).
public enum WallClock {
    @inline(__always)
    public static func nowMicros() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000 &+ UInt64(ts.tv_nsec / 1000)
    }

    @inline(__always)
    public static func nowMillis() -> Int64 { Int64(nowMicros() / 1000) }
}
