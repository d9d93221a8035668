import Engines
import Protocol
import NIOCore

/// One event loop's engine session and the connections waiting for its grouped writes.
///
/// A connection whose replies acknowledge grouped writes does not flush at the end of its read
/// burst; it waits here, and one task, run after the loop has handled all of this pass's
/// reads, commits the whole loop's group once and then flushes every waiting connection.
final class LoopSession: @unchecked Sendable {  // only used on its own event loop (asserted in wait)
    let eventLoop: EventLoop
    let session: any EngineSession
    /// Routes requests to replicas when the node has peers (set once at startup).
    var coordinator: Coordinator?
    /// Counts cluster installs on this loop: only the newest one swaps its coordinator in.
    var clusterGeneration = 0
    private var waiting: [any CommitWaiter] = []
    private var scheduled = false
    /// This loop's share of the node's counters (plain integers: only this loop touches them).
    var counters = LoopCounters()

    init(eventLoop: EventLoop, session: any EngineSession) {
        self.eventLoop = eventLoop
        self.session = session
    }

    /// True when a connection's buffered replies must wait for the group's commit.
    var mustWait: Bool { session.hasPendingWrites || session.failure != nil }

    /// Queues a connection for the end of the pass; once per pass, however often it asks.
    func wait(_ handler: any CommitWaiter) {
        eventLoop.preconditionInEventLoop()
        guard !handler.waitingForCommit else { return }
        handler.waitingForCommit = true
        waiting.append(handler)
        guard !scheduled else { return }
        scheduled = true
        // Tasks run after the loop's current batch of I/O events: every connection that read
        // in this pass has added its writes by then.
        eventLoop.execute { self.commitAndFlush() }
    }

    /// Ends the pass with a commit (and a flush of forwarded requests) even when no connection
    /// waits for it: what a coordinator runs on its own (hint replay, read repair, failover
    /// from a peer's answer) has no client read burst whose end would do it.
    func commitSoon() {
        guard !scheduled else { return }
        scheduled = true
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
        for handler in handlers {
            handler.waitingForCommit = false
            handler.flushAfterCommit(failure: failure)
        }
        return failure
    }
}

/// A connection whose buffered replies wait for the loop's grouped writes to be committed.
protocol CommitWaiter: AnyObject {
    /// Set by `LoopSession.wait` until the commit; only the loop session changes it.
    var waitingForCommit: Bool { get set }
    func flushAfterCommit(failure: String?)
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

    var all: [LoopSession] { Array(sessions.values) }

    /// The session of `loop`, for a channel of that loop.
    func session(for loop: EventLoop) -> LoopSession {
        sessions[ObjectIdentifier(loop)]!
    }
}

/// Request and connection counters of one event loop; summed across loops for `/info`.
struct LoopCounters: Sendable {
    var readRequests = 0
    var writeRequests = 0
    var otherRequests = 0
    var errorReplies = 0
    var refusedByState = 0
    var connectionsOpened = 0
    var connectionsClosed = 0
    /// Error replies, by cause (see `ErrorCause`).
    var errors = [Int](repeating: 0, count: ErrorCause.allCases.count)
    /// From reading a request to writing its reply, by class.
    var readLatency = LatencyHistogram()
    var writeLatency = LatencyHistogram()
    /// Requests to each peer (by peer index), from this loop's links.
    var peers: [PeerCounters] = []
    /// Request payload sizes (the command's argument bytes).
    var payloadSizes = SizeHistogram()
    /// Client connections the node closed itself, by cause (see `DisconnectCause`).
    var disconnects = [Int](repeating: 0, count: DisconnectCause.allCases.count)
    /// Requests this node's own datastore ran, by Dynomite's `redis_req_*` class, and their
    /// argument bytes by direction (`/info`'s datastore object).
    var datastoreRequests = [Int](repeating: 0, count: DatastoreStatsClass.allCases.count)
    var readRequestBytes = 0
    var writeRequestBytes = 0

    /// Counts a request that reaches this node's own datastore (`bytes`: its arguments' size).
    @inline(__always)
    mutating func countDatastore(_ spec: CommandSpec, bytes: Int) {
        datastoreRequests[spec.statsClass.rawValue] += 1
        if spec.flags.contains(.write) { writeRequestBytes &+= bytes } else { readRequestBytes &+= bytes }
    }

