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
/// Input layout: record length (2, BE) ‖ record ‖ then elements, each suffix length (1) ‖ suffix ‖
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

    /// Plants `input` (layout above) under key "k" of `engine`, runs `commands` through `session`,
    /// then empties the database. Returns the number of error replies (for the replay test).
    @discardableResult
    public static func run(_ input: UnsafeRawBufferPointer, engine: RocksDBEngine, session: any EngineSession,
                           receiver: any ReplyReceiver) -> Int {
        plant(input, in: engine)
        var errors = 0
        for (index, words) in commands.enumerated() {
            let args = words.map { ByteBuffer(string: $0) }
            guard let spec = CommandTable.lookup(args[0]) else { preconditionFailure("\(words[0]) is not in the table") }
            var reply = ReplyWriter(buffer: ByteBuffer(), resp3: index & 1 == 1)
            _ = session.execute(spec, args, origin: RequestOrigin(client: 1, receiver: receiver, sequence: index), reply: &reply)
            if reply.buffer.readableBytesView.first == UInt8(ascii: "-") { errors += 1 }
            _ = session.endOfBurst()
        }
        var reply = ReplyWriter(buffer: ByteBuffer())
        let flush = [ByteBuffer(string: "FLUSHALL")]
        _ = session.execute(CommandTable.lookup(flush[0])!, flush, origin: RequestOrigin(client: 1, receiver: receiver, sequence: -1),
                            reply: &reply)
        _ = session.endOfBurst()
        return errors
    }

    /// Plants `input` under key "k" without running anything.
    public static func plant(_ input: UnsafeRawBufferPointer, in engine: RocksDBEngine) {
        var at = 0
        func take(_ count: Int) -> UnsafeRawBufferPointer? {
            guard count >= 0, at + count <= input.count else { return nil }
            defer { at += count }
            return UnsafeRawBufferPointer(rebasing: input[at..<(at + count)])
        }
        guard let lengthBytes = take(2), let record = take(Int(lengthBytes[0]) << 8 | Int(lengthBytes[1])) else { return }
        let key: [UInt8] = Array("k".utf8)
        let token = key.withUnsafeBytes { engine.keyToken($0) }
        var metadataKey: [UInt8] = []
        key.withUnsafeBytes { KeyEncoding.metadataKey(token: token, key: $0, into: &metadataKey) }
        let generation = record.count >= Metadata.headerSize + 8
            ? KeyEncoding.readBigEndian(record, at: Metadata.headerSize, as: UInt64.self) : 0
        let prefix = KeyEncoding.subkeyPrefix(metadataKey: metadataKey, generation: generation)
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
            }
        } catch {
            return  // a full disk in the fuzzer's temporary directory: nothing to exercise
        }
    }
}
