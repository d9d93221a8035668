import Engines
import NIOCore
import Snapshot

/// Where an import's batches of entries go.
protocol EntryWriter {
    func write(_ entries: [RDBEntry], replace: Bool) -> PendingOutcomes
}

/// What happened to each entry of a batch.
enum Outcome {
    case written
    case existed
    case failed(String)
}

/// A batch's outcomes still on their way.
struct PendingOutcomes {
    let wait: () throws -> [Outcome]
}

/// Through a live node: one RESTORE ... ABSTTL [REPLACE] per key, the batch pipelined.
struct RestoreWriter: EntryWriter {
    let channel: any CommandChannel

    func write(_ entries: [RDBEntry], replace: Bool) -> PendingOutcomes {
        let restore = ByteBuffer(string: "RESTORE")
        let absttl = ByteBuffer(string: "ABSTTL")
        let replaceWord = ByteBuffer(string: "REPLACE")
        let zero = ByteBuffer(string: "0")
        var batch: [Command] = []
        batch.reserveCapacity(entries.count)
        for entry in entries {
            var command: Command = [restore, ByteBuffer(bytes: entry.key),
                                    entry.expireAtMillis.map { ByteBuffer(string: String($0)) } ?? zero,
                                    ByteBuffer(bytes: DumpPayload.encode(entry.value)), absttl]
            if replace { command.append(replaceWord) }
            batch.append(command)
        }
        let pending = channel.send(batch)
        return PendingOutcomes {
            try pending.wait().map { reply in
                switch reply {
                case .simple: .written
                case .error(let e) where e.hasPrefix("BUSYKEY"): .existed
                case .error(let e): .failed(e)
                default: .failed("unexpected reply \(reply)")
                }
            }
        }
    }
}

/// Into a stopped node's directory: one RocksDB write per batch.
struct BulkWriter: EntryWriter {
    let loader: RocksDBBulkLoader
    /// A new directory: write without checking for existing keys (a JSON Lines file that
    /// repeats a key then keeps its last value rather than its first).
    let blind: Bool

    func write(_ entries: [RDBEntry], replace: Bool) -> PendingOutcomes {
        let result = Result { () throws(RocksDBError) in try loader.load(entries, replace: replace || blind) }
        return PendingOutcomes {
            try result.get().map { $0 == .written ? .written : .existed }
        }
    }
}
