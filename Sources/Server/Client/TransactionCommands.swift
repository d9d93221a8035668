import Engines
import NIOCore
import Protocol

/// A connection's MULTI state: outside a transaction, or queueing commands between MULTI and
/// EXEC/DISCARD. `doomed`: a command was refused while queueing (unknown, wrong arity, refused by
/// the node's state), so EXEC answers EXECABORT, as Redis's `CLIENT_DIRTY_EXEC` does.
enum TransactionQueue {
    case none
    case queueing([QueuedCommand], doomed: Bool)

    var isOpen: Bool {
        if case .queueing = self { return true }
        return false
    }

    /// MULTI: false when a transaction is already open (MULTI calls cannot be nested).
    mutating func begin() -> Bool {
        guard case .none = self else { return false }
        self = .queueing([], doomed: false)
        return true
    }

    /// Queues a command for EXEC (nothing outside a transaction).
    mutating func append(_ command: QueuedCommand) {
        guard case .queueing(var commands, let doomed) = self else { return }
        self = .none  // keeps `commands` uniquely referenced: the append does not copy
        commands.append(command)
        self = .queueing(commands, doomed: doomed)
    }

    /// A command was refused while queueing: EXEC will answer EXECABORT.
    mutating func doom() {
        guard case .queueing(let commands, _) = self else { return }
        self = .queueing(commands, doomed: true)
    }

    /// What EXEC finds.
    enum Ending {
        case notOpen
        case doomed
        case run([QueuedCommand])
    }

    /// EXEC or DISCARD: closes the transaction and says what it held.
    mutating func end() -> Ending {
        guard case .queueing(let commands, let doomed) = self else { return .notOpen }
        self = .none
        return doomed ? .doomed : .run(commands)
    }
}

/// MULTI/EXEC/DISCARD/WATCH/UNWATCH: the connection queues commands between MULTI and EXEC
/// (answering QUEUED, or the error that will make EXEC answer EXECABORT) and hands the queue
/// to the engine, which runs it atomically (see the RocksDB engine's TransactionCommands).
extension ClientConnectionHandler {
    private func transactionsRefusal(_ spec: CommandSpec) -> String? {
        if loop.coordinator != nil {
            return "ERR '\(spec.name)' is not supported in a Dynamis cluster: a transaction's keys live on different nodes"
        }
        // Forwarding engines share each backend connection between clients.
        if !session.supportsTransactions { return Admission.Refusal.unsupported(spec.text).text }
        return nil
    }

    /// A refused EXEC (Redis's `execCommandAbort`): any open transaction and every WATCH are
    /// dropped, in or out of MULTI.
    /// A request admission turned away: EXEC's own arity error discards the transaction (Redis's
    /// `execCommandAbort`, in or out of MULTI); any other rejection inside MULTI dooms it.
    func rejected(_ rejection: Admission.Rejection) {
        let message = rejection.message(arguments)
        if case .arity = rejection, CommandTable.lookup(arguments[0])?.id == .exec {
            return abortTransaction(because: String(message.dropFirst(4)))
        }
        state.transaction.doom()
        replyWriter.error(message)
    }

    func abortTransaction(because message: String) {
        state.transaction = .none
        session.unwatch(&state.watching)
        replyWriter.error("EXECABORT Transaction discarded because of: " + message)
    }

    func transactionCommand(_ spec: CommandSpec) {
        loop.counters.otherRequests += 1
        switch spec.id {
        case .multi:
            guard !state.transaction.isOpen else { return replyWriter.error("ERR MULTI calls can not be nested") }
            if let refusal = transactionsRefusal(spec) { return replyWriter.error(refusal) }
            _ = state.transaction.begin()
            replyWriter.ok()
        case .exec:
            switch state.transaction.end() {
            case .notOpen: return replyWriter.error("ERR EXEC without MULTI")
            case .doomed:
                session.unwatch(&state.watching)
                return replyWriter.error("EXECABORT Transaction discarded because of previous errors.")
            case .run(let queue):
                session.exec(queue, watching: state.watching, reply: &replyWriter)
                session.unwatch(&state.watching)
            }
        case .discard:
            // A doomed transaction is discarded like any other; only "not open" is an error.
            if case .notOpen = state.transaction.end() { return replyWriter.error("ERR DISCARD without MULTI") }
            session.unwatch(&state.watching)
            replyWriter.ok()
        case .watch:
            guard !state.transaction.isOpen else { return replyWriter.error("ERR WATCH inside MULTI is not allowed") }
            if let refusal = transactionsRefusal(spec) { return replyWriter.error(refusal) }
            session.watch(arguments[1...], into: &state.watching)
            replyWriter.ok()
        case .unwatch where !state.transaction.isOpen:
            session.unwatch(&state.watching)
            replyWriter.ok()
        default:
            queueCommand(spec)
        }
    }

    /// Inside MULTI: queue the command, or refuse it now (and fail the transaction).
    private func queueCommand(_ spec: CommandSpec) {
        if spec.id == .quit {
            // QUIT is not queued: it ends the connection (and the transaction) at once.
            state.transaction = .none
            session.unwatch(&state.watching)
            return executeConnectionCommand(spec, arguments)
        }
        if let refusal = Admission.check(spec, sharedConnection: false) {
            state.transaction.doom()
            return replyWriter.error(refusal.text)
        }
        if spec.id == .unwatch {
            state.transaction.append(.answered(ByteBuffer(string: "+OK\r\n")))
            return replyWriter.simple("QUEUED")
        }
        if spec.flags.contains(.connection) {
            // Answered now; the reply takes its place in EXEC's array.
            let saved = replyWriter
            replyWriter = ReplyWriter(buffer: ByteBufferAllocator().buffer(capacity: 64), resp3: saved.resp3)
            executeConnectionCommand(spec, arguments)
            let answer = replyWriter.buffer
            replyWriter = saved
            state.transaction.append(.answered(answer))
            return replyWriter.simple("QUEUED")
        }
        let isWrite = spec.flags.contains(.write)
        if let refusal = Admission.check(node.settings.state, isWrite: isWrite) {
            loop.counters.refusedByState += 1
            state.transaction.doom()
            return replyWriter.error(refusal.text)
        }
        if isWrite { loop.counters.writeRequests += 1 } else { loop.counters.readRequests += 1 }
        state.transaction.append(.engine(spec, arguments))
        replyWriter.simple("QUEUED")
    }
}
