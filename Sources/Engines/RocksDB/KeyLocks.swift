import NIOConcurrencyHelpers

/// Striped per-key locks, as Kvrocks' lock manager: read-modify-write commands hold their
/// keys' stripes from read to write, and grouped blind writes hold them while committing, so
/// clients on different event loops never lose an update. Several stripes are always taken in
/// ascending order, so holders cannot deadlock.
final class KeyLocks: Sendable {
    static let stripeCount = 1024
    private let stripes: [NIOLock] = (0..<KeyLocks.stripeCount).map { _ in NIOLock() }

    @inline(__always)
    static func stripe(of token: UInt32) -> Int { Int(token & UInt32(stripeCount - 1)) }

    @inline(__always)
    func withLock<R>(stripe: Int, _ body: () throws -> R) rethrows -> R {
        try stripes[stripe].withLock(body)
    }

    /// Locks the given stripes (sorted ascending, no duplicates), runs `body`, unlocks.
    func withLocks<R>(sortedStripes: [Int], _ body: () throws -> R) rethrows -> R {
        for s in sortedStripes { stripes[s].lock() }
        defer { for s in sortedStripes.reversed() { stripes[s].unlock() } }
        return try body()
    }
}
