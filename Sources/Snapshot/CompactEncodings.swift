/// Redis's compact in-memory encodings as they appear inside RDB strings: ziplist, listpack,
/// intset and zipmap. Each decodes to plain elements (integers as their decimal text).
enum CompactEncodings {
    /// One element of a ziplist or listpack.
    enum Element {
        case bytes([UInt8])
        case integer(Int64)

        var asBytes: [UInt8] {
            switch self {
            case .bytes(let b): b
            case .integer(let i): Array(String(i).utf8)
            }
        }

        func asScore(_ cursor: RDBCursor) throws(RDBError) -> Double {
            switch self {
            case .integer(let i): return Double(i)
            case .bytes(let b):
                let text = String(decoding: b, as: UTF8.self)
                switch text.lowercased() {
                case "inf", "+inf", "infinity", "+infinity": return .infinity
                case "-inf", "-infinity": return -.infinity
                default:
                    guard let d = Double(text), !d.isNaN else { throw cursor.fail("bad score '\(text)'") }
                    return d
                }
            }
        }
    }

    static func ziplist(_ blob: [UInt8], base: Int) throws(RDBError) -> [Element] {
        try withRawBytes(blob) { (raw) throws(RDBError) -> [Element] in
            var c = RDBCursor(raw, base: base)
            let total = try c.littleEndian(UInt32.self)
            guard Int(total) == raw.count else { throw c.fail("ziplist size \(total) does not match its blob (\(raw.count))") }
            _ = try c.littleEndian(UInt32.self)  // tail offset
            let declared = try c.littleEndian(UInt16.self)
            var out: [Element] = []
            out.reserveCapacity(Int(declared))
            while true {
                let prev = try c.byte()
                if prev == 0xff { break }
                if prev == 0xfe { _ = try c.littleEndian(UInt32.self) }
                let header = try c.byte()
                switch header >> 6 {
                case 0: out.append(.bytes(Array(try c.raw(Int(header & 0x3f)))))
                case 1: out.append(.bytes(Array(try c.raw((Int(header & 0x3f) << 8) | Int(try c.byte())))))
                case 2:
                    guard header == 0x80 else { throw c.fail("bad ziplist string header 0x\(String(header, radix: 16))") }
                    out.append(.bytes(Array(try c.raw(Int(try c.bigEndian(UInt32.self))))))
                default:
                    switch header {
                    case 0xc0: out.append(.integer(Int64(try c.littleEndian(Int16.self))))
                    case 0xd0: out.append(.integer(Int64(try c.littleEndian(Int32.self))))
                    case 0xe0: out.append(.integer(try c.littleEndian(Int64.self)))
                    case 0xf0:
                        let lo = UInt32(try c.byte()), mid = UInt32(try c.byte()), hi = UInt32(try c.byte())
                        out.append(.integer(Int64(Int32(bitPattern: (lo << 8) | (mid << 16) | (hi << 24)) >> 8)))
                    case 0xfe: out.append(.integer(Int64(Int8(bitPattern: try c.byte()))))
                    case 0xf1...0xfd: out.append(.integer(Int64(header & 0x0f) - 1))
                    default: throw c.fail("bad ziplist entry header 0x\(String(header, radix: 16))")
                    }
                }
            }
            guard declared == UInt16.max || Int(declared) == out.count else {
                throw c.fail("ziplist declares \(declared) entries but holds \(out.count)")
            }
            return out
        }
    }

