import CRocksDB
#if canImport(Glibc)
import Glibc
#endif

/// A small RocksDB of the node's own, beside whatever engine holds the data: hinted handoff
/// keeps its hints here on every engine (a node in front of redis-server or memcached has no
/// other durable store). One column family, small buffers; thread-safe as RocksDB is.
public final class LocalStore: @unchecked Sendable {  // RocksDB's handles are thread-safe
    private let db: OpaquePointer
    private let options: OpaquePointer
    private let writeOptions: OpaquePointer
    private let readOptions: OpaquePointer

    /// Opens (or creates) the store in `directory`.
    public init(directory: String) throws(EngineError) {
        options = rocksdb_options_create()!
        rocksdb_options_set_create_if_missing(options, 1)
        rocksdb_options_set_write_buffer_size(options, 4 * 1024 * 1024)
        var error: UnsafeMutablePointer<CChar>?
        guard let db = rocksdb_open(options, directory, &error), error == nil else {
            let message = error.map { String(cString: $0) } ?? "open failed"
            if let error { rocksdb_free(error) }
            rocksdb_options_destroy(options)
            throw EngineError("cannot open '\(directory)': \(message)")
        }
        self.db = db
        writeOptions = rocksdb_writeoptions_create()!
        readOptions = rocksdb_readoptions_create()!
    }

    deinit {
        rocksdb_close(db)
        rocksdb_writeoptions_destroy(writeOptions)
        rocksdb_readoptions_destroy(readOptions)
        rocksdb_options_destroy(options)
    }

    public func put(_ key: [UInt8], _ value: [UInt8]) throws(EngineError) {
        var error: UnsafeMutablePointer<CChar>?
        key.withUnsafeBytes { k in
            value.withUnsafeBytes { v in
                rocksdb_put(db, writeOptions, k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count,
                            v.baseAddress?.assumingMemoryBound(to: CChar.self), v.count, &error)
            }
        }
        try Self.check(error)
    }

    public func get(_ key: [UInt8]) throws(EngineError) -> [UInt8]? {
        var error: UnsafeMutablePointer<CChar>?
        var length = 0
        let value = key.withUnsafeBytes { k in
            rocksdb_get(db, readOptions, k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count, &length, &error)
        }
        try Self.check(error)
        guard let value else { return nil }
        defer { rocksdb_free(value) }
        return Array(UnsafeRawBufferPointer(start: value, count: length))
    }

    public func delete(_ key: [UInt8]) throws(EngineError) {
        var error: UnsafeMutablePointer<CChar>?
        key.withUnsafeBytes { k in
            rocksdb_delete(db, writeOptions, k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count, &error)
        }
        try Self.check(error)
    }

    /// Up to `limit` entries whose keys start with `prefix`, from the first key after `after`
    /// (or from the prefix's start), in key order.
    public func scan(prefix: [UInt8], after: [UInt8]? = nil, limit: Int) -> [(key: [UInt8], value: [UInt8])] {
        let iterator = rocksdb_create_iterator(db, readOptions)!
        defer { rocksdb_iter_destroy(iterator) }
        let start = after ?? prefix
        start.withUnsafeBytes { rocksdb_iter_seek(iterator, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
        var out: [(key: [UInt8], value: [UInt8])] = []
        while rocksdb_iter_valid(iterator) != 0, out.count < limit {
            var keyLength = 0
            let key = Array(UnsafeRawBufferPointer(start: rocksdb_iter_key(iterator, &keyLength), count: keyLength))
            guard key.starts(with: prefix) else { break }
            if let after, key == after {
                rocksdb_iter_next(iterator)
                continue
            }
            var valueLength = 0
            let value = Array(UnsafeRawBufferPointer(start: rocksdb_iter_value(iterator, &valueLength), count: valueLength))
            out.append((key, value))
            rocksdb_iter_next(iterator)
        }
        return out
    }

    private static func check(_ error: UnsafeMutablePointer<CChar>?) throws(EngineError) {
        guard let error else { return }
        let message = String(cString: error)
        rocksdb_free(error)
        throw EngineError("hint store: \(message)")
    }
}
