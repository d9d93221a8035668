import CRocksDB
import NIOCore
import Protocol

/// MULTI/EXEC/WATCH on the RocksDB engine. EXEC takes the lock stripes of every argument of
/// every queued command (and of the watched keys), checks the WATCH, then runs the commands
/// against a WriteBatchWithIndex: each sees the writes of those before it, other clients see
/// none until the batch is written in one atomic RocksDB write. Other clients' writes to these
/// keys wait for the stripes; their reads never see half a transaction.
extension RocksDBSession {
    var supportsTransactions: Bool { true }

    /// A write's keys are touched; a write with no keys (FLUSHALL, FLUSHDB) touches every key,
    /// as Redis's `touchAllWatchedKeysInDb`.
    func touchWatched(_ spec: CommandSpec, _ args: [ByteBuffer]) {
        if spec.firstKey == 0 && spec.keySpec == .range {
            engine.watches.touchedAll()
        } else {
            engine.watches.touched(args[1...])
        }
    }

    func watch(_ keys: ArraySlice<ByteBuffer>, into list: inout WatchList) {
        let state = list.state ?? WatchState()
        list.state = state
        let now = WallClock.nowMillis()
        for key in keys {
            let bytes = key.bytes
            if list.keys.contains(bytes) { continue }
            let live = (try? storage.readMeta(key, now: now)) != nil
            list.keys.append(bytes)
            list.existed.append(live)
            engine.watches.watch(bytes, state)
        }
    }

    func unwatch(_ list: inout WatchList) {
        if let state = list.state, !list.keys.isEmpty { engine.watches.unwatch(list.keys, state) }
        list = WatchList()
    }

    func exec(_ queue: [QueuedCommand], watching list: WatchList, reply: inout ReplyWriter) {
        do { try storage.commitPending() } catch { return reply.error("ERR Storage: \(error.message)") }
        var stripes: [Int] = []
        for item in queue {
            guard case .engine(_, let args) = item else { continue }
            for arg in args.dropFirst() { stripes.append(KeyLocks.stripe(of: arg.withUnsafeReadableBytes { engine.keyToken($0) })) }
        }
        for key in list.keys { stripes.append(KeyLocks.stripe(of: key.withUnsafeBytes { engine.keyToken($0) })) }
        let sorted = Array(Set(stripes)).sorted()
        var committed = false
        engine.locks.withLocks(sortedStripes: sorted) {
            if watchBroken(list) {
                reply.nullArray()
                return
            }
            // Other clients' WATCHes on the keys this storage.transaction writes break before it writes.
            if engine.watches.hasWatchers {
                for item in queue {
                    if case .engine(let spec, let args) = item, spec.flags.contains(.write) { touchWatched(spec, args) }
                }
            }
            let batch = IndexedWriteBatch(storage.db)
            storage.transaction = batch
            defer { storage.transaction = nil }
            let start = reply.buffer.writerIndex
            reply.arrayHeader(queue.count)
            for item in queue {
                switch item {
                case .answered(var bytes):
                    reply.buffer.writeBuffer(&bytes)
                case .engine(let spec, let args):
                    if case .blockingPop(let pop)? = handler(spec) {
                        // Inside MULTI a blocking pop never waits, as in Redis: an empty source
                        // answers BLMOVE's null, or the others' null array.
                        switch attemptPop(pop, args, resp3: reply.resp3) {
                        case .popped(var bytes): reply.buffer.writeBuffer(&bytes)
                        case .empty: if pop.moves { reply.null() } else { reply.nullArray() }
                        case .error(let text): reply.error(text)
                        case .failed(let error): reply.error(error.message)
                        }
                    } else {
                        executeInTransaction(spec, args, reply: &reply)
                    }
                }
            }
            do throws(RocksDBError) {
                try storage.db.write(batch)
                storage.walDirty = true
                committed = true
            } catch {
                reply.buffer.moveWriterIndex(to: start)
                reply.error("ERR Storage: \(error.message)")
            }
        }
        // Wake clients blocked on anything the storage.transaction may have pushed to.
        if committed, engine.blocking.hasWaiters {
            for item in queue {
                guard case .engine(let spec, let args) = item, spec.flags.contains(.write) else { continue }
                for arg in args.dropFirst() { engine.blocking.keyReady(arg.bytes) }
            }
        }
    }

    /// A watched key was written (by anyone), or one that was live when watched has expired.
    private func watchBroken(_ list: WatchList) -> Bool {
        guard let state = list.state else { return false }
        if state.isDirty { return true }
        let now = WallClock.nowMillis()
        for (key, existed) in zip(list.keys, list.existed) where existed {
            if (try? storage.readMeta(ByteBuffer(bytes: key), now: now)) == nil { return true }
        }
        return false
    }
}
