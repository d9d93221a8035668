import NIOCore
import Protocol

/// Whether a request may run, and reach this node's storage: one rule for every entry point (RESP
/// and memcached clients, MULTI's queueing, the coordinator's own replica, peers), returning a
/// typed cause. Each entry point counts the refusal and answers it in its own protocol.
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

    /// Why a RESP request has no command to run (the front of `command(_:from:forwardsCommands:)`).
    enum Rejection: Error, Equatable {
        /// Not in the table, or not offered at this entry point (a forwarding engine's command on
        /// the RocksDB engine, a peer-only command from a client, a connection command from a peer).
        case unknownCommand
        /// The wrong number of arguments for the row.
        case arity(StaticString)
        /// The client has not authenticated and the row needs it.
        case noAuth

        static func == (a: Rejection, b: Rejection) -> Bool {
            switch (a, b) {
            case (.unknownCommand, .unknownCommand), (.noAuth, .noAuth): true
            case (.arity(let x), .arity(let y)): x.description == y.description
            default: false
            }
        }

        /// The `/metrics` error cause it counts in.
        var cause: ErrorCause {
            switch self {
            case .unknownCommand: .unknownCommand
            case .arity: .arity
            case .noAuth: .noauth
            }
        }

        /// Redis's error text, without the leading `-`.
        func message(_ arguments: [ByteBuffer]) -> String {
            switch self {
            case .unknownCommand: String(decoding: UnknownCommand.message(arguments), as: UTF8.self)
            case .arity(let name): "ERR wrong number of arguments for '\(name)' command"
            case .noAuth: "NOAUTH Authentication required."
            }
        }
    }

    /// Who sent a RESP request.
    enum Entry {
        /// A client; `authenticated` when AUTH is not required or was given.
        case client(authenticated: Bool)
        /// A peer's coordinator, which answered connection commands itself and checked AUTH.
        case peer
    }

    /// The row to run for `arguments`, or why there is none, in Redis 7.0's order: the name, then
    /// the argument count, then authentication (`GET` alone answers the arity error unauthenticated).
    @inline(__always)
    static func command(_ arguments: [ByteBuffer], from entry: Entry, forwardsCommands: Bool) -> Result<CommandSpec, Rejection> {
        guard let spec = CommandTable.lookup(arguments[0]), forwardsCommands || !spec.flags.contains(.forwardable) else {
            return .failure(.unknownCommand)
        }
        switch entry {
        case .client(let authenticated):
            if spec.flags.contains(.peerOnly) { return .failure(.unknownCommand) }
            guard spec.acceptsArgumentCount(arguments.count) else { return .failure(.arity(spec.name)) }
            guard authenticated || spec.flags.contains(.noAuth) else { return .failure(.noAuth) }
        case .peer:
            if spec.flags.contains(.connection) { return .failure(.unknownCommand) }
            guard spec.acceptsArgumentCount(arguments.count) else { return .failure(.arity(spec.name)) }
        }
        return .success(spec)
    }

    /// Commands the table refuses (`.refused` rows), and blocking ones where the engine would
    /// wait on a connection other clients share (`sharedConnection`: a forwarding engine, or a
    /// peer's request).
    @inline(__always)
    static func check(_ spec: CommandSpec, sharedConnection: Bool) -> Refusal? {
        if spec.isUnsupported || (sharedConnection && spec.flags.contains(.blocking)) { return .unsupported(spec.text) }
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
