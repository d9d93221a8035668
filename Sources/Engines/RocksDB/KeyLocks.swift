#if canImport(Glibc)
import Glibc
#endif

/// Striped per-key locks, as Kvrocks' lock manager: read-modify-write commands hold their
/// keys' stripes from read to write, and grouped writes hold them until their commit, so
/// clients on different event loops never lose an update.
///
/// Deadlock freedom: a session only ever *waits* for a stripe while holding none, or while
/// holding a sorted prefix of the stripes it is taking in ascending order; a session that
/// holds stripes across commands (a loop pass's group) only *tries* further stripes, and on
/// failure commits and releases everything before it waits.
final class KeyLocks: @unchecked Sendable {  // the mutexes are the synchronization; the pointer never changes
    static let stripeCount = 16_384
    private let mutexes: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutexes = .allocate(capacity: Self.stripeCount)
        for i in 0..<Self.stripeCount { pthread_mutex_init(mutexes + i, nil) }
    }

    deinit {
        for i in 0..<Self.stripeCount { pthread_mutex_destroy(mutexes + i) }
        mutexes.deallocate()
    }

    @inline(__always)
    static func stripe(of token: UInt32) -> Int { Int(token & UInt32(stripeCount - 1)) }

    /// Waits for the stripe. The thread that locks a stripe is the one that unlocks it.
    @inline(__always)
    func lock(_ stripe: Int) { pthread_mutex_lock(mutexes + stripe) }

    /// Takes the stripe if it is free, without waiting.
    @inline(__always)
    func tryLock(_ stripe: Int) -> Bool { pthread_mutex_trylock(mutexes + stripe) == 0 }

    @inline(__always)
    func unlock(_ stripe: Int) { pthread_mutex_unlock(mutexes + stripe) }

    @inline(__always)
    func withLock<R>(stripe: Int, _ body: () throws -> R) rethrows -> R {
        lock(stripe)
        defer { unlock(stripe) }
        return try body()
    }

    /// Locks the given stripes (sorted ascending, no duplicates), runs `body`, unlocks.
    func withLocks<R>(sortedStripes: [Int], _ body: () throws -> R) rethrows -> R {
        for s in sortedStripes { lock(s) }
        defer { for s in sortedStripes.reversed() { unlock(s) } }
        return try body()
    }
}
