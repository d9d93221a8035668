import CRocksDB

/// Data directories written before sets had a slot index (`SetSlotIndex.swift`) hold set members
/// with empty values and no slot records. They are numbered once, when the engine opens and
/// before any client is served; a record in the default family says it is done.
extension RocksDBEngine {
    static let setSlotsKey = Array("dynamis:set-slots".utf8)

    /// Gives every set without a slot index one; returns how many sets it numbered. Re-running
    /// after a crash numbers the same members the same way (member byte order), so a partial
    /// pass is simply redone.
    @discardableResult
    func indexLegacySets() throws(RocksDBError) -> Int {
        if try database.get(.default, key: Self.setSlotsKey) != nil { return 0 }
        let batch = rocksdb_writebatch_create()!
        defer { rocksdb_writebatch_destroy(batch) }
        let sets = RocksIterator(database, .metadata, scan: true)
        let members = RocksIterator(database, .subkeys, scan: true)
        var numbered = 0
        var prefix: [UInt8] = []
        sets.seekToFirst()
        while sets.isValid {
            defer { sets.next() }
            guard let meta = Metadata.decode(sets.value), meta.type == .set,
                  let (generation, _) = Metadata.collection(Array(sets.value)),
                  let (token, key) = KeyEncoding.splitMetadataKey(sets.key) else { continue }
            key.withUnsafeBytes { KeyEncoding.subkeyPrefix(token: token, key: $0, generation: generation, into: &prefix) }
            var slot: UInt64 = 0
            members.seek(prefix)
            while members.isValid {
                let element = members.key
                guard element.starts(with: prefix) else { break }
                var slotKey = prefix
                KeyEncoding.appendBigEndian(slot, to: &slotKey)
                var encoded: [UInt8] = []
                KeyEncoding.appendBigEndian(slot, to: &encoded)
                Self.put(batch, database.handle(.subkeys), element, encoded)
                Self.put(batch, database.handle(.zscore), slotKey, Array(element[prefix.count...]))
                slot += 1
                members.next()
                if rocksdb_writebatch_count(batch) >= 20_000 {
                    try database.write(batch)
                    rocksdb_writebatch_clear(batch)
                }
            }
            numbered += 1
        }
        try database.write(batch)
        try database.put(.default, key: Self.setSlotsKey, value: Array("1".utf8))
        try database.flushWAL()
        return numbered
    }

    private static func put(_ batch: OpaquePointer, _ family: OpaquePointer, _ key: [UInt8], _ value: [UInt8]) {
        key.withUnsafeBytes { k in
            value.withUnsafeBytes { v in
                rocksdb_writebatch_put_cf(batch, family, k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count,
                                          v.baseAddress?.assumingMemoryBound(to: CChar.self), v.count)
            }
        }
    }
}
