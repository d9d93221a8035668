/// How a node's RocksDB is opened and how durable its writes are.
public struct RocksDBOptions: Sendable, Equatable {
    /// Like Redis's `appendfsync`.
    public enum FsyncPolicy: String, Sendable, CaseIterable {
        /// Acknowledge after the WAL write reaches the OS: survives a process crash, not a power cut.
        case no
        /// As `no`, plus a background fsync of the WAL every second (the default, as in Redis).
        case everysec
        /// fsync the WAL before every acknowledgement.
        case always
    }

    public enum Compression: String, Sendable, CaseIterable {
        case none, snappy, lz4, zstd
    }

    public var directory: String
    public var blockCacheBytes: Int = 256 * 1024 * 1024
    public var writeBufferBytes: Int = 64 * 1024 * 1024
    public var compression: Compression = .snappy
    public var bloomBitsPerKey: Double = 10
    public var fsync: FsyncPolicy = .everysec
    public var backgroundJobs: Int = 2
    /// Bulk loads only (`dynamis-snapshot import --data-dir`): no write-ahead log; the memtables
    /// are flushed when the database closes. A crash mid-load loses the load, which is re-run.
    public var writeAheadLog = true

    public init(directory: String) {
        self.directory = directory
    }
}
