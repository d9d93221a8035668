import NIOCore
import Protocol

/// Relative expiry becomes absolute at the coordinator, before a write is replicated (DESIGN.md
/// §5a), the way Redis 7 itself propagates such writes to its replicas and AOF: `EXPIRE k 10`
/// reaches every replica as `PEXPIREAT k <ms>`, `SET k v EX 10` and `SETEX` as
/// `SET k v PXAT <ms>`, `GETEX k PX 10` as `GETEX k PXAT <ms>`, and `RESTORE k 10 …` with
/// `ABSTTL`. Every replica then expires the key at the same instant, however late the write
/// reaches it (a hint's or repair's state carries the same absolute time), so an expired key
/// needs no tombstone. Only well-formed, in-range values are rewritten: anything else travels as
/// sent and gets Redis's own error from each replica. The row's `relativeExpiry` says where the
/// time is; each form's rewrite is below, in one place.
enum AbsoluteExpiry {
    private static let pexpireat = CommandTable.lookup("pexpireat")!
    private static let set = CommandTable.lookup("set")!

    /// The absolute form of a write with a relative expiry, or nil to send it unchanged.
    static func rewrite(_ spec: CommandSpec, _ args: [ByteBuffer], now: Int64) -> (CommandSpec, [ByteBuffer])? {
        switch spec.relativeExpiry {
        case .expireArgument(let milliseconds):
            // EXPIRE key seconds [NX|XX|GT|LT] → PEXPIREAT key ms [NX|XX|GT|LT]
            guard args.count >= 3, let at = absolute(args[2], milliseconds: milliseconds, now: now) else { return nil }
            var out = args
            out[0] = ByteBuffer(string: "PEXPIREAT")
            out[2] = at
            return (pexpireat, out)
        case .setex(let milliseconds):
            // SETEX key seconds value → SET key value PXAT ms
            guard args.count == 4, let at = absolute(args[2], milliseconds: milliseconds, now: now) else { return nil }
            return (set, [ByteBuffer(string: "SET"), args[1], args[3], ByteBuffer(string: "PXAT"), at])
        case .option(let first):
            // SET key value … EX|PX n … / GETEX key EX|PX n → … PXAT ms …
            guard args.count > first + 1 else { return nil }
            for i in first..<(args.count - 1) {
                let seconds = args[i].isOption("EX")
                guard seconds || args[i].isOption("PX") else { continue }
                guard let at = absolute(args[i + 1], milliseconds: !seconds, now: now) else { return nil }
                var out = args
                out[i] = ByteBuffer(string: "PXAT")
                out[i + 1] = at
                return (spec, out)
            }
            return nil
        case .restoreTTL:
            // RESTORE key ttl payload [REPLACE] … → RESTORE key ms payload … ABSTTL
            guard args.count >= 4, !args.dropFirst(4).contains(where: { $0.isOption("ABSTTL") }),
                  let at = absolute(args[2], milliseconds: true, now: now) else { return nil }
            var out = args
            out[2] = at
            out.append(ByteBuffer(string: "ABSTTL"))
            return (spec, out)
        case .none:
            return nil
        }
    }

    /// `now` plus a positive relative time, as decimal ms; nil when not a positive integer or
    /// out of Redis's range (the replicas then answer Redis's error themselves).
    private static func absolute(_ value: ByteBuffer, milliseconds: Bool, now: Int64) -> ByteBuffer? {
        guard let parsed = value.redisIntegerValue, parsed > 0 else { return nil }
        let amount = Int64(parsed)
        let (ms, overflow) = milliseconds ? (amount, false) : amount.multipliedReportingOverflow(by: 1000)
        guard !overflow, ms <= Int64.max / 2 - now else { return nil }
        return ByteBuffer(string: String(now + ms))
    }
}
