/// Whether a client connection reads and runs its next request: the rules that were four flags
/// of the handler (a blocked command, backpressure, CLIENT PAUSE, closing) as one state whose
/// mutating methods say what the handler must do. It does no I/O, so it is tested directly
/// (`ConnectionFlowTests`); `ReplyQueue` holds the other half of the connection's state, the
/// order of its replies.
struct ConnectionFlow {
    /// Places for replies on their way (peers, a backend, blocked pops) beyond which no request
    /// is read: the backpressure that keeps a fast client from queueing without bound in front
    /// of a slow replica. Reading resumes once half of them have arrived.
    static let maxRepliesInFlight = 4096

    enum State: Equatable {
        /// Reading and running requests.
        case running
        /// A blocking command (its reply numbered `sequence`) waits: nothing after it runs until
        /// it answers, as in Redis. Input is still read (bounded by the query buffer limit).
        case blocked(sequence: Int)
        /// Too many replies on their way: reading stopped until half of them arrive.
        case full
        /// CLIENT PAUSE holds the next command back: reading stopped until the pause's check.
        case heldByPause
        /// The connection closes once its replies are out (or at once, by the handler's choice):
        /// nothing more is read or run.
        case closing
    }

    private(set) var state = State.running

    /// What the handler does after a transition.
    enum Action: Equatable {
        case none
        /// Stop reading from the socket (autoRead off).
        case stopReading
        /// Read again (autoRead as the channel's writability allows) and run the requests that
        /// waited in the input.
        case resume
    }

    /// Before the next request is parsed: whether it may run. `.stopReading` when the replies on
    /// their way reached the limit (the state is then `full`).
    mutating func mayRunNext(placesHeld: Int) -> (run: Bool, action: Action) {
        guard state == .running else { return (false, .none) }
        if placesHeld >= Self.maxRepliesInFlight {
            state = .full
            return (false, .stopReading)
        }
        return (true, .none)
    }

    /// The request just run is a blocking command still waiting for its reply `sequence`.
    mutating func blocked(on sequence: Int) {
        if state == .running { state = .blocked(sequence: sequence) }
    }

    /// Reply `sequence` arrived. True when it unblocks the connection: the requests that queued
    /// behind the blocking command run now.
    mutating func replyArrived(_ sequence: Int) -> Bool {
        guard state == .blocked(sequence: sequence) else { return false }
        state = .running
        return true
    }

    /// CLIENT PAUSE holds the parsed command back: it goes back to the input and reading stops
    /// until `pauseCheckDue`.
    mutating func holdForPause() -> Action {
        guard state == .running else { return .none }
        state = .heldByPause
        return .stopReading
    }

    /// The pause's timer fired: the held command is tried again, once the replies on their way
    /// allow it (it may be held again if the pause is still in force).
    mutating func pauseCheckDue(placesHeld: Int) -> Action {
        guard state == .heldByPause else { return .none }
        state = .full
        return repliesDrained(placesHeld: placesHeld)
    }

    /// Replies were sent: a connection stopped by backpressure reads again once fewer than half
    /// the limit are on their way.
    mutating func repliesDrained(placesHeld: Int) -> Action {
        guard state == .full, placesHeld < Self.maxRepliesInFlight / 2 else { return .none }
        state = .running
        return .resume
    }

    /// The connection is to close (QUIT, a protocol error, a failed commit, a limit, CLIENT
    /// KILL). False when it was already closing, so a cause is logged and counted once.
    @discardableResult
    mutating func close() -> Bool {
        guard state != .closing else { return false }
        state = .closing
        return true
    }

    var isClosing: Bool { state == .closing }

    /// Reading from the socket is stopped (autoRead stays off whatever the writability).
    var readsStopped: Bool { state == .full || state == .heldByPause }

    /// `client_timeout` may close the connection: not while a blocking command waits (Redis
    /// does not time blocked clients out), and not once it is closing anyway.
    var mayTimeOut: Bool {
        switch state {
        case .running, .full, .heldByPause: true
        case .blocked, .closing: false
        }
    }
}
