import Engines
import NIOPosix
import Synchronization

/// Runs the RocksDB engine's background sweeps (expired keys, orphaned collection elements) on
/// a thread of their own. They take key stripes with a blocking lock; on an event loop they
/// could wait for a stripe that the same loop's open write group holds until its commit, a
/// task that can only run after them: the loop, and every client waiting on the stripe, would
/// hang. Here they wait for that commit like any other loop would.
final class BackgroundSweeper: Sendable {
    private let pool = NIOThreadPool(numberOfThreads: 1)
    /// A pass is queued or running: ticks meanwhile are skipped rather than piling up.
    private let busy = Atomic<Bool>(false)
    private let engine: RocksDBEngine

    init(engine: RocksDBEngine) {
        self.engine = engine
        pool.start()
    }

    /// Queues one pass of both sweeps unless one is still queued or running.
    func tick() {
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        pool.submit { [self] state in
            defer { busy.store(false, ordering: .releasing) }
            guard case .active = state else { return }
            engine.sweepExpired(limit: 2000)
            engine.sweepOrphanedElements(limit: 2000, pacedAt: .now)
        }
    }

    /// Waits for a running pass to end; call before the engine closes.
    func shutdown() async {
        try? await pool.shutdownGracefully()
    }
}
