import NIOCore
import Protocol

/// OBJECT ENCODING|REFCOUNT|IDLETIME|FREQ|HELP. RocksDB has no Redis encodings; ENCODING
/// answers the one Redis 7.0 would use for the same value, so clients that probe it see what
/// they expect. IDLETIME and FREQ are not tracked: 0.
extension RocksDBSession {
    func object(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        let sub = args[1].text.lowercased()
        if sub == "help" {
            let lines = ["OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                         "ENCODING <key>", "    Return the kind of internal representation used in order to store the value",
                         "    associated with a <key>.",
                         "FREQ <key>", "    Return the access frequency index of the <key>. The returned integer is",
                         "    proportional to the logarithm of the recent access frequency of the key.",
                         "IDLETIME <key>", "    Return the idle time of the <key>, that is the approximated number of",
                         "    seconds elapsed since the last access to the key.",
                         "REFCOUNT <key>", "    Return the number of references of the value associated with the specified",
                         "    <key>.",
                         "HELP", "    Prints this help."]
            reply.arrayHeader(lines.count)
            for line in lines { reply.simple(line) }
            return
        }
        guard ["encoding", "refcount", "idletime", "freq"].contains(sub) else {
            return reply.error("ERR unknown subcommand '\(args[1].text)'. Try OBJECT HELP.")
        }
        guard args.count == 3 else { return reply.error("ERR wrong number of arguments for 'object|\(sub)' command") }
        let now = WallClock.nowMillis()
        guard let record = try storage.readRecord(args[2], now: now) else { return reply.null() }
        switch sub {
        case "refcount": return reply.integer(1)
        case "idletime": return reply.integer(0)
        case "freq":
            // Redis 7.0 tracks access frequency only under an LFU maxmemory policy, which Dynamis
            // does not have (its maxmemory-policy is noeviction).
            return reply.error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
        default: break
        }
        let count = Metadata.collection(record.stored).map { Int($0.count) } ?? 0
        let encoding: String
        switch record.meta.type {
        case .string:
            let value = Array(record.stringValue)
            if value.count <= 20, let number = RedisInteger.parse(value), String(number).utf8.count == value.count {
                encoding = "int"
            } else {
                encoding = value.count <= 44 ? "embstr" : "raw"
            }
        case .hash: encoding = count <= 128 ? "listpack" : "hashtable"
        case .list: encoding = "quicklist"
        case .set:
            let generation = Metadata.collection(record.stored)?.generation
            let members = count <= 512 ? generation.map { storage.elements(args[2], generation: $0).map(\.field) } ?? [] : []
            encoding = count <= 512 && members.allSatisfy({ RedisInteger.parse($0) != nil }) ? "intset" : "hashtable"
        case .zset: encoding = count <= 128 ? "listpack" : "skiplist"
        }
        reply.bulk(encoding)
    }
}
