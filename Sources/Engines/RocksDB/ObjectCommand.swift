import NIOCore
import Protocol

/// OBJECT ENCODING|REFCOUNT|IDLETIME|FREQ|HELP. RocksDB has no Redis encodings; ENCODING
/// answers the one Redis 7.0 would use for the same value (from the stores' counts and, for
/// small strings, hashes, sets and sorted sets, their contents), so clients that probe it see
/// what they expect. A value Redis would have converted once and never back (a hash that grew
/// past 512 fields, then shrank) answers by what it holds now. IDLETIME and FREQ are not
/// tracked: 0.
extension RocksDBSession {
    func object(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
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
        let key = args[2]
        guard let type = try keyspace.type(of: key) else { return reply.null() }
        switch sub {
        case "refcount": return reply.integer(1)
        case "idletime": return reply.integer(0)
        case "freq":
            // Redis 7.0 tracks access frequency only under an LFU maxmemory policy, which Dynamis
            // does not have (its maxmemory-policy is noeviction).
            return reply.error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
        default: break
        }
        let encoding: String
        switch type {
        case .string:
            // Past 44 bytes a string is "raw" whatever it holds: a big bitmap is never read whole.
            if try strings.length(key) > 44 {
                encoding = "raw"
            } else {
                let value = try strings.bytes(key) ?? []
                if value.count <= 20, let number = RedisInteger.parse(value), String(number).utf8.count == value.count {
                    encoding = "int"
                } else {
                    encoding = "embstr"
                }
            }
        case .hash:
            // hash-max-listpack-entries 512 and hash-max-listpack-value 64, Redis 7.0's defaults.
            var small = false
            if try hashes.count(key) <= 512 { small = try hashes.all(key).allSatisfy { $0.field.count <= 64 && $0.value.count <= 64 } }
            encoding = small ? "listpack" : "hashtable"
        case .list: encoding = "quicklist"
        case .set:
            var integers = false
            if try sets.count(key) <= 512 { integers = try sets.members(key).allSatisfy { RedisInteger.parse($0) != nil } }
            encoding = integers ? "intset" : "hashtable"
        case .zset:
            // zset-max-listpack-entries 128 and zset-max-listpack-value 64.
            var small = false
            if try zsets.count(key) <= 128 { small = try zsets.entries(key).allSatisfy { $0.member.count <= 64 } }
            encoding = small ? "listpack" : "skiplist"
        }
        reply.bulk(encoding)
    }
}
