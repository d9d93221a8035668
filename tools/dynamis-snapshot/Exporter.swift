import NIOCore
import Snapshot

/// Walks a keyspace with SCAN and reads each key with PEXPIRETIME + DUMP, one pipelined
/// round trip per batch (the next SCAN page rides along with the current page's reads).
/// Each key is read atomically; the snapshot as a whole is as of the walk, not one instant
/// (for one instant, take a `backup` and export that offline).
struct Exporter {
    /// Each page's reads are split over these; the SCAN rides on the first.
    let channels: [any CommandChannel]
    let progress: Progress
    /// Redis's SCAN may return a key twice (while its table rehashes); Dynamis's never does.
    let deduplicate: Bool
    var batchSize = 512

    func run(_ sink: (RDBEntry) throws -> Void) throws {
        var cursor = "0"
        var keys: [[UInt8]] = []
        var scanning = true
        var seen = Set<[UInt8]>()
        let count = String(batchSize)
        while scanning || !keys.isEmpty {
            let share = (keys.count + channels.count - 1) / channels.count
            var pending: [Pending] = []
            for (c, channel) in channels.enumerated() {
                var batch: [Command] = []
                let chunk = keys.dropFirst(c * share).prefix(share)
                batch.reserveCapacity(chunk.count * 2 + 1)
                for key in chunk {
                    let k = ByteBuffer(bytes: key)
                    batch.append([ByteBuffer(string: "PEXPIRETIME"), k])
                    batch.append([ByteBuffer(string: "DUMP"), k])
                }
                if c == 0, scanning { batch.append(Command("SCAN", cursor, "COUNT", count)) }
                if !batch.isEmpty { pending.append(channel.send(batch)) }
            }
            var replies: [Reply] = []
            var scanReply: Reply?
            for (c, p) in pending.enumerated() {
                var r = try p.wait()
                if c == 0, scanning { scanReply = r.removeLast() }
                replies += r
            }
            let now = wallMillis()
            for (i, key) in keys.enumerated() {
                let (expiry, dump) = (replies[2 * i], replies[2 * i + 1])
                if let e = expiry.errorText ?? dump.errorText {
                    throw ToolError("reading key \(printable(key)) failed: \(e)")
                }
                guard case .bulk(let payload?) = dump, case .integer(let expireAt) = expiry, expireAt != -2 else {
                    progress.skip("deleted during export")
                    continue
                }
                if expireAt >= 0, expireAt <= now {
                    progress.skip("expired")
                    continue
                }
                let value: RDBValue
                do throws(DumpPayload.Failure) {
                    value = try DumpPayload.decode(payload)
                } catch {
                    switch error {
                    case .versionOrChecksum: throw ToolError("key \(printable(key)): the server's DUMP payload has an unsupported version or a bad checksum")
                    case .badData(let e): throw ToolError("key \(printable(key)): cannot decode the server's DUMP payload: \(e)")
                    }
                }
                let entry = RDBEntry(key: key, value: value, expireAtMillis: expireAt >= 0 ? expireAt : nil)
                try sink(entry)
                progress.done(type: value.typeName, bytes: key.count + value.byteCount)
            }
            keys = []
            if scanning {
                guard case .array(let page?) = scanReply, page.count == 2,
                      case .bulk(let next?) = page[0], case .array(let found?) = page[1] else {
                    throw ToolError("unexpected SCAN reply: \(String(describing: scanReply))")
                }
                cursor = String(decoding: next, as: UTF8.self)
                scanning = cursor != "0"
                for item in found {
                    guard case .bulk(let key?) = item else { continue }
                    if deduplicate, !seen.insert(key).inserted { continue }
                    keys.append(key)
                }
            }
        }
    }
}

/// A key for messages: printable ASCII as is, other bytes as \xNN, cut at 64 bytes.
func printable(_ key: [UInt8]) -> String {
    var s = "'"
    for b in key.prefix(64) {
        if b >= 0x20, b < 0x7f, b != UInt8(ascii: "'") { s.append(Character(Unicode.Scalar(b))) } else { s += "\\x" + String(b, radix: 16) }
    }
    return s + (key.count > 64 ? "...'" : "'")
}
