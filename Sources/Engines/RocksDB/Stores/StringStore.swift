import NIOCore
import Protocol

/// Redis's 512 MB string limit (proto-max-bulk-len).
let maxStringLength = 512 * 1024 * 1024

/// Strings over the storage layer: values in, values out, no reply code. A string lives in its
/// metadata record (header, then the bytes), or in fragments (`FragmentedStrings.swift`); reads
/// hand the caller a view of the stored bytes (no copy on GET), writes hold the key's lock
/// stripe, and blind writes (SET, SETEX, MSET) join the burst's batch. Refusals are thrown
/// before anything is staged. `StringCommands.swift` parses arguments, calls this and writes
/// the replies.
struct StringStore {
    /// The loop's storage layer (`RocksDBStorage`: batches, group commit, locks, encoding).
    /// Unowned and unchecked: a store is made for one call on its storage (`storage.hashes`)
    /// and never outlives it, so the hot path pays no reference counting for it.
    unowned(unsafe) let storage: RocksDBStorage

    /// Calls `body` with the string's bytes (nil when missing), valid only inside `body`.
    @inline(__always)
    func withValue<R>(_ key: ByteBuffer, _ body: (UnsafeRawBufferPointer?) -> R) throws(StoreError) -> R {
        guard let value = try storage.storing({ () throws(RocksDBError) in try storage.readMetadataRecord(key) }),
              let meta = Metadata.decode(value.bytes), !meta.isExpired(now: WallClock.nowMillis()) else { return body(nil) }
        guard meta.type == .string else { throw .wrongType }
        if meta.fragmented {
            let whole = try storage.storing { () throws(RocksDBError) in try storage.wholeString(of: key, meta, record: Array(value.bytes)) }
            return whole.stringValue.withUnsafeBytes { body($0) }
        }
        return body(UnsafeRawBufferPointer(rebasing: value.bytes[Metadata.headerSize...]))
    }

    /// The values of `keys` (MGET): `each` gets each key's bytes in order, nil for a missing key
    /// or one of another type (MGET refuses nothing). Read as one consistent view: an MSET or a
    /// transaction is seen whole or not at all.
    func withValues(_ keys: ArraySlice<ByteBuffer>, _ each: (UnsafeRawBufferPointer?) -> Void) throws(StoreError) {
        let now = WallClock.nowMillis()
        guard keys.count > 1, storage.transaction == nil else {
            for key in keys {
                do throws(StoreError) { try withValue(key, each) } catch .wrongType { each(nil) }
            }
            return
        }
        var encoded: [UInt8] = []
        var ends: [Int] = []
        ends.reserveCapacity(keys.count)
        for key in keys {
            storage.appendMetadataKey(key, to: &encoded)
            ends.append(encoded.count)
        }
        var failure: RocksDBError?
        try storage.storing { () throws(RocksDBError) in
            try storage.db.multiGet(.metadata, keys: encoded, ends: ends) { index, value in
                guard failure == nil, let value, let meta = Metadata.decode(value), !meta.isExpired(now: now), meta.type == .string else {
                    return each(nil)
                }
                guard meta.fragmented else { return each(UnsafeRawBufferPointer(rebasing: value[Metadata.headerSize...])) }
                do throws(RocksDBError) {
                    let key = keys[keys.startIndex + index]
                    try storage.wholeString(of: key, meta, record: Array(value)).stringValue.withUnsafeBytes { each($0) }
                } catch {
                    failure = error  // the command fails as a whole
                    each(nil)
                }
            }
        }
        if let failure { throw .storage(failure) }
    }

    /// The string's length (0 when missing).
    func length(_ key: ByteBuffer) throws(StoreError) -> Int {
        guard let value = try storage.storing({ () throws(RocksDBError) in try storage.readMetadataRecord(key) }),
              let meta = Metadata.decode(value.bytes), !meta.isExpired(now: WallClock.nowMillis()) else { return 0 }
        guard meta.type == .string else { throw .wrongType }
        if meta.fragmented { return Metadata.collection(Array(value.bytes)).map { Int($0.count) } ?? 0 }
        return value.bytes.count - Metadata.headerSize
    }

    /// A blind write (plain SET, SETEX, MSET): replaces whatever the key holds, grouped with
    /// the burst's other writes and committed once per event-loop pass.
    @inline(__always)
    func setBlind(_ key: ByteBuffer, _ value: ByteBuffer, expireAt: Int64) {
        storage.groupStringWrite(key, value: value, expireAt: expireAt)
    }

    /// SET's conditions: only if missing (NX) or present (XX), keep the expiry (KEEPTTL), and
    /// whether the old value is wanted (GET: then a key of another type is refused).
    struct SetConditions {
        var nx = false, xx = false, keepTTL = false, get = false
    }

