import NIOCore
import Snapshot

/// Reads a snapshot file (RDB or JSON Lines) and writes every key through RESTORE, pipelined:
/// a batch is on the wire while the next is encoded. RESTORE is atomic per key, so a failed
/// run never leaves half a key, and a re-run is safe (`--replace` overwrites, otherwise keys
/// already there are skipped).
struct Importer {
    enum Format: String { case rdb, jsonl }

    let file: MappedFile
    let format: Format
    /// Batches go round-robin over these (several connections use several of the node's
    /// event loops); keys of one file never depend on each other's order.
    let writers: [any EntryWriter]
    let progress: Progress
    let replace: Bool
    let database: Int
    var batchSize = 512

    /// Decodes the whole file once before anything is written: a corrupt file (truncated,
    /// bad checksum, unknown type) is refused up front and imports nothing. Also gives the
    /// progress bar its total.
    func validate() throws -> Int {
        var count = 0
        try forEachEntry { _, _ in count += 1 }
        return count
    }

    func run() throws {
        var batch: [RDBEntry] = []
        var inFlight: [(PendingOutcomes, [(type: String, bytes: Int, key: [UInt8])])] = []
        var next = 0
        let now = wallMillis()

        func settle() throws {
            guard !inFlight.isEmpty else { return }
            let (pending, items) = inFlight.removeFirst()
            for (outcome, item) in zip(try pending.wait(), items) {
                switch outcome {
                case .written: progress.done(type: item.type, bytes: item.bytes)
                case .existed: progress.skip("already present")
                case .failed(let e): progress.error("key \(printable(item.key)): \(e)")
                }
            }
        }
        func flush() throws {
            guard !batch.isEmpty else { return }
            let described = batch.map { ($0.value.typeName, $0.key.count + $0.value.byteCount, $0.key) }
            inFlight.append((writers[next % writers.count].write(batch, replace: replace), described))
            next += 1
            batch.removeAll(keepingCapacity: true)
            // Each connection keeps up to two batches on the wire while the next is encoded.
            while inFlight.count > 2 * writers.count - 1 { try settle() }
        }

        try forEachEntry { entry, db in
            if db != database {
                progress.skip("in db \(db)")
                return
            }
            if let expireAt = entry.expireAtMillis, expireAt <= now {
                progress.skip("expired")
                return
            }
            batch.append(entry)
            if batch.count >= batchSize { try flush() }
        }
        try flush()
        while !inFlight.isEmpty { try settle() }
    }

    /// Every entry of the file with its database, in file order. Errors name where.
    func forEachEntry(_ body: (RDBEntry, Int) throws -> Void) throws {
        switch format {
        case .rdb:
            var reader: RDBFileReader
            do { reader = try RDBFileReader(file.bytes) } catch { throw ToolError("corrupt RDB file: \(error)") }
            while true {
                let next: (entry: RDBEntry, database: Int, offset: Int)?
                do { next = try reader.next() } catch { throw ToolError("corrupt RDB file: \(error)") }
                guard let next else { break }
                if let problem = RDBObjectDecoder.validate(next.entry.value) {
                    throw ToolError("corrupt RDB file: key \(printable(next.entry.key)) at byte \(next.offset) holds a \(problem)")
                }
                try body(next.entry, next.database)
            }
        case .jsonl:
            let bytes = file.bytes
            var start = 0
            var line = 0
            while start < bytes.count {
                line += 1
                var end = start
                while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
                let text = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
                start = end + 1
                if text.allSatisfy({ $0 == 0x20 || $0 == 0x0d || $0 == 0x09 }) { continue }
                let entry: RDBEntry
                do { entry = try JSONLines.decode(text, lineNumber: line) } catch { throw ToolError("corrupt JSON Lines file: \(error.message)") }
                if let problem = RDBObjectDecoder.validate(entry.value) {
                    throw ToolError("corrupt JSON Lines file: line \(line): key \(printable(entry.key)) holds a \(problem)")
                }
                try body(entry, 0)
            }
        }
    }
}
