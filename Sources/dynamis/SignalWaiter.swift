import Foundation
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#endif

/// The write end of the self-pipe the signal handler reports to (set once, before the handler).
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1

/// Catches SIGTERM and SIGINT from the moment it is created, whatever signal mask the process
/// inherited: a process-wide handler writes the signal number to a pipe, and a dedicated thread,
/// which unblocks both signals for itself (so at least one thread can take them even when the
/// parent passed them on blocked), reads it. A signal that arrives while the node is still
/// starting is kept until `wait()`.
final class TerminationSignals: Sendable {
    private struct State {
        var received: String?
        var waiter: CheckedContinuation<String, Never>?
    }
    private let state = NIOLockedValueBox(State())

    init() {
        var fds: [Int32] = [0, 0]
        pipe(&fds)
        signalPipeWriteEnd = fds[1]
        let readEnd = fds[0]
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { number in
            var byte = UInt8(truncatingIfNeeded: number)
            _ = write(signalPipeWriteEnd, &byte, 1)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = Int32(SA_RESTART)
        sigaction(SIGTERM, &action, nil)
        sigaction(SIGINT, &action, nil)

        let state = self.state
        let thread = Thread {
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGTERM)
            sigaddset(&set, SIGINT)
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
            var byte: UInt8 = 0
            while read(readEnd, &byte, 1) != 1 {}
            let name = Int32(byte) == SIGINT ? "SIGINT" : "SIGTERM"
            let waiter = state.withLockedValue { s -> CheckedContinuation<String, Never>? in
                s.received = name
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume(returning: name)
        }
        thread.name = "dynamis-signals"
        thread.start()
    }

    func wait() async -> String {
        await withCheckedContinuation { (continuation: CheckedContinuation<String, Never>) in
            let already = state.withLockedValue { s -> String? in
                if let received = s.received { return received }
                s.waiter = continuation
                return nil
            }
            if let already { continuation.resume(returning: already) }
        }
    }
}
