/// Whether a request may reach this node's storage: one rule for every entry point (RESP and
/// memcached clients, MULTI's queueing, the coordinator's own replica, peers), returning a typed
/// cause. Each entry point counts the refusal and answers it in its own protocol with `text`.
enum Admission {
    /// Why a request was refused.
    enum Refusal: Equatable {
        /// The node's state (`/state/...`) does not serve this kind of request (Dynomite's rule).
        case nodeState

        /// The error text (RESP clients get it after `-`, memcached clients after
        /// `SERVER_ERROR `, peers as a failure frame).
        var text: String {
            switch self {
            case .nodeState: "ERR Dynomite: Dynomite's current state does not allow this request"
            }
        }

        /// The text after the memcached protocol's `SERVER_ERROR `.
        var memcachedText: Substring { text.dropFirst(4) }
    }

    /// Dynomite's node states: STANDBY serves nothing; WRITES_ONLY and RESUMING serve writes
    /// but no reads; NORMAL serves everything. Read on every request: one comparison when normal.
    @inline(__always)
    static func check(_ state: NodeState, isWrite: Bool) -> Refusal? {
        if state == .normal { return nil }
        return (isWrite ? state.allowsWrites : state.allowsReads) ? nil : .nodeState
    }
}
