import NIOConcurrencyHelpers
import Synchronization

/// Anti-entropy's progress and the operator's repair requests, shared between the admin
/// handler (which asks for a repair and reports) and the loop that runs passes.
final class RepairStatus: Sendable {
    /// The figures' prefix: `repair` (anti-entropy) or `stream` (a membership change's ranges).
    let prefix: String

    init(prefix: String = "repair") { self.prefix = prefix }

    /// A token range an operator asked to repair (`/repair`), waiting for the loop to start it.
    private let requested = NIOLockedValueBox<ClosedRange<UInt32>?>(nil)

    let running = Atomic<Bool>(false)
    let passesCompleted = Atomic<Int>(0)
    /// Ranges (this node's range ∩ another rack's owner) in the current or last pass, and done.
    let rangesTotal = Atomic<Int>(0)
    let rangesDone = Atomic<Int>(0)
    let rangesFailed = Atomic<Int>(0)
    let segmentsCompared = Atomic<Int>(0)
    let segmentsDiffering = Atomic<Int>(0)
    let keysCompared = Atomic<Int>(0)
    /// Keys whose newer state came from the other replica / went to it.
    let keysPulled = Atomic<Int>(0)
    let keysPushed = Atomic<Int>(0)
    let transferErrors = Atomic<Int>(0)
    /// Redis engine: keys the copies disagree on with no majority (left alone).
    let keysAmbiguous = Atomic<Int>(0)
    /// Request and reply bytes exchanged with other replicas (digests, key lists, states).
    let bytesExchanged = Atomic<Int>(0)
    /// Unix ms when the last pass finished (0: none yet).
    let lastPassFinishedAt = Atomic<Int64>(0)

    /// Asks for a repair of `range` (merged with one already waiting).
    func request(_ range: ClosedRange<UInt32>) {
        requested.withLockedValue { waiting in
            waiting = waiting.map { min($0.lowerBound, range.lowerBound)...max($0.upperBound, range.upperBound) } ?? range
        }
    }

    /// The waiting request, if any, now taken.
    func takeRequest() -> ClosedRange<UInt32>? {
        requested.withLockedValue { waiting in
            defer { waiting = nil }
            return waiting
        }
    }

    var isRequested: Bool { requested.withLockedValue { $0 != nil } }

    /// The figures for `/info` and `/metrics`.
    var figures: [(name: String, value: Int)] {
        let figures: [(name: String, value: Int)] = [
         ("running", running.load(ordering: .relaxed) || isRequested ? 1 : 0),
         ("passes", passesCompleted.load(ordering: .relaxed)),
         ("ranges_total", rangesTotal.load(ordering: .relaxed)),
         ("ranges_done", rangesDone.load(ordering: .relaxed)),
         ("ranges_failed", rangesFailed.load(ordering: .relaxed)),
         ("segments_compared", segmentsCompared.load(ordering: .relaxed)),
         ("segments_differing", segmentsDiffering.load(ordering: .relaxed)),
         ("keys_compared", keysCompared.load(ordering: .relaxed)),
         ("keys_pulled", keysPulled.load(ordering: .relaxed)),
         ("keys_pushed", keysPushed.load(ordering: .relaxed)),
         ("transfer_errors", transferErrors.load(ordering: .relaxed)),
         ("keys_ambiguous", keysAmbiguous.load(ordering: .relaxed)),
         ("bytes_exchanged", bytesExchanged.load(ordering: .relaxed)),
         ("last_pass_finished_at", Int(lastPassFinishedAt.load(ordering: .relaxed)))]
        return figures.map { ("\(prefix)_\($0.name)", $0.value) }
    }
}
