import CRocksDB

/// Writes applied together by `RocksDatabase.write(_:)`, as one atomic RocksDB write. Owns its
/// RocksDB batch: created with the session that fills it, destroyed with the object, so no
/// code handles the raw pointer or frees it.
final class WriteBatch {
    fileprivate let raw = rocksdb_writebatch_create()!
    private let families: [OpaquePointer]

    init(_ database: RocksDatabase) { families = database.columnFamilies }

    deinit { rocksdb_writebatch_destroy(raw) }

    @inline(__always)
    func put(_ family: ColumnFamily, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        rocksdb_writebatch_put_cf(raw, families[family.rawValue], key.baseAddress?.assumingMemoryBound(to: CChar.self), key.count,
                                  value.baseAddress?.assumingMemoryBound(to: CChar.self), value.count)
    }

    @inline(__always)
    func delete(_ family: ColumnFamily, _ key: UnsafeRawBufferPointer) {
        rocksdb_writebatch_delete_cf(raw, families[family.rawValue], key.baseAddress?.assumingMemoryBound(to: CChar.self), key.count)
    }

    /// A merge operand (the column family's merge operator combines it with the stored value).
    @inline(__always)
    func merge(_ family: ColumnFamily, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        rocksdb_writebatch_merge_cf(raw, families[family.rawValue], key.baseAddress?.assumingMemoryBound(to: CChar.self), key.count,
                                    value.baseAddress?.assumingMemoryBound(to: CChar.self), value.count)
    }

    var isEmpty: Bool { rocksdb_writebatch_count(raw) == 0 }

    func clear() { rocksdb_writebatch_clear(raw) }
}

/// A batch that reads see through (RocksDB's WriteBatchWithIndex): EXEC's transaction and a
/// burst's group of read-modify-writes, whose commands read their own and each other's
/// uncommitted writes over the database (`RocksDatabase.pinned(_:key:through:)`, iterators).
final class IndexedWriteBatch {
    fileprivate let raw = rocksdb_writebatch_wi_create(0, 1)!
    private let families: [OpaquePointer]

    init(_ database: RocksDatabase) { families = database.columnFamilies }

    deinit { rocksdb_writebatch_wi_destroy(raw) }

    @inline(__always)
    func put(_ family: ColumnFamily, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        rocksdb_writebatch_wi_put_cf(raw, families[family.rawValue], key.baseAddress?.assumingMemoryBound(to: CChar.self), key.count,
                                     value.baseAddress?.assumingMemoryBound(to: CChar.self), value.count)
    }

    @inline(__always)
    func delete(_ family: ColumnFamily, _ key: UnsafeRawBufferPointer) {
        rocksdb_writebatch_wi_delete_cf(raw, families[family.rawValue], key.baseAddress?.assumingMemoryBound(to: CChar.self), key.count)
    }

    var isEmpty: Bool { rocksdb_writebatch_wi_count(raw) == 0 }

    func clear() { rocksdb_writebatch_wi_clear(raw) }
}

extension RocksDatabase {
    /// Applies `batch` atomically.
    func write(_ batch: WriteBatch) throws(RocksDBError) {
        var error: UnsafeMutablePointer<CChar>?
        rocksdb_write(db, writeOptions, batch.raw, &error)
        if let error { throw Self.consume(error) }
    }

    /// Commits a transaction's (or a group's) batch atomically.
    func write(_ batch: IndexedWriteBatch) throws(RocksDBError) {
        var error: UnsafeMutablePointer<CChar>?
        rocksdb_write_writebatch_wi(db, writeOptions, batch.raw, &error)
        if let error { throw Self.consume(error) }
    }

    /// An iterator over the database with `batch`'s writes laid over it.
    func makeIterator(_ family: ColumnFamily, scan: Bool, through batch: IndexedWriteBatch) -> OpaquePointer {
        rocksdb_writebatch_wi_create_iterator_with_base_cf(batch.raw, makeIterator(family, scan: scan), handle(family))!
    }

    /// The value as `batch` sees it: its own write if it made one, else the database's.
    func pinned(_ family: ColumnFamily, key: [UInt8], through batch: IndexedWriteBatch) throws(RocksDBError) -> PinnedValue? {
        var error: UnsafeMutablePointer<CChar>?
        var length = 0
        let value = key.withUnsafeBytes { k in
            rocksdb_writebatch_wi_get_from_batch_and_db_cf(batch.raw, db, readOptions, handle(family),
                                                           k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count, &length, &error)
        }
        if let error { throw Self.consume(error) }
        guard let value else { return nil }
        return PinnedValue(owned: value, length: length)
    }
}
