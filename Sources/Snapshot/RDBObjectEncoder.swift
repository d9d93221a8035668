/// Writes values in RDB's plain (non-compact) encodings, which every Redis since 5.0 loads
/// without the deep validation compact blobs get. Strings are never LZF-compressed.
public enum RDBObjectEncoder {
    /// The type byte for a value: STRING, LIST, SET, ZSET_2, HASH.
    public static func typeByte(_ value: RDBValue) -> UInt8 {
        switch value {
        case .string: 0
        case .list: 1
        case .set: 2
        case .zset: 5
        case .hash: 4
        }
    }

    public static func value(_ value: RDBValue, into out: inout [UInt8]) {
        switch value {
        case .string(let s): string(s, into: &out)
        case .list(let items), .set(let items):
            length(items.count, into: &out)
            for item in items { string(item, into: &out) }
        case .hash(let fields):
            length(fields.count, into: &out)
            for f in fields {
                string(f.field, into: &out)
                string(f.value, into: &out)
            }
        case .zset(let members):
            // Highest score first, as Redis writes it (its loader then inserts at the head).
            length(members.count, into: &out)
            for m in members.sorted(by: { $0.score > $1.score }) {
                string(m.member, into: &out)
                var bits = m.score.bitPattern.littleEndian
                withUnsafeBytes(of: &bits) { out.append(contentsOf: $0) }
            }
        }
    }

    public static func length(_ n: Int, into out: inout [UInt8]) {
        if n < 1 << 6 {
            out.append(UInt8(n))
        } else if n < 1 << 14 {
            out.append(0x40 | UInt8(n >> 8))
            out.append(UInt8(n & 0xff))
        } else if n <= Int(UInt32.max) {
            out.append(0x80)
            var v = UInt32(n).bigEndian
            withUnsafeBytes(of: &v) { out.append(contentsOf: $0) }
        } else {
            out.append(0x81)
            var v = UInt64(n).bigEndian
            withUnsafeBytes(of: &v) { out.append(contentsOf: $0) }
        }
    }

    /// Short canonical integers get Redis's integer encoding, everything else is raw.
    public static func string(_ s: [UInt8], into out: inout [UInt8]) {
        if s.count <= 11, let v = canonicalInt32(s) {
            if v >= Int32(Int8.min), v <= Int32(Int8.max) {
                out.append(0xc0)
                out.append(UInt8(bitPattern: Int8(v)))
            } else if v >= Int32(Int16.min), v <= Int32(Int16.max) {
                out.append(0xc1)
                var le = Int16(v).littleEndian
                withUnsafeBytes(of: &le) { out.append(contentsOf: $0) }
            } else {
                out.append(0xc2)
                var le = v.littleEndian
                withUnsafeBytes(of: &le) { out.append(contentsOf: $0) }
            }
            return
        }
        length(s.count, into: &out)
        out.append(contentsOf: s)
    }

    /// The value when `s` is exactly the decimal text Redis would print for it (no "+",
    /// leading zeros or "-0"), so decoding gives back the same bytes.
    static func canonicalInt32(_ s: [UInt8]) -> Int32? {
        guard !s.isEmpty else { return nil }
        var i = 0
        var negative = false
        if s[0] == UInt8(ascii: "-") {
            negative = true
            i = 1
            guard s.count > 1 else { return nil }
        }
        if s[i] == UInt8(ascii: "0") && (s.count > i + 1 || negative) { return nil }
        var v: Int64 = 0
        while i < s.count {
            let d = s[i] &- UInt8(ascii: "0")
            guard d < 10 else { return nil }
            v = v * 10 + Int64(d)
            i += 1
        }
        if negative { v = -v }
        guard v >= Int64(Int32.min), v <= Int64(Int32.max) else { return nil }
        return Int32(v)
    }
}
