import NIOCore

/// Bits of strings (SETBIT, GETBIT, BITOP; BITCOUNT, BITPOS and BITFIELD read and edit whole
/// values through `bytes` and `edit`). A string SETBIT grows past one fragment is kept in
/// fragments from then on (`FragmentedStrings.swift`), so a bit of a large bitmap costs one
/// fragment's read and write; every other reader sees the whole value.
extension StringStore {
    /// Sets (`on`) or clears bit `offset` (bit 0 is the first byte's most significant), growing
    /// the string with zero bytes to reach it; returns the bit's previous value. The expiry is
    /// kept.
    func setBit(_ key: ByteBuffer, at offset: Int, to on: Bool) throws(StoreError) -> Bool {
        let byte = offset >> 3, mask = UInt8(0x80) >> UInt8(offset & 7)
        let fragmentSize = RocksDBStorage.fragmentSize
        /// Sets or clears the bit in `bytes` at `index`; returns whether it was set.
        func flip(_ bytes: inout [UInt8], at index: Int) -> Bool {
            let previous = bytes[index] & mask != 0
            if on { bytes[index] |= mask } else { bytes[index] &= ~mask }
            return previous
        }
        return try storage.modifying(key) { () throws(StoreError) in
            let old = try storedString(key)
            let expireAt = old?.meta.expireAt ?? 0
            if let old, old.meta.fragmented, let (generation, length) = Metadata.collection(old.stored) {
                // One fragment read and written, whatever the bitmap's size.
                let index = byte / fragmentSize
                var fragment = try storage.storing { () throws(RocksDBError) in
                    try storage.readFragment(of: key, generation: generation, index: index)
                }
                let previous = flip(&fragment, at: byte % fragmentSize)
                if previous != on { storage.stageFragment(of: key, generation: generation, index: index, fragment[...]) }
                storage.stageFragmentedRecord(key, generation: generation, length: max(Int(length), byte + 1), expireAt: expireAt)
                return previous
            }
            let current = old?.stringValue ?? []
            if max(current.count, byte + 1) > fragmentSize {
                // Past one fragment the string is kept in fragments from now on: its bytes are
                // split once, and the bit is set in its fragment without materializing the gap.
                let generation = storage.engine.nextGeneration()
                let target = byte / fragmentSize
                let fragments = (current.count + fragmentSize - 1) / fragmentSize
                for index in 0..<fragments where index != target {
                    let start = current.startIndex + index * fragmentSize
                    storage.stageFragment(of: key, generation: generation, index: index,
                                          current[start..<min(start + fragmentSize, current.endIndex)])
                }
                var fragment = [UInt8](repeating: 0, count: fragmentSize)
                let base = target * fragmentSize
                if base < current.count {
                    let from = current.startIndex + base
                    let bytes = current[from..<min(from + fragmentSize, current.endIndex)]
                    fragment.replaceSubrange(0..<bytes.count, with: bytes)
                }
                let previous = flip(&fragment, at: byte % fragmentSize)
                storage.stageFragment(of: key, generation: generation, index: target, fragment[...])
                storage.stageFragmentedRecord(key, generation: generation, length: max(current.count, byte + 1), expireAt: expireAt)
                return previous
            }
            var value = Array(current)
            if value.count <= byte { value.append(contentsOf: repeatElement(0, count: byte + 1 - value.count)) }
            let previous = flip(&value, at: byte)
            value.withUnsafeBytes { storage.stageString(key, $0, expireAt: expireAt) }
            return previous
        }
    }

    /// Bit `offset` of the string (false past its end or when the key is missing); reads one
    /// fragment of a fragmented string.
    func bit(_ key: ByteBuffer, at offset: Int) throws(StoreError) -> Bool {
        guard let record = try storedString(key) else { return false }
        let byte = offset >> 3, mask = UInt8(0x80) >> UInt8(offset & 7)
        if record.meta.fragmented, let (generation, length) = Metadata.collection(record.stored) {
            guard byte < length else { return false }
            let fragmentSize = RocksDBStorage.fragmentSize
            let fragment = try storage.storing { () throws(RocksDBError) in
                try storage.readFragment(of: key, generation: generation, index: byte / fragmentSize)
            }
            return fragment[byte % fragmentSize] & mask != 0
        }
        let value = record.stringValue
        guard byte < value.count else { return false }
        return value[value.startIndex + byte] & mask != 0
    }

    /// Replaces `destination` with what `combine` makes of the strings of `sources` (a missing
    /// key reads as an empty string; any other type is refused before anything is written),
    /// holding every key's stripe: the result is stored without an expiry, and an empty result
    /// deletes the destination, as Redis's BITOP does. Returns the result's length.
    func store(_ destination: ByteBuffer, from sources: some Collection<ByteBuffer>,
               _ combine: ([ArraySlice<UInt8>]) -> [UInt8]) throws(StoreError) -> Int {
        try storage.modifying(CollectionOfOne(destination) + Array(sources)) { () throws(StoreError) in
            let now = WallClock.nowMillis()
            var values: [ArraySlice<UInt8>] = []
            values.reserveCapacity(sources.count)
            for source in sources { values.append(try string(source, now: now)?.stringValue ?? []) }
            let result = combine(values)
            if result.isEmpty {
                let present = try storage.storing { () throws(RocksDBError) in try storage.readMetadataRecord(destination) != nil }
                if present { storage.stageDelete(destination) }
            } else {
                result.withUnsafeBytes { storage.stageString(destination, $0, expireAt: 0) }
            }
            return result.count
        }
    }

    /// The key's live string record as stored (a fragmented string's unassembled; nil when
    /// missing); another type is refused.
    private func storedString(_ key: ByteBuffer) throws(StoreError) -> RocksDBStorage.Record? {
        let record = try storage.storing { () throws(RocksDBError) in try storage.readStoredRecord(key, now: WallClock.nowMillis()) }
        guard let record else { return nil }
        guard record.meta.type == .string else { throw .wrongType }
        return record
    }
}
