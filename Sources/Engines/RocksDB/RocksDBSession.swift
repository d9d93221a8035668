import CRocksDB
import NIOCore
import Protocol

/// One event loop's session on the RocksDB engine, shared by the loop's connections: it runs
/// each command's handler (found by the command's id in `handlerTable`) over the loop's
/// storage layer (`RocksDBStorage`), words store refusals and storage failures, wakes blocked
/// clients, and drives EXEC.
final class RocksDBSession: EngineSession {
    let engine: RocksDBEngine
    let eventLoop: EventLoop
    /// The loop's storage layer: batches, group commit, WAL flush, lock stripes, the metadata
    /// overlay, scratch buffers and encoding, under the data-type stores.
    let storage: RocksDBStorage
    /// Keys pushed to during EXEC: blocked clients are woken once the commit is visible.
    var readyAfterCommit: [[UInt8]] = []

    /// `handlerTable`, held by the session so that a command's dispatch reads no global.
    let handlers = RocksDBSession.handlerTable

    init(engine: RocksDBEngine, eventLoop: EventLoop) {
        self.engine = engine
        self.eventLoop = eventLoop
        storage = RocksDBStorage(engine: engine, eventLoop: eventLoop)
    }

    // The engine session's view of the storage: its failures, its pending writes, the version.
    var failure: String? { storage.failure }
    var hasPendingWrites: Bool { storage.hasPendingWrites }
    func endOfBurst() -> String? { storage.endOfBurst() }
    var version: UInt64 {
        get { storage.version }
        set { storage.version = newValue }
    }

    // The stores' value types, as the command families name them.
    typealias ZEntry = RocksDBStorage.ZEntry
    typealias ZRangeKind = RocksDBStorage.ZRangeKind
    typealias StoredValue = RocksDBStorage.StoredValue

    // The data-type stores over this session's storage, for the command families.
    var strings: StringStore { storage.strings }
    var hashes: HashStore { storage.hashes }
    var lists: ListStore { storage.lists }
    var sets: SetStore { storage.sets }
    var zsets: ZSetStore { storage.zsets }
    var keyspace: KeyspaceStore { storage.keyspace }

    func execute(_ spec: CommandSpec, _ args: [ByteBuffer], origin: RequestOrigin, reply: inout ReplyWriter) -> Execution {
        // A burst whose writes failed refuses everything until `endOfBurst` reports it.
        if let failure { return .failed(EngineError(failure)) }
        if spec.flags.contains(.write), engine.watches.hasWatchers { touchWatched(spec, args) }
        let storage = self.storage
        if case .blockingPop(let pop)? = handler(spec) {
            do { try storage.commitPending() } catch { return .failed(Self.storageError(error)) }
            return blockingPop(pop, args, origin: origin, reply: &reply)
        }
        storage.groupable = spec.flags.contains(.groupable) && !engine.blocking.hasWaiters
        // A stamped single-key read-modify-write never lowers its key's version (see `stamp`).
        let readModifyWrite = storage.version != 0 && spec.flags.contains(.write) && spec.firstKey == 1 && spec.lastKey == 1
            && args.count > 1 && !spec.flags.contains(.wholeValue)
        storage.tracksVersion = readModifyWrite
        storage.observedVersion = 0
        let start = reply.buffer.writerIndex
        let error = run(spec, args, reply: &reply)
        storage.tracksVersion = false
        if readModifyWrite { storage.raiseVersion(of: args[1]) }
        storage.groupable = false
        if let error {
            // What the command wrote before its storage failed is no reply.
            reply.buffer.moveWriterIndex(to: start)
            return .failed(error)
        }
        // Pushes (and anything else that can fill a list or sorted set) wake blocked clients: the
        // command's table row says which key.
        if spec.wakes != .none, engine.blocking.hasWaiters {
            switch spec.wakes {
            case .none: break
            case .argument(let index):
                if index < args.count { engine.blocking.keyReady(args[index].bytes) }
            case .geoStore(let optionsFrom):
                if let store = KeySpec.geoStoreDestination(args, optionsFrom: optionsFrom) { engine.blocking.keyReady(args[store].bytes) }
            case .sortStore:
                if let store = args.indices.dropFirst(2).first(where: { args[$0].isOption("STORE") }), store + 1 < args.count {
                    engine.blocking.keyReady(args[store + 1].bytes)
                }
            }
        }
        return .answered
    }

    func clientClosed(_ client: Int) {
        engine.blocking.cancel(client: client, on: eventLoop)
    }

    /// One queued command of EXEC (the storage's `transaction` is set). A storage failure is
    /// that command's reply in EXEC's array, as Redis answers a failed command there.
    func executeInTransaction(_ spec: CommandSpec, _ args: [ByteBuffer], reply: inout ReplyWriter) {
        let start = reply.buffer.writerIndex
        if let error = failure.map({ EngineError($0) }) ?? run(spec, args, reply: &reply) {
            reply.buffer.moveWriterIndex(to: start)
            reply.error(error.message)
        }
    }

    /// Runs the command's handler; returns its storage failure, if any (the reply is then partial).
    private func run(_ spec: CommandSpec, _ args: [ByteBuffer], reply: inout ReplyWriter) -> EngineError? {
        let start = reply.buffer.writerIndex
        do throws(RocksDBError) {
            switch handler(spec) {
            case .run(let run)?:
                if !storage.groupable { try storage.commitPending() }  // it must see the groups, unless it joins one
                try run(self, args, &reply)
            case .store(let run)?:
                if !storage.groupable { try storage.commitPending() }
                try runStore(run, args, &reply, start: start)
            case .blindWrite(let run)?:
                try storage.commitGroup()  // it may join the burst's blind batch, never the read-modify-write group
                try runStore(run, args, &reply, start: start)
            case .blockingPop?, nil:
                reply.error("ERR unknown command '\(spec.name)'")
            }
        } catch {
            return Self.storageError(error)
        }
        return nil
    }

    /// Runs a store family's handler: a refusal becomes the reply (the store staged nothing),
    /// a storage failure the command's failure.
    @inline(__always)
    private func runStore(_ run: RocksDBHandler.StoreRun, _ args: [ByteBuffer], _ reply: inout ReplyWriter, start: Int) throws(RocksDBError) {
        do throws(StoreError) {
            try run(self, args, &reply)
        } catch .storage(let error) {
            throw error
        } catch {
            reply.buffer.moveWriterIndex(to: start)
            reply.error(error.redisMessage)
        }
    }

    /// A RocksDB failure in Dynomite's words for a datastore error.
    static func storageError(_ error: RocksDBError) -> EngineError { EngineError("ERR Storage: \(error.message)") }
}