    @inline(__always)
    mutating func countDatastore(_ spec: CommandSpec, _ args: [ByteBuffer]) {
        var bytes = 0
        for argument in args { bytes &+= argument.readableBytes }
        countDatastore(spec, bytes: bytes)
    }

    static func + (a: LoopCounters, b: LoopCounters) -> LoopCounters {
        LoopCounters(readRequests: a.readRequests + b.readRequests, writeRequests: a.writeRequests + b.writeRequests,
                     otherRequests: a.otherRequests + b.otherRequests, errorReplies: a.errorReplies + b.errorReplies,
                     refusedByState: a.refusedByState + b.refusedByState,
                     connectionsOpened: a.connectionsOpened + b.connectionsOpened,
                     connectionsClosed: a.connectionsClosed + b.connectionsClosed,
                     errors: zip(a.errors, b.errors).map { $0 + $1 },
                     readLatency: a.readLatency + b.readLatency, writeLatency: a.writeLatency + b.writeLatency,
                     peers: (0..<max(a.peers.count, b.peers.count)).map { i in
                         (i < a.peers.count ? a.peers[i] : PeerCounters()) + (i < b.peers.count ? b.peers[i] : PeerCounters())
                     },
                     payloadSizes: a.payloadSizes + b.payloadSizes,
                     disconnects: zip(a.disconnects, b.disconnects).map { $0 + $1 },
                     datastoreRequests: zip(a.datastoreRequests, b.datastoreRequests).map { $0 + $1 },
                     readRequestBytes: a.readRequestBytes + b.readRequestBytes,
                     writeRequestBytes: a.writeRequestBytes + b.writeRequestBytes)
    }
}

extension LoopSessions {
    /// The node's counters: each loop's, read on that loop, summed.
    func totals() -> EventLoopFuture<LoopCounters> {
        let futures = all.map { session in
            session.eventLoop.submit {
                var counters = session.counters
                counters.peers = session.coordinator?.links.counters() ?? []
                return counters
            }
        }
        return EventLoopFuture.reduce(LoopCounters(), futures, on: futures[0].eventLoop) { $0 + $1 }
    }
}

/// Why a client got an error reply instead of its command's own answer (`/metrics`).
enum ErrorCause: Int, CaseIterable, Sendable {
    case protocolError, unknownCommand, arity, noauth, nodeState, storage, peer

    var label: String {
        switch self {
        case .protocolError: "protocol"
        case .unknownCommand: "unknown_command"
        case .arity: "arity"
        case .noauth: "noauth"
        case .nodeState: "node_state"
        case .storage: "storage"
        case .peer: "peer"
        }
    }
}

/// Why the node closed a client connection itself.
enum DisconnectCause: Int, CaseIterable, Sendable {
    /// Refused on arrival: `maxclients` connections were open.
    case maxClients
    /// Its unread replies passed `client_output_buffer_limit`.
    case outputBufferLimit
    /// Idle longer than `client_timeout`.
    case idleTimeout
    /// Its unparsed input passed the query buffer limit.
    case queryBufferLimit

    var label: String {
        switch self {
        case .maxClients: "maxclients"
        case .outputBufferLimit: "output_buffer_limit"
        case .idleTimeout: "idle_timeout"
        case .queryBufferLimit: "query_buffer_limit"
        }
    }
}

/// What happened to the requests sent to one peer (`/metrics`, `/info`'s peer fields).
struct PeerCounters: Sendable, Equatable {
    /// Framed and queued for the peer.
    var sent = 0
    /// Answered (including answers that are the command's own errors).
    var answered = 0
    /// Refused by the peer (its node state), answered with a failure frame.
    var refused = 0
    var timedOut = 0
    /// In flight when the connection was lost.
    var lost = 0
    /// Not sent: the peer was down or too many requests were in flight.
    var notSent = 0

    static func + (a: PeerCounters, b: PeerCounters) -> PeerCounters {
        PeerCounters(sent: a.sent + b.sent, answered: a.answered + b.answered, refused: a.refused + b.refused,
                     timedOut: a.timedOut + b.timedOut, lost: a.lost + b.lost, notSent: a.notSent + b.notSent)
    }
}
