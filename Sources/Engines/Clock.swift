import Foundation
import Synchronization
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

/// A write's version: a hybrid logical clock reading packed with the stamping node's id, so
/// that comparing two versions as integers orders writes last-writer-wins.
///
/// Layout (64 bits): Unix milliseconds (42 bits, good until 2109) ‖ counter (10 bits) ‖ node id
/// (12 bits). It fits the 8-byte field every metadata record already reserved for it, so no
/// stored record changes format; records written before versions existed hold a microsecond
/// timestamp there, which reads as a version older than any new one.
public enum WriteVersion {
    public static let nodeBits = 12
    public static let counterBits = 10

    /// The version's wall-clock part, Unix ms.
    @inline(__always)
    public static func millis(_ version: UInt64) -> Int64 { Int64(version >> UInt64(nodeBits + counterBits)) }

    /// A node's id from its name: stable across restarts, needing no configuration.
    public static func nodeID(name: String) -> UInt16 {
        var hash: UInt32 = 2_166_136_261
        for byte in name.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return UInt16(hash & ((1 << UInt32(nodeBits)) - 1))
    }
}

/// The node's hybrid logical clock (Kulkarni et al.): versions follow wall time, never repeat,
/// never go backwards (not when the wall clock steps back, not across restarts: the clock
/// reserves time ahead in a file and starts past the reservation), and move past any version
/// seen from a peer, so a write coordinated after another is stamped newer even when the two
/// coordinators' clocks disagree by a little.
public final class HybridClock: Sendable {
    /// (ms ‖ counter), without the node id.
    private let logical: Atomic<UInt64>
    private let node: UInt64
    private let reservationFile: String?
    /// The ms up to which the reservation file already covers.
    private let reserved: Atomic<Int64>
    public static let reservationStep: Int64 = 10_000

    /// `reservationFile`: where the clock persists its high-water mark (nil: not persisted).
    public init(nodeID: UInt16, reservationFile: String? = nil) {
        node = UInt64(nodeID) & ((1 << UInt64(WriteVersion.nodeBits)) - 1)
        self.reservationFile = reservationFile
        var start = WallClock.nowMillis()
        if let reservationFile, let text = try? String(contentsOfFile: reservationFile, encoding: .utf8),
           let saved = Int64(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            start = max(start, saved + 1)
        }
        logical = Atomic(UInt64(start) << UInt64(WriteVersion.counterBits))
        reserved = Atomic(0)
        reserve(through: start)
    }

    /// A new version, newer than every one this clock issued or observed.
    @inline(__always)
    public func next() -> UInt64 {
        let wall = UInt64(WallClock.nowMillis()) << UInt64(WriteVersion.counterBits)
        var current = logical.load(ordering: .relaxed)
        while true {
            let proposed = max(current &+ 1, wall)
            let (exchanged, original) = logical.compareExchange(expected: current, desired: proposed, ordering: .relaxed)
            if exchanged {
                let ms = Int64(proposed >> UInt64(WriteVersion.counterBits))
                if ms >= reserved.load(ordering: .relaxed) { reserve(through: ms) }
                return proposed << UInt64(WriteVersion.nodeBits) | node
            }
            current = original
        }
    }

    /// A version seen from a peer: later versions of this clock are newer than it.
    @inline(__always)
    public func observe(_ version: UInt64) {
        let seen = version >> UInt64(WriteVersion.nodeBits)
        var current = logical.load(ordering: .relaxed)
        while seen > current {
            let (exchanged, original) = logical.compareExchange(expected: current, desired: seen, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    /// Persists a high-water mark `reservationStep` ahead, so a restart starts past anything
    /// issued before it (written at most once per step; a rare small file write).
    private func reserve(through ms: Int64) {
        let mark = ms + Self.reservationStep
        reserved.store(mark, ordering: .relaxed)
        guard let reservationFile else { return }
        let temporary = reservationFile + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { return }
        let text = Array("\(mark)\n".utf8)
        _ = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
        close(fd)
        rename(temporary, reservationFile)
    }
}
