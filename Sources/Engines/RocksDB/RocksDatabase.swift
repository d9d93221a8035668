import CRocksDB
#if canImport(Glibc)
import Glibc
#endif

/// An error from RocksDB's C API, with RocksDB's own message.
public struct RocksDBError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public var description: String { message }

    /// A record that contradicts the key's other records (found by the stored-record fuzzer):
    /// the command fails with `ERR Storage: ...` instead of trusting it.
    static let corrupt = RocksDBError(message: "the key's stored records are inconsistent (corrupt data); DEL it or restore it from a replica")
}

/// The column families, in the order they are opened (fixed: handles are found by index).
enum ColumnFamily: Int, CaseIterable {
    /// Engine bookkeeping (the format record).
    case `default` = 0
    /// One record per user key: (token, key) → type, expiry, timestamps, string value or
    /// collection header.
    case metadata = 1
    /// Collection elements: (token, key length, key, generation, field) → value.
    case subkeys = 2
    /// Sorted-set score index: (token, key length, key, generation, score, member) → empty.
    case zscore = 3
    /// Sets' slot index: (token, key length, key, generation, slot) → member. Read by point
    /// lookups only, and churned by every SPOP, so it stays out of the family the sorted sets'
    /// range walks iterate.
    case setslots = 4

    var name: String {
        switch self {
        case .default: return "default"
        case .metadata: return "metadata"
        case .subkeys: return "subkeys"
        case .zscore: return "zscore"
        case .setslots: return "setslots"
        }
    }
}

/// An open RocksDB database with Dynamis's column families. Thread-safe: RocksDB's handles
/// may be used from any thread.
final class RocksDatabase: @unchecked Sendable {  // RocksDB's DB and CF handles are thread-safe; fields are immutable
    let db: OpaquePointer
    let columnFamilies: [OpaquePointer]
    private let options: OpaquePointer
    private let tableOptions: OpaquePointer
    private let cache: OpaquePointer
    let writeOptions: OpaquePointer
    /// Writes reach the WAL file only at `flushWAL()` (see init).
    let manualWALFlush: Bool
    private let walDisabled: Bool
    let readOptions: OpaquePointer
    /// For full scans: do not pollute the block cache.
    let scanReadOptions: OpaquePointer
    let fsync: RocksDBOptions.FsyncPolicy

    init(_ config: RocksDBOptions) throws(RocksDBError) {
        let options = rocksdb_options_create()!
        // The WAL is written by `flushWAL()` once per event-loop pass, before that pass's
        // replies go out, instead of one write(2) per RocksDB write. With `fsync: always` every
        // write syncs the WAL itself, so RocksDB flushes it as before.
        manualWALFlush = config.fsync != .always && config.writeAheadLog
        if manualWALFlush { rocksdb_options_set_manual_wal_flush(options, 1) }
        rocksdb_options_set_create_if_missing(options, 1)
        rocksdb_options_set_create_missing_column_families(options, 1)
        rocksdb_options_increase_parallelism(options, Int32(max(2, config.backgroundJobs)))
        rocksdb_options_set_max_background_jobs(options, Int32(max(2, config.backgroundJobs)))
        rocksdb_options_set_write_buffer_size(options, config.writeBufferBytes)
        let compression: Int32
        switch config.compression {
        case .none: compression = Int32(rocksdb_no_compression)
        case .snappy: compression = Int32(rocksdb_snappy_compression)
        case .lz4: compression = Int32(rocksdb_lz4_compression)
        case .zstd: compression = Int32(rocksdb_zstd_compression)
        }
        rocksdb_options_set_compression(options, compression)
        let cache = rocksdb_cache_create_lru(max(config.blockCacheBytes, 1024 * 1024))!
        let table = rocksdb_block_based_options_create()!
        rocksdb_block_based_options_set_block_cache(table, cache)
        if config.bloomBitsPerKey > 0 {
            rocksdb_block_based_options_set_filter_policy(table, rocksdb_filterpolicy_create_bloom(config.bloomBitsPerKey))
        }
        rocksdb_block_based_options_set_cache_index_and_filter_blocks(table, 1)
        rocksdb_options_set_block_based_table_factory(options, table)
        // Stamped blind writes are merged: the newest version wins (see LastWriterWins).
        rocksdb_options_set_merge_operator(options, LastWriterWins.makeOperator())

        let families = ColumnFamily.allCases
        var names: [UnsafePointer<CChar>?] = families.map { UnsafePointer(strdup($0.name)) }
        defer { for n in names { free(UnsafeMutablePointer(mutating: n)) } }
        var familyOptions: [OpaquePointer?] = families.map { _ in options }
        var handles = [OpaquePointer?](repeating: nil, count: families.count)
        var error: UnsafeMutablePointer<CChar>?
        let db = rocksdb_open_column_families(
            options, config.directory, Int32(families.count), &names, &familyOptions, &handles, &error)
        if let error {
            let message = String(cString: error)
            rocksdb_free(error)
            rocksdb_block_based_options_destroy(table)
            rocksdb_cache_destroy(cache)
            rocksdb_options_destroy(options)
            throw RocksDBError(message: message)
        }
        self.db = db!
        self.columnFamilies = handles.map { $0! }
        self.options = options
        self.tableOptions = table
        self.cache = cache
        self.fsync = config.fsync
        writeOptions = rocksdb_writeoptions_create()!
        rocksdb_writeoptions_set_sync(writeOptions, config.fsync == .always ? 1 : 0)
        if !config.writeAheadLog { rocksdb_writeoptions_disable_WAL(writeOptions, 1) }
        walDisabled = !config.writeAheadLog
        readOptions = rocksdb_readoptions_create()!
        scanReadOptions = rocksdb_readoptions_create()!
        rocksdb_readoptions_set_fill_cache(scanReadOptions, 0)
    }

