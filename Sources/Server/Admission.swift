import Protocol

/// Whether a request may reach this node's storage: one rule for every entry point (RESP and
/// memcached clients, MULTI's queueing, the coordinator's own replica, peers), returning a typed
/// cause. Each entry point counts the refusal and answers it in its own protocol with `text`.
enum Admission {
    /// Why a request was refused.
    enum Refusal: Equatable {
        /// The node's state (`/state/...`) does not serve this kind of request (Dynomite's rule).
        case nodeState
        /// The command needs per-connection state on one server (pub/sub, replication, a blocking
        /// pop where a connection is shared or a replica would wait alone, a transaction on a
        /// forwarding engine): the row's name.
        case unsupported(String)

        /// The error text (RESP clients get it after `-`, memcached clients after
        /// `SERVER_ERROR `, peers as a failure frame).
        var text: String {
            switch self {
            case .nodeState: "ERR Dynomite: Dynomite's current state does not allow this request"
            case .unsupported(let name):
                "ERR '\(name)' is not supported by Dynamis: it needs per-connection state on one server (subscriptions, transactions, blocking pops, replication)"
            }
        }

        /// The text after the memcached protocol's `SERVER_ERROR `.
        var memcachedText: Substring { text.dropFirst(4) }
    }

    /// Commands the table refuses (`.refused` rows), and blocking ones where the engine would
    /// wait on a connection other clients share (`sharedConnection`: a forwarding engine, or a
    /// peer's request).
    @inline(__always)
    static func check(_ spec: CommandSpec, sharedConnection: Bool) -> Refusal? {
        if spec.id == .refused || (sharedConnection && spec.flags.contains(.blocking)) { return .unsupported(spec.text) }
        return nil
    }

    /// Dynomite's node states: STANDBY serves nothing; WRITES_ONLY and RESUMING serve writes
    /// but no reads; NORMAL serves everything. Read on every request: one comparison when normal.
    @inline(__always)
    static func check(_ state: NodeState, isWrite: Bool) -> Refusal? {
        if state == .normal { return nil }
        return (isWrite ? state.allowsWrites : state.allowsReads) ? nil : .nodeState
    }
}