    /// SET with conditions: whether it wrote, and the old value when `get` asked for it.
    func set(_ key: ByteBuffer, _ value: ByteBuffer, expireAt: Int64?, _ conditions: SetConditions)
        throws(StoreError) -> (written: Bool, old: [UInt8]?) {
        try storage.modifying(key) { () throws(StoreError) in
            let old = try record(key)
            if conditions.get, let old, old.meta.type != .string { throw .wrongType }
            let previous = conditions.get ? old.map { Array($0.stringValue) } : nil
            if (conditions.nx && old != nil) || (conditions.xx && old == nil) { return (false, previous) }
            let keep = conditions.keepTTL ? (old?.meta.expireAt ?? 0) : 0
            stage(key, value, expireAt: expireAt ?? keep)
            return (true, previous)
        }
    }

    /// Sets the key only when it does not exist (of any type); returns whether it did.
    func setIfAbsent(_ key: ByteBuffer, _ value: ByteBuffer) throws(StoreError) -> Bool {
        try storage.modifying(key) { () throws(StoreError) in
            guard try exists(key) == false else { return false }
            stage(key, value, expireAt: 0)
            return true
        }
    }

    /// Sets every pair (key, value, key, value, …) only when none of the keys exists (MSETNX).
    func setAllIfAbsent(_ pairs: ArraySlice<ByteBuffer>) throws(StoreError) -> Bool {
        let keys = stride(from: pairs.startIndex, to: pairs.endIndex, by: 2).map { pairs[$0] }
        return try storage.modifying(keys) { () throws(StoreError) in
            for key in keys where try exists(key) { return false }
            for i in stride(from: pairs.startIndex, to: pairs.endIndex, by: 2) { stage(pairs[i], pairs[i + 1], expireAt: 0) }
            return true
        }
    }

    /// Replaces the value (dropping any expiry) and returns the old one (GETSET).
    func getAndSet(_ key: ByteBuffer, _ value: ByteBuffer) throws(StoreError) -> [UInt8]? {
        try storage.modifying(key) { () throws(StoreError) in
            let old = try string(key)
            stage(key, value, expireAt: 0)
            return old.map { Array($0.stringValue) }
        }
    }

    /// Deletes the string and returns its value (GETDEL).
    func getAndDelete(_ key: ByteBuffer) throws(StoreError) -> [UInt8]? {
        try storage.modifying(key) { () throws(StoreError) in
            guard let old = try string(key) else { return nil }
            storage.stageDelete(key)
            return Array(old.stringValue)
        }
    }

    /// What GETEX does to the expiry of the string it reads.
    enum ExpiryChange {
        case keep
        case persist
        /// At this Unix ms; at or before now the key is deleted.
        case at(Int64)
    }

    /// Returns the value and changes its expiry (GETEX). `change` is asked only once the key is
    /// found to hold a string, as Redis checks the options' values only then.
    func getAndExpire(_ key: ByteBuffer, _ change: (_ now: Int64) throws(StoreError) -> ExpiryChange) throws(StoreError) -> [UInt8]? {
        try storage.modifying(key) { () throws(StoreError) in
            let now = WallClock.nowMillis()
            guard let old = try string(key, now: now) else { return nil }
            switch try change(now) {
            case .keep: break
            case .at(let expireAt) where expireAt <= now:
                storage.stageDelete(key)
            case .at(let expireAt):
                stage(key, old.stringValue, expireAt: expireAt)
            case .persist:
                if old.meta.expireAt != 0 { stage(key, old.stringValue, expireAt: 0) }
            }
            return Array(old.stringValue)
        }
    }

    /// Appends `suffix`; returns the new length. Throws `.tooLong` past 512 MB.
    func append(_ key: ByteBuffer, _ suffix: ByteBuffer) throws(StoreError) -> Int {
        try storage.modifying(key) { () throws(StoreError) in
            let old = try string(key)
            var value = Array(old?.stringValue ?? [])
            if value.count + suffix.readableBytes > maxStringLength { throw .tooLong }
            value.append(contentsOf: suffix.readableBytesView)
            stage(key, value, expireAt: old?.meta.expireAt ?? 0)
            return value.count
        }
    }

    /// Overwrites bytes from `offset` (zero-padding a shorter string); returns the new length.
    /// An empty patch changes nothing. Throws `.tooLong` past 512 MB.
    func overwrite(_ key: ByteBuffer, at offset: Int, with patch: ByteBuffer) throws(StoreError) -> Int {
        try storage.modifying(key) { () throws(StoreError) in
            let old = try string(key)
            let oldLength = old?.stringValue.count ?? 0
            if patch.readableBytes == 0 { return oldLength }
            if offset > maxStringLength - patch.readableBytes { throw .tooLong }
            var value = Array(old?.stringValue ?? [])
            let needed = offset + patch.readableBytes
            if value.count < needed { value.append(contentsOf: repeatElement(0, count: needed - value.count)) }
            value.replaceSubrange(offset..<needed, with: patch.readableBytesView)
            stage(key, value, expireAt: old?.meta.expireAt ?? 0)
            return value.count
        }
    }

    /// Adds `amount` to the integer the string holds (0 when missing); returns the sum.
    /// Throws `.notInteger` for another value, `.overflow` past 64 bits.
    func increment(_ key: ByteBuffer, by amount: Int) throws(StoreError) -> Int {
        try storage.modifying(key) { () throws(StoreError) in
            let old = try string(key)
            var current = 0
            if let old {
                guard let parsed = old.stringValue.withUnsafeBytes({ RedisInteger.parse($0) }) else { throw .notInteger }
                current = parsed
            }
            let (sum, overflow) = current.addingReportingOverflow(amount)
            if overflow { throw .overflow }
            DecimalText.with(sum) { storage.stageString(key, $0, expireAt: old?.meta.expireAt ?? 0) }
            return sum
        }
    }