    @inline(__always)
    func handle(_ family: ColumnFamily) -> OpaquePointer { columnFamilies[family.rawValue] }

    /// Calls `body` with the stored value (pinned, not copied), or nil when absent.
    @inline(__always)
    func withValue<R>(_ family: ColumnFamily, key: UnsafeRawBufferPointer,
                      _ body: (UnsafeRawBufferPointer?) throws(RocksDBError) -> R) throws(RocksDBError) -> R {
        var error: UnsafeMutablePointer<CChar>?
        let pinned = rocksdb_get_pinned_cf(db, readOptions, handle(family),
                                           key.baseAddress?.assumingMemoryBound(to: CChar.self), key.count, &error)
        if let error { throw Self.consume(error) }
        guard let pinned else { return try body(nil) }
        defer { rocksdb_pinnableslice_destroy(pinned) }
        var length = 0
        let value = rocksdb_pinnableslice_value(pinned, &length)
        return try body(UnsafeRawBufferPointer(start: value, count: length))
    }

    /// The stored value, pinned in RocksDB's cache rather than copied; nil when absent.
    @inline(__always)
    func pinned(_ family: ColumnFamily, key: [UInt8]) throws(RocksDBError) -> PinnedValue? {
        var error: UnsafeMutablePointer<CChar>?
        let slice = key.withUnsafeBytes { k in
            rocksdb_get_pinned_cf(db, readOptions, handle(family), k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count, &error)
        }
        if let error { throw Self.consume(error) }
        guard let slice else { return nil }
        return PinnedValue(slice)
    }

    func put(_ family: ColumnFamily, key: [UInt8], value: [UInt8]) throws(RocksDBError) {
        var error: UnsafeMutablePointer<CChar>?
        key.withUnsafeBytes { k in
            value.withUnsafeBytes { v in
                rocksdb_put_cf(db, writeOptions, handle(family), k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count,
                               v.baseAddress?.assumingMemoryBound(to: CChar.self), v.count, &error)
            }
        }
        if let error { throw Self.consume(error) }
    }

    func get(_ family: ColumnFamily, key: [UInt8]) throws(RocksDBError) -> [UInt8]? {
        var error: UnsafeMutablePointer<CChar>?
        var length = 0
        let value = key.withUnsafeBytes { k in
            rocksdb_get_cf(db, readOptions, handle(family), k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count,
                           &length, &error)
        }
        if let error { throw Self.consume(error) }
        guard let value else { return nil }
        defer { rocksdb_free(value) }
        return Array(UnsafeRawBufferPointer(start: value, count: length))
    }

