import CRocksDB
import NIOCore
import Protocol

/// The stored-record fuzzer's entry point (FuzzTesting/Sources/FuzzStoredRecords) and its corpus
/// replay in the suite: not part of the engine's API.
///
/// A RocksDB data directory is trusted input only as long as nothing corrupts it (a torn disk, a
/// bug in an older build, a hand-edited restore). This plants arbitrary bytes as one key's
/// metadata record and element records, then runs every kind of reader and writer on that key:
/// whatever the bytes, the engine must answer (a value or an error) and never crash.
///
/// Input layout (after the fuzzer's command byte, see `pick`): record length (2, BE) ‖ record ‖ then elements, each suffix length (1) ‖ suffix ‖
/// value length (2, BE) ‖ value ‖ family (1: subkeys, zscore or setslots). Elements are planted
/// under the key's subkey prefix with the generation the record names (bytes 18..<26), so the
/// collection readers reach them.
@_spi(Fuzzing)
public enum StoredRecordFuzzing {
    /// The commands run on the planted key, readers first, then writers (which must refuse or
    /// overwrite a record they cannot read, not trap on it).
    static let commands: [[String]] = [
        ["TYPE", "k"], ["EXISTS", "k"], ["TTL", "k"], ["PTTL", "k"], ["OBJECT", "ENCODING", "k"],
        ["GET", "k"], ["STRLEN", "k"], ["GETRANGE", "k", "0", "-1"], ["GETBIT", "k", "9000"], ["BITCOUNT", "k"],
        ["BITPOS", "k", "1"], ["PFCOUNT", "k"], ["DUMP", "k"], ["DYNAMIS.STATE", "k"],
        ["HGETALL", "k"], ["HLEN", "k"], ["HGET", "k", "f"], ["HRANDFIELD", "k", "-3"], ["HSCAN", "k", "0"],
        ["LRANGE", "k", "0", "-1"], ["LLEN", "k"], ["LINDEX", "k", "1"], ["LPOS", "k", "x"],
        ["SMEMBERS", "k"], ["SCARD", "k"], ["SISMEMBER", "k", "m"], ["SRANDMEMBER", "k", "-3"], ["SSCAN", "k", "0"],
        ["ZRANGE", "k", "0", "-1", "WITHSCORES"], ["ZCARD", "k"], ["ZSCORE", "k", "m"], ["ZRANK", "k", "m"],
        ["ZRANGEBYSCORE", "k", "-inf", "+inf"], ["ZRANDMEMBER", "k", "-3"], ["ZSCAN", "k", "0"],
        ["GEOPOS", "k", "m"], ["SORT", "k", "ALPHA"], ["SCAN", "0", "COUNT", "100"], ["KEYS", "*"], ["COPY", "k", "k2"],
        ["SETBIT", "k", "40000", "1"], ["APPEND", "k", "x"], ["INCR", "k"], ["HSET", "k", "f", "v"], ["HDEL", "k", "f"],
        ["LPUSH", "k", "x"], ["RPOP", "k"], ["LSET", "k", "0", "y"], ["SADD", "k", "m"], ["SPOP", "k"], ["SREM", "k", "m"],
        ["ZADD", "k", "1", "m"], ["ZPOPMIN", "k"], ["ZPOPMAX", "k"], ["ZREM", "k", "m"], ["PFADD", "k", "a"],
        ["EXPIRE", "k", "100"], ["PERSIST", "k"], ["RENAME", "k", "k3"], ["DEL", "k3"], ["UNLINK", "k", "k2"],
    ]

    /// Plants `input` (layout above) under key "k" of `engine`, runs `commands` (all by
    /// default) through `session`, then removes every record of the keys they touch. Returns
    /// the number of error replies (for the replay test).
    @discardableResult
    public static func run(_ input: UnsafeRawBufferPointer, engine: RocksDBEngine, session: any EngineSession,
                           receiver: any ReplyReceiver, commands chosen: [Int]? = nil) -> Int {
        let planted = plantRecords(input, in: engine)
        var errors = 0
        var wrote = false
        for index in chosen ?? Array(commands.indices) {
            let args = commands[index % commands.count].map { ByteBuffer(string: $0) }
            guard let spec = CommandTable.lookup(args[0]) else { preconditionFailure("\(args[0]) is not in the table") }
            if !spec.flags.contains(.readonly) { wrote = true }
            var reply = ReplyWriter(buffer: ByteBuffer(), resp3: index & 1 == 1)
            _ = session.execute(spec, args, origin: RequestOrigin(client: 1, receiver: receiver, sequence: index), reply: &reply)
            if reply.buffer.readableBytesView.first == UInt8(ascii: "-") { errors += 1 }
            _ = session.endOfBurst()
        }
        if wrote {
            clear(engine)
        } else {
            // Readers made nothing: deleting what was planted is enough (and far cheaper than
            // walking the keys' prefixes over every earlier input's deletion markers).
            for (family, key) in planted { try? engine.database.delete(family, key: key) }
        }
        return errors
    }

