/// The Redis type a key holds.
enum ValueType: UInt8 {
    case string = 1, hash = 2, list = 3, set = 4, zset = 5

    var name: StaticString {
        switch self {
        case .string: return "string"
        case .hash: return "hash"
        case .list: return "list"
        case .set: return "set"
        case .zset: return "zset"
        }
    }
}

/// The metadata record of one user key.
///
/// Layout (all integers big-endian):
///   0      format version (1)
///   1      type (`ValueType`)
///   2..<10 absolute expiry, Unix ms (0 = none)
///   10..<18 write timestamp, Unix µs (kept for replica repair: last-writer-wins needs it)
///   then a string's bytes, or a collection's generation (8) and element count (8)
///   (lists add head and tail indices).
struct Metadata {
    static let formatVersion: UInt8 = 1
    static let headerSize = 18

    var type: ValueType
    /// Unix ms; 0 = persistent.
    var expireAt: Int64
    var timestamp: UInt64
    /// A string kept in fragments (`FragmentedStrings.swift`): the record holds a generation
    /// and the value's length where a plain string holds its bytes.
    var fragmented = false

    /// The type byte's high bit marks a fragmented string; the type itself is the low bits, so
    /// everything that asks for a key's type sees a string.
    static let fragmentedFlag: UInt8 = 0x80

    /// Parses the header; nil for a record this build cannot read.
    @inline(__always)
    static func decode(_ stored: UnsafeRawBufferPointer) -> Metadata? {
        guard stored.count >= headerSize, stored[0] == formatVersion,
              let type = ValueType(rawValue: stored[1] & ~fragmentedFlag) else {
            return nil
        }
        return Metadata(type: type,
                        expireAt: KeyEncoding.readBigEndian(stored, at: 2, as: Int64.self),
                        timestamp: KeyEncoding.readBigEndian(stored, at: 10, as: UInt64.self),
                        fragmented: stored[1] & fragmentedFlag != 0)
    }

    /// Writes a fragmented string's record: header, generation, value length.
    static func encodeFragmentedString(expireAt: Int64, timestamp: UInt64, generation: UInt64, length: Int, into out: inout [UInt8]) {
        encodeCollection(.string, expireAt: expireAt, timestamp: timestamp, generation: generation, count: UInt64(length), into: &out)
        out[1] |= fragmentedFlag
    }

    @inline(__always)
    func isExpired(now: Int64) -> Bool { expireAt != 0 && expireAt <= now }

    /// Writes the header followed by a string value.
    @inline(__always)
    static func encodeString(expireAt: Int64, timestamp: UInt64, value: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        out.append(formatVersion)
        out.append(ValueType.string.rawValue)
        KeyEncoding.appendBigEndian(expireAt, to: &out)
        KeyEncoding.appendBigEndian(timestamp, to: &out)
        out.append(contentsOf: value)
    }

    static let collectionSize = headerSize + 16

    /// Writes a collection's record: header, generation, element count.
    static func encodeCollection(_ type: ValueType, expireAt: Int64, timestamp: UInt64, generation: UInt64, count: UInt64,
                                 into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        out.append(formatVersion)
        out.append(type.rawValue)
        KeyEncoding.appendBigEndian(expireAt, to: &out)
        KeyEncoding.appendBigEndian(timestamp, to: &out)
        KeyEncoding.appendBigEndian(generation, to: &out)
        KeyEncoding.appendBigEndian(count, to: &out)
    }

    /// A collection record's generation and element count; nil for a record too short, or one
    /// counting more elements than Redis allows in a key (2^32 - 1; a fragmented string's
    /// length is far below it), which only a corrupt record does: every reader can then turn
    /// the count into an `Int` without a check.
    static func collection(_ stored: [UInt8]) -> (generation: UInt64, count: UInt64)? {
        guard stored.count >= collectionSize else { return nil }
        let fields = stored.withUnsafeBytes {
            (KeyEncoding.readBigEndian($0, at: headerSize, as: UInt64.self), KeyEncoding.readBigEndian($0, at: headerSize + 8, as: UInt64.self))
        }
        return fields.1 <= UInt64(UInt32.max) ? fields : nil
    }

    /// Whether a set's record says the set has a slot index (`SetSlotIndex.swift`): a flag byte
    /// after its collection fields. Records without it (sets never sampled, or written by
    /// earlier builds) have none.
    static func setSlotIndexed(_ stored: [UInt8]) -> Bool {
        stored.count > collectionSize && stored[collectionSize] == 1
    }

    /// A sorted set's pop hints, stored after its collection fields: index suffixes
    /// (score ‖ member) such that every live member is at or above `floor` and at or below
    /// `ceiling`. ZPOPMIN/ZPOPMAX start their walks there instead of at the set's ends, where
    /// the deletion markers of every earlier pop lie until compaction. A record without them
    /// (every other writer) simply has no hints.
    static func zsetHints(_ stored: [UInt8]) -> ZsetHints {
        var at = collectionSize
        var hints: [[UInt8]?] = []
        while hints.count < 2 {
            guard stored.count >= at + 2 else { return (nil, nil) }
            let length = Int(stored[at]) << 8 | Int(stored[at + 1])
            guard stored.count >= at + 2 + length else { return (nil, nil) }
            hints.append(length == 0 ? nil : Array(stored[(at + 2)..<(at + 2 + length)]))
            at += 2 + length
        }
        return (hints[0], hints[1])
    }

    /// Appends pop hints to an encoded sorted-set record (an absent hint as length 0).
    static func appendZsetHints(_ hints: ZsetHints, to out: inout [UInt8]) {
        for hint in [hints.floor, hints.ceiling] {
            let bytes = (hint?.count ?? 0) <= Int(UInt16.max) ? hint ?? [] : []
            out.append(UInt8(bytes.count >> 8))
            out.append(UInt8(bytes.count & 0xFF))
            out.append(contentsOf: bytes)
        }
    }

    /// Rewrites only the expiry of an encoded record, keeping everything else.
    static func withExpiry(_ stored: UnsafeRawBufferPointer, expireAt: Int64, timestamp: UInt64) -> [UInt8] {
        var out = Array(stored)
        var e = expireAt.bigEndian
        var t = timestamp.bigEndian
        withUnsafeBytes(of: &e) { out.replaceSubrange(2..<10, with: $0) }
        withUnsafeBytes(of: &t) { out.replaceSubrange(10..<18, with: $0) }
        return out
    }
}

/// A sorted set's pop hints: `score ‖ member` index suffixes bounding its live members.
typealias ZsetHints = (floor: [UInt8]?, ceiling: [UInt8]?)
