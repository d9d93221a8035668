#if canImport(Glibc)
import Glibc
#endif
import Engines
import NIOCore
import NIOPosix
import Protocol
import Ring

/// A stopped node's RocksDB directory, opened in this process: commands run on the engine
/// directly, with no server or network in between (offline export and bulk restore).
final class LocalEngineChannel: CommandChannel {
    private let engine: RocksDBEngine
    private let group: MultiThreadedEventLoopGroup
    private let session: any EngineSession
    private let receiver = NoReceiver()

    /// The directory did not exist: no key can be there yet, so imports need not look.
    let fresh: Bool

    init(directory: String, tokenizer: KeyTokenizer, identity: String, create: Bool) throws {
        var isDirectory = false
        let exists = directoryExists(directory, &isDirectory) && isDirectory
        if !create, !exists {
            throw ToolError("data directory '\(directory)' does not exist")
        }
        fresh = !exists
        var options = RocksDBOptions(directory: directory)
        // A restore is re-runnable, so it writes no WAL: the memtables are flushed at close.
        options.fsync = .no
        options.writeAheadLog = !create
        do {
            engine = try RocksDBEngine(options: options, keyHashIdentity: identity) { tokenizer.token(of: $0) }
        } catch {
            let text = "\(error)"
            if text.contains("lock") {
                throw ToolError("cannot open '\(directory)': \(text) (is a node still running on it? offline mode needs it stopped)")
            }
            throw ToolError("cannot open '\(directory)': \(text) (pass --hash/--hash-tag as in the node's config)")
        }
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        session = engine.makeSession(eventLoop: group.next())
    }

    /// Imports skip RESTORE and write whole batches.
    func bulkWriter() -> BulkWriter {
        BulkWriter(loader: RocksDBBulkLoader(engine: engine, eventLoop: group.next()), blind: fresh)
    }

    func send(_ batch: [Command]) -> Pending {
        var writer = ReplyWriter(buffer: ByteBufferAllocator().buffer(capacity: 256 * batch.count))
        for (i, command) in batch.enumerated() {
            guard let spec = CommandTable.lookup(command[0]) else {
                writer.error("ERR unknown command")
                continue
            }
            _ = session.execute(spec, command, origin: RequestOrigin(client: 0, receiver: receiver, sequence: i), reply: &writer)
        }
        let failure = session.endOfBurst()
        var buffer = writer.buffer
        return Pending {
            if let failure { throw ToolError(failure) }
            var framer = RESPReplyFramer()
            var replies: [Reply] = []
            replies.reserveCapacity(batch.count)
            while let slice = try framer.next(from: &buffer) { replies.append(try Reply.decode(slice)) }
            guard replies.count == batch.count else { throw ToolError("engine returned \(replies.count) replies for \(batch.count) commands") }
            return replies
        }
    }

    func close() {
        engine.shutdown()
        try? group.syncShutdownGracefully()
    }
}

/// Offline mode sends no blocking command, so no reply ever arrives late.
private final class NoReceiver: ReplyReceiver {
    func receive(_ reply: Result<ByteBuffer, EngineError>, for sequence: Int) {}
}

private func directoryExists(_ path: String, _ isDirectory: inout Bool) -> Bool {
    var st = stat()
    guard stat(path, &st) == 0 else { return false }
    isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
    return true
}
