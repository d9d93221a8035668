import Engines
import NIOCore

/// One event loop's engine session and the connections waiting for its grouped writes.
///
/// A connection whose replies acknowledge grouped writes does not flush at the end of its read
/// burst; it waits here, and one task, run after the loop has handled all of this pass's
/// reads, commits the whole loop's group once and then flushes every waiting connection.
final class LoopSession: @unchecked Sendable {  // only used on its own event loop (asserted in wait)
    let eventLoop: EventLoop
    let session: any EngineSession
    private var waiting: [ClientConnectionHandler] = []
    private var scheduled = false

    init(eventLoop: EventLoop, session: any EngineSession) {
        self.eventLoop = eventLoop
        self.session = session
    }

    /// True when a connection's buffered replies must wait for the group's commit.
    var mustWait: Bool { session.hasPendingWrites || session.failure != nil }

    func wait(_ handler: ClientConnectionHandler) {
        eventLoop.preconditionInEventLoop()
        waiting.append(handler)
        guard !scheduled else { return }
        scheduled = true
        // Tasks run after the loop's current batch of I/O events: every connection that read
        // in this pass has added its writes by then.
        eventLoop.execute { self.commitAndFlush() }
    }

    /// Commits the group now (a connection has buffered too much to wait for the end of the
    /// pass): every waiting connection is flushed, and the caller gets the outcome too.
    func commitNow() -> String? {
        commitAndFlush()
    }

    @discardableResult
    private func commitAndFlush() -> String? {
        scheduled = false
        let failure = session.endOfBurst()
        let handlers = waiting
        waiting.removeAll(keepingCapacity: true)
        for handler in handlers { handler.flushAfterCommit(failure: failure) }
        return failure
    }
}

/// The loop sessions of a node, one per event loop, found by the loop's identity.
final class LoopSessions: Sendable {
    private let sessions: [ObjectIdentifier: LoopSession]

    init(group: EventLoopGroup, engine: any StorageEngine) {
        var sessions: [ObjectIdentifier: LoopSession] = [:]
        for loop in group.makeIterator() {
            sessions[ObjectIdentifier(loop)] = LoopSession(eventLoop: loop, session: engine.makeSession(eventLoop: loop))
        }
        self.sessions = sessions
    }

    /// The session of `loop`, for a channel of that loop.
    func session(for loop: EventLoop) -> LoopSession {
        sessions[ObjectIdentifier(loop)]!
    }
}