    func delete(_ family: ColumnFamily, key: [UInt8]) throws(RocksDBError) {
        var error: UnsafeMutablePointer<CChar>?
        key.withUnsafeBytes { k in
            rocksdb_delete_cf(db, writeOptions, handle(family), k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count, &error)
        }
        if let error { throw Self.consume(error) }
    }

    /// Makes the WAL durable on disk (the `everysec` policy's tick).
    /// Writes the buffered WAL records to the file (not synced): after this, acknowledged
    /// writes survive a process crash.
    func flushWAL() throws(RocksDBError) {
        guard manualWALFlush else { return }
        var error: UnsafeMutablePointer<CChar>?
        rocksdb_flush_wal(db, 0, &error)
        if let error { throw Self.consume(error) }
    }

    func syncWAL() throws(RocksDBError) {
        var error: UnsafeMutablePointer<CChar>?
        rocksdb_flush_wal(db, 1, &error)
        if let error { throw Self.consume(error) }
    }

    /// Deletes the records in [start, end) of a column family (one range tombstone).
    func deleteRange(_ family: ColumnFamily, from start: [UInt8], to end: [UInt8]) throws(RocksDBError) {
        var error: UnsafeMutablePointer<CChar>?
        start.withUnsafeBytes { f in
            end.withUnsafeBytes { l in
                rocksdb_delete_range_cf(db, writeOptions, handle(family),
                                        f.baseAddress?.assumingMemoryBound(to: CChar.self), f.count,
                                        l.baseAddress?.assumingMemoryBound(to: CChar.self), l.count, &error)
            }
        }
        if let error { throw Self.consume(error) }
    }

    /// Deletes every record of a column family (one range tombstone; space returns in compaction).
    func deleteAll(_ family: ColumnFamily) throws(RocksDBError) {
        let iterator = RocksIterator(self, family, scan: true)
        iterator.seekToFirst()
        guard iterator.isValid else { return }
        let first = iterator.key
        iterator.seekToLast()
        var last = iterator.key
        last.append(0)  // the smallest key after the last one: the range end is exclusive
        try deleteRange(family, from: first, to: last)
    }

    func makeIterator(_ family: ColumnFamily, scan: Bool) -> OpaquePointer {
        rocksdb_create_iterator_cf(db, scan ? scanReadOptions : readOptions, handle(family))!
    }

    /// Reads several keys of one family from one consistent view (RocksDB's batched MultiGet
    /// takes a single sequence number), so a multi-key read never sees half of an atomic write.
    /// The keys are `ends.count` byte strings laid end to end in `keys`, key i ending at
    /// `ends[i]` (one buffer, not one allocation per key). `body` gets each key's index and its
    /// value (pinned, valid only during the call), or nil.
    func multiGet(_ family: ColumnFamily, keys: [UInt8], ends: [Int], _ body: (Int, UnsafeRawBufferPointer?) -> Void) throws(RocksDBError) {
        let n = ends.count
        var sizes = [Int](repeating: 0, count: n)
        var slices = [OpaquePointer?](repeating: nil, count: n)
        var errors = [UnsafeMutablePointer<CChar>?](repeating: nil, count: n)
        keys.withUnsafeBytes { raw in
            let base = raw.baseAddress?.assumingMemoryBound(to: CChar.self)
            var pointers = [UnsafePointer<CChar>?](repeating: nil, count: n)
            var start = 0
            for i in 0..<n {
                pointers[i] = base.map { UnsafePointer($0 + start) }
                sizes[i] = ends[i] - start
                start = ends[i]
            }
            rocksdb_batched_multi_get_cf(db, readOptions, handle(family), n, &pointers, &sizes, &slices, &errors, false)
        }
        defer { for slice in slices { if let slice { rocksdb_pinnableslice_destroy(slice) } } }
        for error in errors { if let error { throw Self.consume(error) } }
        for i in 0..<n {
            if let slice = slices[i] {
                var length = 0
                let value = rocksdb_pinnableslice_value(slice, &length)
                body(i, UnsafeRawBufferPointer(start: value, count: length))
            } else {
                body(i, nil)
            }
        }
    }

