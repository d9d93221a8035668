import CRocksDB
#if canImport(Glibc)
import Glibc
#endif

/// The metadata family's merge operator: of a key's stored record and the records merged onto
/// it, the one with the newest version (`WriteVersion`, bytes 10..<18 of every record; the later
/// one on a tie) is the key's record. A cluster's stamped blind writes (SET, SETEX, PSETEX, MSET)
/// are merged instead of put, so a replica keeps the newest of two coordinators' writes whatever
/// order they arrive in, without reading the key first: RocksDB applies this when the key is
/// read or compacted. (A read and a held lock per SET, or one batched read per burst, cost a
/// cluster 25–95% more CPU per SET.) Any other write is a plain put or delete, which replaces
/// everything before it, as before.
enum LastWriterWins {
    static func makeOperator() -> OpaquePointer {
        rocksdb_mergeoperator_create(nil, { _ in }, fullMerge, partialMerge, { _, value, _ in free(UnsafeMutableRawPointer(mutating: value)) },
                                     { _ in UnsafePointer(LastWriterWins.name) })!
    }

    /// Never freed or written: RocksDB keeps the operator's name for the database's lifetime.
    nonisolated(unsafe) private static let name: UnsafeMutablePointer<CChar> = strdup("dynamis.last-writer-wins")!

    /// A record's version, or 0 for anything too short to carry one.
    @inline(__always)
    static func version(_ record: UnsafePointer<CChar>?, _ length: Int) -> UInt64 {
        guard let record, length >= Metadata.headerSize else { return 0 }
        var value: UInt64 = 0
        withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: UnsafeRawBufferPointer(start: record + 10, count: 8)) }
        return UInt64(bigEndian: value)
    }

    /// The index of the newest of `count` records (ties: the later).
    private static func newest(_ records: UnsafePointer<UnsafePointer<CChar>?>, _ lengths: UnsafePointer<Int>, _ count: Int) -> Int {
        var best = 0
        var bestVersion = version(records[0], lengths[0])
        for i in 1..<count {
            let v = version(records[i], lengths[i])
            if v >= bestVersion { best = i; bestVersion = v }
        }
        return best
    }

    private static func copy(_ record: UnsafePointer<CChar>?, _ length: Int, _ newLength: UnsafeMutablePointer<Int>?,
                             _ success: UnsafeMutablePointer<UInt8>?) -> UnsafeMutablePointer<CChar>? {
        let out = malloc(max(length, 1))!.assumingMemoryBound(to: CChar.self)
        if let record, length > 0 { memcpy(out, record, length) }
        newLength?.pointee = length
        success?.pointee = 1
        return out
    }

    private static let fullMerge: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int, UnsafePointer<CChar>?, Int,
                                                  UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int>?, Int32,
                                                  UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<Int>?) -> UnsafeMutablePointer<CChar>? = {
        _, _, _, existing, existingLength, operands, lengths, count, success, newLength in
        guard let operands, let lengths, count > 0 else { return copy(existing, existingLength, newLength, success) }
        let best = newest(operands, lengths, Int(count))
        if let existing, version(existing, existingLength) > version(operands[best], lengths[best]) {
            return copy(existing, existingLength, newLength, success)
        }
        return copy(operands[best], lengths[best], newLength, success)
    }

    private static let partialMerge: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int,
                                                     UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int>?, Int32,
                                                     UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<Int>?) -> UnsafeMutablePointer<CChar>? = {
        _, _, _, operands, lengths, count, success, newLength in
        guard let operands, let lengths, count > 0 else {
            success?.pointee = 0
            return nil
        }
        let best = newest(operands, lengths, Int(count))
        return copy(operands[best], lengths[best], newLength, success)
    }
}