    static func listpack(_ blob: [UInt8], base: Int) throws(RDBError) -> [Element] {
        try withRawBytes(blob) { (raw) throws(RDBError) -> [Element] in
            var c = RDBCursor(raw, base: base)
            let total = try c.littleEndian(UInt32.self)
            guard Int(total) == raw.count else { throw c.fail("listpack size \(total) does not match its blob (\(raw.count))") }
            let declared = try c.littleEndian(UInt16.self)
            var out: [Element] = []
            out.reserveCapacity(Int(declared))
            while true {
                let start = c.position
                let e = try c.byte()
                if e == 0xff { break }
                if e & 0x80 == 0 {
                    out.append(.integer(Int64(e)))
                } else if e & 0xc0 == 0x80 {
                    out.append(.bytes(Array(try c.raw(Int(e & 0x3f)))))
                } else if e & 0xe0 == 0xc0 {
                    let v = (Int(e & 0x1f) << 8) | Int(try c.byte())
                    out.append(.integer(Int64(v >= 1 << 12 ? v - (1 << 13) : v)))
                } else if e & 0xf0 == 0xe0 {
                    out.append(.bytes(Array(try c.raw((Int(e & 0x0f) << 8) | Int(try c.byte())))))
                } else {
                    switch e {
                    case 0xf0: out.append(.bytes(Array(try c.raw(Int(try c.littleEndian(UInt32.self))))))
                    case 0xf1: out.append(.integer(Int64(try c.littleEndian(Int16.self))))
                    case 0xf2:
                        let lo = UInt32(try c.byte()), mid = UInt32(try c.byte()), hi = UInt32(try c.byte())
                        out.append(.integer(Int64(Int32(bitPattern: (lo << 8) | (mid << 16) | (hi << 24)) >> 8)))
                    case 0xf3: out.append(.integer(Int64(try c.littleEndian(Int32.self))))
                    case 0xf4: out.append(.integer(try c.littleEndian(Int64.self)))
                    default: throw c.fail("bad listpack entry encoding 0x\(String(e, radix: 16))")
                    }
                }
                // The back-length: the entry's size in 7-bit groups, 1 to 5 bytes.
                let size = c.position - start
                let backlen = size <= 127 ? 1 : size < 16383 ? 2 : size < 2_097_151 ? 3 : size < 268_435_455 ? 4 : 5
                _ = try c.raw(backlen)
            }
            guard declared == UInt16.max || Int(declared) == out.count else {
                throw c.fail("listpack declares \(declared) entries but holds \(out.count)")
            }
            return out
        }
    }

    static func intset(_ blob: [UInt8], base: Int) throws(RDBError) -> [[UInt8]] {
        try withRawBytes(blob) { (raw) throws(RDBError) -> [[UInt8]] in
            var c = RDBCursor(raw, base: base)
            let width = try c.littleEndian(UInt32.self)
            let count = Int(try c.littleEndian(UInt32.self))
            guard [2, 4, 8].contains(width) else { throw c.fail("bad intset encoding \(width)") }
            guard count * Int(width) == raw.count - 8 else { throw c.fail("intset holds \(raw.count - 8) bytes for \(count) entries") }
            var out: [[UInt8]] = []
            out.reserveCapacity(count)
            for _ in 0..<count {
                let v: Int64 = switch width {
                case 2: Int64(try c.littleEndian(Int16.self))
                case 4: Int64(try c.littleEndian(Int32.self))
                default: try c.littleEndian(Int64.self)
                }
                out.append(Array(String(v).utf8))
            }
            return out
        }
    }

    /// Redis 2.x hashes.
    static func zipmap(_ blob: [UInt8], base: Int) throws(RDBError) -> [RDBField] {
        try withRawBytes(blob) { (raw) throws(RDBError) -> [RDBField] in
            var c = RDBCursor(raw, base: base)
            _ = try c.byte()  // count, unreliable above 253
            func length(_ c: inout RDBCursor) throws(RDBError) -> Int? {
                let b = try c.byte()
                if b == 0xff { return nil }
                if b < 254 { return Int(b) }
                guard b == 254 else { throw c.fail("bad zipmap length") }
                return Int(try c.littleEndian(UInt32.self))
            }
            var out: [RDBField] = []
            while let fieldLength = try length(&c) {
                let field = Array(try c.raw(fieldLength))
                guard let valueLength = try length(&c) else { throw c.fail("zipmap field without a value") }
                let free = Int(try c.byte())
                let value = Array(try c.raw(valueLength))
                _ = try c.raw(free)
                out.append(RDBField(field: field, value: value))
            }
            return out
        }
    }
}
