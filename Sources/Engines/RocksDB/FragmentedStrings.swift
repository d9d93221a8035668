import NIOCore

/// Large strings in fragments, so that SETBIT (and GETBIT) on a big bitmap touch one fragment
/// instead of the whole value: Kvrocks splits bitmaps into 1 KiB fragments; Dynamis does it for
/// any string that SETBIT grows or finds past `fragmentSize`. The metadata record keeps the
/// string type (with `Metadata.fragmentedFlag`), a generation and the value's length; fragment
/// `i` (bytes i·F ..< (i+1)·F) is a `subkeys` record under (key, generation, i as 4 big-endian
/// bytes). A fragment of zeros is not stored, so a sparse bitmap costs only its set fragments.
/// Every other reader gets the whole value from `readRecord` (O(length), as Redis's own reads
/// of a string are), and any other write of the key stores a plain string again; the fragments
/// of a replaced or deleted value are reclaimed by the orphan sweep, as a collection's are.
extension RocksDBStorage {
    /// Bytes per fragment; also the largest string SETBIT keeps whole.
    static let fragmentSize = 4096

    /// The `subkeys` key of fragment `index` of the key in `keyScratch`.
    private func fragmentKey(generation: UInt64, index: Int) -> [UInt8] {
        var out = KeyEncoding.subkeyPrefix(metadataKey: keyScratch, generation: generation)
        KeyEncoding.appendBigEndian(UInt32(index), to: &out)
        return out
    }

    /// Fragment `index`, zero-filled to `fragmentSize` when it is not stored.
    private func readFragment(generation: UInt64, index: Int) throws(RocksDBError) -> [UInt8] {
        var bytes = try readStored(.subkeys, key: fragmentKey(generation: generation, index: index)) ?? []
        if bytes.count < Self.fragmentSize { bytes += repeatElement(0, count: Self.fragmentSize - bytes.count) }
        return bytes
    }

    /// Stages fragment `index` (its deletion when it is all zeros).
    private func stageFragment(generation: UInt64, index: Int, _ bytes: ArraySlice<UInt8>) {
        let key = fragmentKey(generation: generation, index: index)
        if bytes.allSatisfy({ $0 == 0 }) {
            stageElement(key, value: nil)
        } else {
            bytes.withUnsafeBytes { stageElement(key, value: $0) }
        }
    }

    /// Stages the record of the fragmented string in `keyScratch`.
    private func stageFragmentedRecord(generation: UInt64, length: Int, expireAt: Int64) {
        Metadata.encodeFragmentedString(expireAt: expireAt, timestamp: stamp, generation: generation, length: length,
                                        into: &valueScratch)
        putInto(immediate, .metadata)
    }

    // By key, for `StringStore`: each encodes the key itself, so none depends on what an
    // earlier call left in `keyScratch`.

    /// Fragment `index` of `key`'s string, zero-filled to `fragmentSize` when it is not stored.
    func readFragment(of key: ByteBuffer, generation: UInt64, index: Int) throws(RocksDBError) -> [UInt8] {
        encodeKey(key)
        return try readFragment(generation: generation, index: index)
    }

    /// Stages fragment `index` of `key`'s string (its deletion when it is all zeros).
    func stageFragment(of key: ByteBuffer, generation: UInt64, index: Int, _ bytes: ArraySlice<UInt8>) {
        encodeKey(key)
        stageFragment(generation: generation, index: index, bytes)
    }

    /// Stages `key`'s record as a fragmented string of `length` bytes.
    func stageFragmentedRecord(_ key: ByteBuffer, generation: UInt64, length: Int, expireAt: Int64) {
        encodeKey(key)
        stageFragmentedRecord(generation: generation, length: length, expireAt: expireAt)
    }

    /// The same for `key` (its fragments are found by its metadata key).
    func wholeString(of key: ByteBuffer, _ meta: Metadata, record: [UInt8]) throws(RocksDBError) -> Record {
        encodeKey(key)
        return try wholeString(meta, record: record)
    }

    /// A fragmented string's record as the plain string record it stands for (the key in
    /// `keyScratch`): each fragment
    /// the length covers read by its key (an iterator's step past the last fragment could
    /// crawl over the deletion markers of other keys' removed elements), the gaps zeros.
    private func wholeString(_ meta: Metadata, record: [UInt8]) throws(RocksDBError) -> Record {
        let (generation, length64) = Metadata.collection(record) ?? (0, 0)
        // No write makes a string longer than Redis's 512 MB (SETBIT's last bit included).
        guard length64 <= 512 * 1024 * 1024 else { throw .corrupt }
        let length = Int(length64)
        var stored: [UInt8] = []
        Metadata.encodeString(expireAt: meta.expireAt, timestamp: meta.timestamp, value: UnsafeRawBufferPointer(start: nil, count: 0),
                              into: &stored)
        stored.reserveCapacity(Metadata.headerSize + length)
        var index = 0
        while stored.count - Metadata.headerSize < length {
            let want = min(Self.fragmentSize, length - (stored.count - Metadata.headerSize))
            let bytes = try readStored(.subkeys, key: fragmentKey(generation: generation, index: index))
            if let bytes {
                stored += bytes.prefix(want)
                if bytes.count < want { stored += repeatElement(0, count: want - bytes.count) }
            } else {
                stored += repeatElement(0, count: want)
            }
            index += 1
        }
        var plain = meta
        plain.fragmented = false
        return Record(meta: plain, stored: stored)
    }
}
