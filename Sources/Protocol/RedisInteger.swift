/// Redis's strict integer syntax (`string2ll`): an optional '-', then digits with no leading
/// zero (except "0" itself), no spaces, no '+', within Int64.
public enum RedisInteger {
    @inlinable
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let count = bytes.count
        if count == 0 || count > 20 { return nil }
        if count == 1, bytes[0] == UInt8(ascii: "0") { return 0 }
        var i = 0
        let negative = bytes[0] == UInt8(ascii: "-")
        if negative {
            i = 1
            if count == 1 { return nil }
        }
        // First digit must be 1-9.
        let first = bytes[i]
        guard first >= UInt8(ascii: "1"), first <= UInt8(ascii: "9") else { return nil }
        var value: UInt64 = UInt64(first - UInt8(ascii: "0"))
        i += 1
        while i < count {
            let c = bytes[i]
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(c - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            value = a
            i += 1
        }
        if negative {
            if value > UInt64(Int64.max) + 1 { return nil }
            return value == UInt64(Int64.max) + 1 ? Int.min : -Int(value)
        }
        if value > UInt64(Int64.max) { return nil }
        return Int(value)
    }

    @inlinable
    public static func parse<Bytes: Collection>(_ bytes: Bytes) -> Int? where Bytes.Element == UInt8 {
        Array(bytes).withUnsafeBytes { parse($0) }
    }
}
