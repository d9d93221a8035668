import NIOCore

/// Why a data-type store did not do what it was asked: a refusal the command words for its
/// client, or the storage's own failure. Stores throw these instead of writing replies.
enum StoreError: Error, Equatable {
    /// The key holds another type.
    case wrongType
    /// A stored value an increment reads is not an integer.
    case notInteger
    /// A stored value an increment reads is not a float.
    case notFloat
    /// An integer increment would leave the 64-bit range.
    case overflow
    /// A float increment would produce NaN or an infinity.
    case notFinite
    /// A string would grow past Redis's 512 MB (proto-max-bulk-len).
    case tooLong
    /// An increment would make a sorted-set score NaN (+inf plus -inf).
    case scoreNaN
    /// The key a command changes in place does not exist (LSET).
    case noSuchKey
    /// An index past either end (LSET).
    case outOfRange
    /// A refusal its caller worded: an argument Redis checks only once the key is read (GETEX's
    /// expiry).
    case invalid(String)
    /// RocksDB failed: the command fails as a whole (the engine reports `ERR Storage: …`).
    case storage(RocksDBError)

    /// Redis's words for a refusal, for a command that does not word it its own way (hashes
    /// say "hash value is not an integer" where strings say "value is not an integer").
    var redisMessage: String {
        switch self {
        case .wrongType: RedisError.wrongType
        case .notInteger: RedisError.notInteger
        case .notFloat: RedisError.notFloat
        case .overflow: RedisError.overflow
        case .notFinite: "ERR increment would produce NaN or Infinity"
        case .tooLong: RedisError.stringTooLong
        case .scoreNaN: "ERR resulting score is not a number (NaN)"
        case .noSuchKey: "ERR no such key"
        case .outOfRange: "ERR index out of range"
        case .invalid(let message): message
        case .storage(let error): "ERR Storage: \(error.message)"
        }
    }
}

extension RocksDBStorage {
    /// `modify` for a store: runs `body` holding the key's lock stripe, in the pass's group when
    /// the command may join one. A store throws its refusals (wrong type, a value that is not a
    /// number) before it stages anything, so a refusal writes nothing.
    func modifying<R>(_ key: ByteBuffer, _ body: () throws(StoreError) -> R) throws(StoreError) -> R {
        try modifying(stripes: [KeyLocks.stripe(of: key.withUnsafeReadableBytes { engine.keyToken($0) })], body)
    }

    /// The same holding every key's stripe.
    func modifying<R>(_ keys: some Collection<ByteBuffer>, _ body: () throws(StoreError) -> R) throws(StoreError) -> R {
        try modifying(stripes: keys.map { key in KeyLocks.stripe(of: key.withUnsafeReadableBytes { engine.keyToken($0) }) }, body)
    }

    private func modifying<R>(stripes: [Int], _ body: () throws(StoreError) -> R) throws(StoreError) -> R {
        var refusal: StoreError?
        let result: R?
        do throws(RocksDBError) {
            result = try modify(stripes: stripes) { () throws(RocksDBError) -> R? in
                do throws(StoreError) {
                    return try body()
                } catch .storage(let error) {
                    throw error
                } catch {
                    refusal = error
                    return nil
                }
            }
        } catch {
            throw .storage(error)
        }
        if let refusal { throw refusal }
        return result!
    }

    /// A live collection of `type` for a store: its metadata, generation, element count and
    /// whole metadata record (for a sorted set's pop hints and a set's slot-index flag); nil
    /// when the key is missing; another type refused.
    func liveCollection(_ type: ValueType, _ key: ByteBuffer) throws(StoreError)
        -> (meta: Metadata, generation: UInt64, count: UInt64, stored: [UInt8])? {
        switch try storing({ () throws(RocksDBError) in try lookupCollection(type, key, now: WallClock.nowMillis()) }) {
        case .missing: nil
        case .found(let meta, let generation, let count, let stored): (meta, generation, count, stored)
        case .wrongType: throw .wrongType
        }
    }

    /// A storage call from a store: RocksDB's failure as the store's.
    @inline(__always)
    func storing<R: ~Copyable>(_ body: () throws(RocksDBError) -> R) throws(StoreError) -> R {
        do throws(RocksDBError) { return try body() } catch { throw .storage(error) }
    }
}