    /// The fuzzer's pick for one input: the command its first byte names, then DUMP (which
    /// reads the whole value of any type). One input per command keeps the fuzzer at thousands
    /// of inputs a second; the replay test runs every command on every input.
    public static func pick(_ input: UnsafeRawBufferPointer) -> (commands: [Int], rest: UnsafeRawBufferPointer) {
        guard let first = input.first else { return ([], input) }
        let rest = UnsafeRawBufferPointer(rebasing: input.dropFirst())
        // A fragmented string's readers assemble its whole length, one point read per 4 KiB
        // (correctly: it is a sparse bitmap's value); lengths past 64 KiB only cost the fuzzer
        // time, so such inputs are skipped.
        if rest.count >= 2 + Metadata.collectionSize, rest[3] & Metadata.fragmentedFlag != 0,
           KeyEncoding.readBigEndian(UnsafeRawBufferPointer(rebasing: rest[2...]), at: Metadata.headerSize + 8, as: UInt64.self) > 65536 {
            return ([], rest)
        }
        let dump = commands.firstIndex { $0 == ["DUMP", "k"] }!
        return ([Int(first) % commands.count, dump], rest)
    }

    /// Compacts every family: the deletion markers `clear` leaves would otherwise pile up under
    /// key "k" and make every later seek step over all of them.
    public static func compact(_ engine: RocksDBEngine) {
        for family in ColumnFamily.allCases {
            rocksdb_compact_range_cf(engine.database.db, engine.database.handle(family), nil, 0, nil, 0)
        }
    }

    /// Point-deletes every record of the keys the commands touch. (FLUSHALL's range deletes
    /// pile up in the memtable and slow every later iterator: the fuzzer ran at 70 inputs/s.)
    static func clear(_ engine: RocksDBEngine) {
        for name in ["k", "k2", "k3"] {
            let key: [UInt8] = Array(name.utf8)
            let token = key.withUnsafeBytes { engine.keyToken($0) }
            var metadataKey: [UInt8] = []
            key.withUnsafeBytes { KeyEncoding.metadataKey(token: token, key: $0, into: &metadataKey) }
            try? engine.database.delete(.metadata, key: metadataKey)
            // token ‖ key length ‖ key: every generation's elements.
            let prefix = Array(KeyEncoding.subkeyPrefix(metadataKey: metadataKey, generation: 0).dropLast(8))
            for family in [ColumnFamily.subkeys, .zscore, .setslots] {
                let iterator = RocksIterator(engine.database, family, scan: true)
                iterator.seek(prefix)
                var doomed: [[UInt8]] = []
                while iterator.isValid, iterator.keyStarts(with: prefix) {
                    doomed.append(iterator.key)
                    iterator.next()
                }
                for stored in doomed { try? engine.database.delete(family, key: stored) }
            }
        }
    }

    /// Plants `input` under key "k" without running anything.
    public static func plant(_ input: UnsafeRawBufferPointer, in engine: RocksDBEngine) {
        _ = plantRecords(input, in: engine)
    }

    /// Plants `input` under key "k"; returns what it wrote.
    static func plantRecords(_ input: UnsafeRawBufferPointer, in engine: RocksDBEngine) -> [(ColumnFamily, [UInt8])] {
        var at = 0
        func take(_ count: Int) -> UnsafeRawBufferPointer? {
            guard count >= 0, at + count <= input.count else { return nil }
            defer { at += count }
            return UnsafeRawBufferPointer(rebasing: input[at..<(at + count)])
        }
        guard let lengthBytes = take(2), let record = take(Int(lengthBytes[0]) << 8 | Int(lengthBytes[1])) else { return [] }
        let key: [UInt8] = Array("k".utf8)
        let token = key.withUnsafeBytes { engine.keyToken($0) }
        var metadataKey: [UInt8] = []
        key.withUnsafeBytes { KeyEncoding.metadataKey(token: token, key: $0, into: &metadataKey) }
        let generation = record.count >= Metadata.headerSize + 8
            ? KeyEncoding.readBigEndian(record, at: Metadata.headerSize, as: UInt64.self) : 0
        let prefix = KeyEncoding.subkeyPrefix(metadataKey: metadataKey, generation: generation)
        var planted: [(ColumnFamily, [UInt8])] = [(.metadata, metadataKey)]
        do {
            try engine.database.put(.metadata, key: metadataKey, value: Array(record))
            while let suffixLength = take(1), let suffix = take(Int(suffixLength[0])),
                  let valueLength = take(2), let value = take(Int(valueLength[0]) << 8 | Int(valueLength[1])),
                  let familyByte = take(1) {
                let family: ColumnFamily = switch familyByte[0] % 3 {
                case 0: .subkeys
                case 1: .zscore
                default: .setslots
                }
                try engine.database.put(family, key: prefix + Array(suffix), value: Array(value))
                planted.append((family, prefix + Array(suffix)))
            }
        } catch {
            // A full disk in the fuzzer's temporary directory: nothing more to exercise.
        }
        return planted
    }
}
