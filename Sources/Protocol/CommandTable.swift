import NIOCore

/// The command table: every command's spec, looked up by name case-insensitively with no
/// allocation (a hash of the lower-cased bytes, then a byte comparison).
public enum CommandTable {
    /// Every row, registered by its family's file in `Commands/` (one place per command). The
    /// backend engines forward Dynomite's command set with its flag bugs fixed: TTL and PFCOUNT
    /// read; SUNIONSTORE, ZUNIONSTORE, ZINTERSTORE write; UNLINK and HSTRLEN work.
    public static let all: [CommandSpec] = connectionRows + stringRows + bitmapRows + hyperLogLogRows + hashRows
        + listRows + setRows + sortedSetRows + geoRows + keyspaceRows + nodeRows + scriptingRows + transactionRows
        + unsupportedRows

    /// Folded-name hash → position in `all` (a hash collision falls back to a scan).
    private static let index: [UInt64: Int] = {
        var index: [UInt64: Int] = [:]
        for (i, spec) in all.enumerated() {
            let h = foldedHash(UnsafeRawBufferPointer(start: spec.name.utf8Start, count: spec.name.utf8CodeUnitCount))
            if index[h] == nil { index[h] = i }
        }
        return index
    }()

    /// The spec for a command name, in any letter case.
    @inlinable
    public static func lookup(_ name: ByteBuffer) -> CommandSpec? {
        name.withUnsafeReadableBytes { lookup($0) }
    }

    public static func lookup(_ name: UnsafeRawBufferPointer) -> CommandSpec? {
        guard name.count <= 32, let position = index[foldedHash(name)] else { return nil }
        let spec = all[position]
        if equalsFolded(spec.name, name) { return spec }
        return all.first { equalsFolded($0.name, name) }
    }

    public static func lookup(_ name: String) -> CommandSpec? {
        Array(name.utf8).withUnsafeBytes { lookup($0) }
    }

    /// FNV-1a over ASCII-lower-cased bytes.
    static func foldedHash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            h ^= UInt64(b >= 65 && b <= 90 ? b | 0x20 : b)
            h &*= 0x100_0000_01b3
        }
        return h
    }

    static func equalsFolded(_ lower: StaticString, _ bytes: UnsafeRawBufferPointer) -> Bool {
        let count = lower.utf8CodeUnitCount
        guard count == bytes.count else { return false }
        let expected = lower.utf8Start
        for i in 0..<count {
            let b = bytes[i]
            if (b >= 65 && b <= 90 ? b | 0x20 : b) != expected[i] { return false }
        }
        return true
    }
}