    /// Adds `increment` (nil: the argument was not a float, refused once the value is read, as
    /// Redis checks it) to the float the string holds; returns the new value as stored.
    /// Throws `.notFloat` for another value, `.notFinite` when the sum is NaN or infinite.
    func increment(_ key: ByteBuffer, byFloat increment: Float80?) throws(StoreError) -> [UInt8] {
        try storage.modifying(key) { () throws(StoreError) in
            let old = try string(key)
            var current: Float80 = 0
            if let old {
                guard let parsed = old.stringValue.withUnsafeBytes({ LongDouble.parse($0) }) else { throw .notFloat }
                current = parsed
            }
            guard let increment else { throw .notFloat }
            let sum = current + increment
            if sum.isNaN || sum.isInfinite { throw .notFinite }
            let text = LongDouble.humanString(sum)
            stage(key, text, expireAt: old?.meta.expireAt ?? 0)
            return text
        }
    }

    /// The string's bytes, copied out of storage (a fragmented string's whole value); nil when
    /// missing. BITCOUNT, BITPOS, BITFIELD's reads, LCS, PFCOUNT and PFMERGE's sources.
    func bytes(_ key: ByteBuffer) throws(StoreError) -> ArraySlice<UInt8>? {
        try string(key)?.stringValue
    }

    /// A string a read-modify-write holds: its bytes (nil when missing) and expiry, and
    /// whether the caller gave it new bytes to store.
    struct Edit {
        private(set) var value: [UInt8]?
        let expireAt: Int64
        fileprivate(set) var written = false

        /// Hands the bytes over (the edit keeps none), so a caller that changes them in place
        /// and writes them back copies nothing: a dense HLL is 12 KB.
        mutating func take() -> [UInt8]? {
            defer { value = nil }
            return value
        }

        /// Stores `bytes` as the new value when the edit ends (the expiry is kept).
        mutating func write(_ bytes: [UInt8]) {
            value = bytes
            written = true
        }
    }

    /// Reads `key`'s string and hands it to `body` holding the stripes of `key` and `others`
    /// (which `body` may read); what `body` writes into the edit is stored when it returns
    /// (nothing when it throws). PFADD, PFCOUNT's cached count, PFMERGE, PFDEBUG.
    func edit<R>(_ key: ByteBuffer, readingAlso others: some Collection<ByteBuffer> = EmptyCollection<ByteBuffer>(),
                 _ body: (inout Edit) throws(StoreError) -> R) throws(StoreError) -> R {
        try storage.modifying(CollectionOfOne(key) + Array(others)) { () throws(StoreError) in
            let old = try string(key)
            var edit = Edit(value: old.map { Array($0.stringValue) }, expireAt: old?.meta.expireAt ?? 0)
            let result = try body(&edit)
            if edit.written, let value = edit.value { stage(key, value, expireAt: edit.expireAt) }
            return result
        }
    }

    /// Replaces whatever `key` holds with the string `value` (RENAME, COPY, RESTORE: the caller
    /// holds the key's stripe).
    func replace(_ key: ByteBuffer, with value: [UInt8], expireAt: Int64) {
        stage(key, value, expireAt: expireAt)
    }

    // MARK: - Records

    /// The key's live record, of any type (nil when missing).
    private func record(_ key: ByteBuffer, now: Int64 = WallClock.nowMillis()) throws(StoreError) -> RocksDBStorage.Record? {
        return try storage.storing { () throws(RocksDBError) in try storage.readRecord(key, now: now) }
    }

    /// The key's live string record (nil when missing); another type is refused.
    func string(_ key: ByteBuffer, now: Int64 = WallClock.nowMillis()) throws(StoreError) -> RocksDBStorage.Record? {
        guard let old = try record(key, now: now) else { return nil }
        guard old.meta.type == .string else { throw .wrongType }
        return old
    }

    private func exists(_ key: ByteBuffer) throws(StoreError) -> Bool {
        return try storage.storing { () throws(RocksDBError) in try storage.readMeta(key, now: WallClock.nowMillis()) } != nil
    }

    private func stage(_ key: ByteBuffer, _ value: ByteBuffer, expireAt: Int64) {
        value.withUnsafeReadableBytes { storage.stageString(key, $0, expireAt: expireAt) }
    }

    private func stage(_ key: ByteBuffer, _ value: [UInt8], expireAt: Int64) {
        value.withUnsafeBytes { storage.stageString(key, $0, expireAt: expireAt) }
    }

    private func stage(_ key: ByteBuffer, _ value: ArraySlice<UInt8>, expireAt: Int64) {
        value.withUnsafeBytes { storage.stageString(key, $0, expireAt: expireAt) }
    }
}

extension RocksDBStorage {
    /// This storage's strings.
    var strings: StringStore { StringStore(storage: self) }
}
