import NIOCore
import Protocol

/// How the RocksDB engine runs one command: the engine's half of the command's table row,
/// registered by the family's file next to the code it calls (`StringCommands.swift` registers
/// GET) and found by the command's id, with no switch over commands anywhere in the engine.
enum RocksDBHandler: Sendable {
    typealias Run = @Sendable (RocksDBSession, [ByteBuffer], inout ReplyWriter) throws(RocksDBError) -> Void
    typealias StoreRun = @Sendable (RocksDBSession, [ByteBuffer], inout ReplyWriter) throws(StoreError) -> Void
    /// Runs once every grouped write before it is committed (so it sees them), or inside the
    /// pass's group when its row is `.groupable`.
    case run(Run)
    /// The same for a family moved onto its store (`Stores/`): its refusals arrive as a
    /// `StoreError` the engine words for the client, its storage failures as the command's failure.
    case store(StoreRun)
    /// A blind whole-value write (SET, SETEX, PSETEX, MSET): it may join the burst's batch of
    /// blind writes, committed once per event-loop pass (`RocksDBSession`).
    case blindWrite(StoreRun)
    /// A pop that may wait for data (`BlockingPops.swift`).
    case blockingPop(BlockingPop)
}

/// Which blocking pop a row is: what `BlockingPops.swift` needs to know, in place of the id.
enum BlockingPop: Sendable, Equatable {
    /// BLPOP and BRPOP (`list`), BZPOPMIN and BZPOPMAX: the first non-empty key's head
    /// (`fromStart`: the left end, or the lowest score) or tail.
    case first(list: Bool, fromStart: Bool)
    /// BLMPOP and BZMPOP: LMPOP's or ZMPOP's own parsing and reply, after the timeout.
    case multi(list: Bool)
    /// BLMOVE, and BRPOPLPUSH (`rpoplpush`: RIGHT to LEFT, no direction arguments).
    case move(rpoplpush: Bool)

    /// Moves push to a destination (argument 2), which may wake another client.
    var moves: Bool { if case .move = self { true } else { false } }
}

extension RocksDBSession {
    /// Every family's registrations, in one table indexed by `CommandID.rawValue`.
    static let handlerTable: [RocksDBHandler?] = {
        var table = [RocksDBHandler?](repeating: nil, count: CommandID.allCases.count)
        for (id, handler) in stringCommands + bitmapCommands + hyperLogLogCommands + geoCommands + keyspaceCommands
            + serverCommands + hashCommands + listCommands + setCommands + sortedSetCommands + nodeCommands {
            precondition(table[Int(id.rawValue)] == nil, "two RocksDB handlers registered for \(id)")
            table[Int(id.rawValue)] = handler
        }
        return table
    }()

    /// The handler of a command, if the engine serves it.
    @inline(__always)
    func handler(_ spec: CommandSpec) -> RocksDBHandler? { handlers[Int(spec.id.rawValue)] }
}
