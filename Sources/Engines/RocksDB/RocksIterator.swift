import CRocksDB
#if canImport(Glibc)
import Glibc
#endif

/// A RocksDB iterator over one column family; destroyed with the object.
final class RocksIterator {
    private let handle: OpaquePointer

    init(_ database: RocksDatabase, _ family: ColumnFamily, scan: Bool) {
        handle = database.makeIterator(family, scan: scan)
    }

    /// Over the database with a transaction's uncommitted writes laid over it.
    init(_ database: RocksDatabase, _ family: ColumnFamily, scan: Bool, through transaction: IndexedWriteBatch?) {
        if let transaction {
            handle = database.makeIterator(family, scan: scan, through: transaction)
        } else {
            handle = database.makeIterator(family, scan: scan)
        }
    }

    deinit { rocksdb_iter_destroy(handle) }

    var isValid: Bool { rocksdb_iter_valid(handle) != 0 }
    func seekToFirst() { rocksdb_iter_seek_to_first(handle) }
    func seekToLast() { rocksdb_iter_seek_to_last(handle) }
    func next() { rocksdb_iter_next(handle) }
    func prev() { rocksdb_iter_prev(handle) }

    /// Positions at the last key at or before `key`.
    func seekForPrev(_ key: [UInt8]) {
        key.withUnsafeBytes { rocksdb_iter_seek_for_prev(handle, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
    }

    func seek(_ key: [UInt8]) {
        key.withUnsafeBytes { rocksdb_iter_seek(handle, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
    }

    /// The current key, copied.
    var key: [UInt8] { RocksDatabase.key(handle) }

    /// Whether the current key starts with `prefix`, without copying it (walks that only count
    /// or skip entries).
    func keyStarts(with prefix: [UInt8]) -> Bool {
        var length = 0
        guard let pointer = rocksdb_iter_key(handle, &length), length >= prefix.count else { return false }
        return prefix.withUnsafeBytes { memcmp(pointer, $0.baseAddress!, prefix.count) == 0 }
    }

    /// Whether the current key is `key`, without copying it.
    func keyEquals(_ key: [UInt8]) -> Bool {
        var length = 0
        guard let pointer = rocksdb_iter_key(handle, &length), length == key.count else { return false }
        return key.withUnsafeBytes { memcmp(pointer, $0.baseAddress!, key.count) == 0 }
    }
    /// The current value, valid until the iterator moves.
    var value: UnsafeRawBufferPointer { RocksDatabase.value(handle) }
}

extension RocksIterator {
    /// From where the iterator stands (a collection's first entry under `prefix`), the entries
    /// at `positions`, read by `read` from their key and value; stepping over the others
    /// without copying them and stopping at the last position wanted (HRANDFIELD, ZRANDMEMBER).
    /// `read` returns nil to stop at an entry it cannot read.
    func pick<T>(_ positions: [Int], under prefix: [UInt8], _ read: (_ key: [UInt8], _ value: UnsafeRawBufferPointer) -> T?) -> [Int: T] {
        var at = 0
        var out: [Int: T] = [:]
        out.reserveCapacity(positions.count)
        for target in Set(positions).sorted() {
            while at < target, isValid {
                next()
                at += 1
            }
            guard isValid else { break }
            let stored = key
            guard stored.starts(with: prefix), let item = read(stored, value) else { break }
            out[target] = item
        }
        return out
    }
}