    // MARK: - Reads and writes through a transaction's batch (MULTI/EXEC)

    static func key(_ iterator: OpaquePointer) -> [UInt8] {
        var length = 0
        let pointer = rocksdb_iter_key(iterator, &length)
        return Array(UnsafeRawBufferPointer(start: pointer, count: length))
    }

    static func value(_ iterator: OpaquePointer) -> UnsafeRawBufferPointer {
        var length = 0
        let pointer = rocksdb_iter_value(iterator, &length)
        return UnsafeRawBufferPointer(start: pointer, count: length)
    }

    func propertyInt(_ name: String, _ family: ColumnFamily) -> UInt64? {
        var value: UInt64 = 0
        return rocksdb_property_int_cf(db, handle(family), name, &value) == 0 ? value : nil
    }

    static func consume(_ error: UnsafeMutablePointer<CChar>) -> RocksDBError {
        let message = String(cString: error)
        rocksdb_free(error)
        return RocksDBError(message: message)
    }

    /// A RocksDB checkpoint: an openable copy of the database in `directory` (which must not
    /// exist), hard-linking the SST files when it is on the same filesystem.
    func checkpoint(into directory: String) throws(RocksDBError) {
        var error: UnsafeMutablePointer<CChar>?
        let checkpoint = rocksdb_checkpoint_object_create(db, &error)
        if let error { throw Self.consume(error) }
        defer { rocksdb_checkpoint_object_destroy(checkpoint) }
        // 0: always flush the memtables first, so the copy needs no WAL replay.
        rocksdb_checkpoint_create(checkpoint, directory, 0, &error)
        if let error { throw Self.consume(error) }
    }

    /// Closes the database; no other call may follow.
    func close() {
        try? flushWAL()
        if fsync != .no { try? syncWAL() }
        if walDisabled {
            // Without a WAL the memtables are the only copy: write them out before closing.
            let flush = rocksdb_flushoptions_create()
            rocksdb_flushoptions_set_wait(flush, 1)
            for handle in columnFamilies {
                var error: UnsafeMutablePointer<CChar>?
                rocksdb_flush_cf(db, flush, handle, &error)
                if let error { free(error) }
            }
            rocksdb_flushoptions_destroy(flush)
        }
        for handle in columnFamilies { rocksdb_column_family_handle_destroy(handle) }
        rocksdb_close(db)
        rocksdb_writeoptions_destroy(writeOptions)
        rocksdb_readoptions_destroy(readOptions)
        rocksdb_readoptions_destroy(scanReadOptions)
        rocksdb_options_destroy(options)
        rocksdb_block_based_options_destroy(tableOptions)
        rocksdb_cache_destroy(cache)
    }
}

/// A value read from RocksDB without copying (or, read through a transaction's batch, a copy
/// RocksDB allocated); released when this goes away.
struct PinnedValue: ~Copyable {
    private let slice: OpaquePointer?
    private let owned: UnsafeMutablePointer<CChar>?
    let bytes: UnsafeRawBufferPointer

    init(_ slice: OpaquePointer) {
        self.slice = slice
        owned = nil
        var length = 0
        let pointer = rocksdb_pinnableslice_value(slice, &length)
        bytes = UnsafeRawBufferPointer(start: pointer, count: length)
    }

    /// A copy of bytes held outside RocksDB (a grouped write not committed yet).
    init(copying source: [UInt8]) {
        let owned = malloc(max(source.count, 1))!.assumingMemoryBound(to: CChar.self)
        source.withUnsafeBytes { bytes in
            if let base = bytes.baseAddress { UnsafeMutableRawPointer(owned).copyMemory(from: base, byteCount: bytes.count) }
        }
        self.init(owned: owned, length: source.count)
    }

    init(owned: UnsafeMutablePointer<CChar>, length: Int) {
        slice = nil
        self.owned = owned
        bytes = UnsafeRawBufferPointer(start: owned, count: length)
    }

    deinit {
        if let slice { rocksdb_pinnableslice_destroy(slice) }
        if let owned { rocksdb_free(owned) }
    }
}
