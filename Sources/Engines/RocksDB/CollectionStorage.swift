import CRocksDB
import NIOCore
import Protocol

/// The storage of collection types (hashes, sets): one metadata record holding a generation and
/// an element count, and one `subkeys` record per element, keyed
/// `token ‖ key length ‖ key ‖ generation ‖ element`. Deleting or replacing a collection rewrites
/// only the metadata; elements of an old generation are unreachable at once and reclaimed by the
/// background sweep.
extension RocksDBStorage {
    /// A key looked up as a collection of one type.
    enum CollectionLookup {
        case missing
        case wrongType
        /// `stored` is the whole metadata record: a sorted set's pop hints and a set's
        /// slot-index flag follow its collection fields.
        case found(meta: Metadata, generation: UInt64, count: UInt64, stored: [UInt8])
    }

    func lookupCollection(_ type: ValueType, _ key: ByteBuffer, now: Int64) throws(RocksDBError) -> CollectionLookup {
        guard let record = try readRecord(key, now: now) else { return .missing }
        guard record.meta.type == type, let (generation, count) = Metadata.collection(record.stored) else { return .wrongType }
        // An emptied collection's record is deleted (`stageCollectionMeta`): a stored count of
        // zero is corrupt, and every picker below would divide by it.
        guard count > 0 else { throw .corrupt }
        return .found(meta: record.meta, generation: generation, count: count, stored: record.stored)
    }

    /// `subkeys` key of an element (hash field, set member) of `key`/`generation`.
    func elementKey(_ key: ByteBuffer, generation: UInt64, field: ByteBuffer) -> [UInt8] {
        var out: [UInt8] = []
        key.withUnsafeReadableBytes { k in
            KeyEncoding.subkeyPrefix(token: engine.keyToken(k), key: k, generation: generation, into: &out)
        }
        out.append(contentsOf: field.readableBytesView)
        return out
    }

    func elementKey(_ key: ByteBuffer, generation: UInt64, member: [UInt8]) -> [UInt8] {
        var out = elementPrefix(key, generation: generation)
        out.append(contentsOf: member)
        return out
    }

    func elementPrefix(_ key: ByteBuffer, generation: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        key.withUnsafeReadableBytes { k in
            KeyEncoding.subkeyPrefix(token: engine.keyToken(k), key: k, generation: generation, into: &out)
        }
        return out
    }

    /// Every element and its value, in element byte order.
    func elements(_ key: ByteBuffer, generation: UInt64) -> [(field: [UInt8], value: [UInt8])] {
        let prefix = elementPrefix(key, generation: generation)
        let iterator = RocksIterator(db, .subkeys, scan: false, through: transaction)
        iterator.seek(prefix)
        var out: [(field: [UInt8], value: [UInt8])] = []
        while iterator.isValid {
            let stored = iterator.key
            guard stored.starts(with: prefix) else { break }
            out.append((Array(stored[prefix.count...]), Array(iterator.value)))
            iterator.next()
        }
        return out
    }

    func readElement(_ key: ByteBuffer, generation: UInt64, field: ByteBuffer) throws(RocksDBError) -> [UInt8]? {
        try readStored(.subkeys, key: elementKey(key, generation: generation, field: field))
    }

    /// Stages a collection's metadata (or its deletion when it is now empty: empty collections
    /// vanish, as in Redis). A sorted set may carry pop hints (see `Metadata.zsetHints`), a set
    /// its slot-index flag (`Metadata.setSlotIndexed`); without them the record has none.
    func stageCollectionMeta(_ type: ValueType, _ key: ByteBuffer, expireAt: Int64, generation: UInt64, count: UInt64,
                             hints: ZsetHints = (nil, nil), slotIndexed: Bool = false) {
        if count == 0 { return stageDelete(key) }
        encodeKey(key)
        Metadata.encodeCollection(type, expireAt: expireAt, timestamp: stamp, generation: generation,
                                  count: count, into: &valueScratch)
        if hints.floor != nil || hints.ceiling != nil { Metadata.appendZsetHints(hints, to: &valueScratch) }
        if slotIndexed { valueScratch.append(1) }
        putInto(immediate, .metadata)
    }


    /// Stages an element write (or, with nil, its deletion).
    func stageElement(_ elementKey: [UInt8], value: UnsafeRawBufferPointer?, family: ColumnFamily = .subkeys) {
        elementKey.withUnsafeBytes { k in
            if let value {
                put(immediate, family, k, value)
            } else {
                delete(immediate, family, k)
            }
        }
    }

}
