/// The byte layout of stored keys, in one place.
///
/// Every stored key starts with the user key's 32-bit data token, big-endian, so one token range
/// of the ring is one contiguous RocksDB range (range streaming, repair hashing and resumable
/// SCAN cursors become iterator walks).
enum KeyEncoding {
    /// metadata CF: token (4, BE) ‖ user key. The user key runs to the end: no length needed.
    @inline(__always)
    static func metadataKey(token: UInt32, key: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        appendMetadataKey(token: token, key: key, to: &out)
    }

    /// The same appended to `out` (MGET's batch of keys).
    @inline(__always)
    static func appendMetadataKey(token: UInt32, key: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        appendBigEndian(token, to: &out)
        out.append(contentsOf: key)
    }

    /// subkeys/zscore CF prefix: token (4) ‖ key length (4, BE) ‖ user key ‖ generation (8, BE).
    /// The length stops key "a" from sharing a prefix with key "ab".
    static func subkeyPrefix(token: UInt32, key: UnsafeRawBufferPointer, generation: UInt64, into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        appendBigEndian(token, to: &out)
        appendBigEndian(UInt32(key.count), to: &out)
        out.append(contentsOf: key)
        appendBigEndian(generation, to: &out)
    }

    /// The same prefix built from a metadata key (token ‖ user key).
    static func subkeyPrefix(metadataKey: [UInt8], generation: UInt64) -> [UInt8] {
        var out: [UInt8] = Array(metadataKey[0..<4])
        appendBigEndian(UInt32(metadataKey.count - 4), to: &out)
        out.append(contentsOf: metadataKey[4...])
        appendBigEndian(generation, to: &out)
        return out
    }

    /// Splits a subkey back into its group prefix (token ‖ length ‖ key ‖ generation), the
    /// metadata key of its user key, and its generation.
    static func splitSubkey(_ stored: [UInt8]) -> (prefix: ArraySlice<UInt8>, metadataKey: [UInt8], generation: UInt64)? {
        guard stored.count >= 16 else { return nil }
        let length = stored.withUnsafeBytes { Int(readBigEndian($0, at: 4, as: UInt32.self)) }
        let prefixLength = 8 + length + 8
        guard stored.count >= prefixLength else { return nil }
        let generation = stored.withUnsafeBytes { readBigEndian($0, at: 8 + length, as: UInt64.self) }
        return (stored[0..<prefixLength], Array(stored[0..<4]) + stored[8..<(8 + length)], generation)
    }

    /// The smallest key greater than every key that starts with `prefix`.
    static func successor(of prefix: ArraySlice<UInt8>) -> [UInt8] {
        var out = Array(prefix)
        while let last = out.last {
            if last < 0xff {
                out[out.count - 1] = last + 1
                return out
            }
            out.removeLast()
        }
        return [0xff, 0xff, 0xff, 0xff, 0xff]
    }

    /// Splits a metadata key back into token and user key.
    static func splitMetadataKey(_ stored: [UInt8]) -> (token: UInt32, key: ArraySlice<UInt8>)? {
        guard stored.count >= 4 else { return nil }
        let token = UInt32(stored[0]) << 24 | UInt32(stored[1]) << 16 | UInt32(stored[2]) << 8 | UInt32(stored[3])
        return (token, stored[4...])
    }

    @inline(__always)
    static func appendBigEndian<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        var v = value.bigEndian
        withUnsafeBytes(of: &v) { out.append(contentsOf: $0) }
    }

    @inline(__always)
    static func readBigEndian<T: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, at offset: Int, as: T.Type) -> T {
        var value: T = 0
        withUnsafeMutableBytes(of: &value) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + MemoryLayout<T>.size)]))
        }
        return T(bigEndian: value)
    }
}
