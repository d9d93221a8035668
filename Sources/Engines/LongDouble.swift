#if canImport(Glibc)
import Glibc
#endif

/// Redis's long-double handling for INCRBYFLOAT: parsing with `strtold` under `string2ld`'s
/// rules, printing with `%.17Lf` trimmed ("human" form), so results match redis-server's digits.
enum LongDouble {
    static let maxChars = 5 * 1024

    static func parse(_ bytes: UnsafeRawBufferPointer) -> Float80? {
        if bytes.count == 0 || bytes.count >= maxChars { return nil }
        var buffer = [CChar](repeating: 0, count: bytes.count + 1)
        for i in 0..<bytes.count { buffer[i] = CChar(bitPattern: bytes[i]) }
        let first = bytes[0]
        if first == 32 || (first >= 9 && first <= 13) { return nil }
        return buffer.withUnsafeMutableBufferPointer { b -> Float80? in
            var end: UnsafeMutablePointer<CChar>?
            errno = 0
            let value = strtold(b.baseAddress!, &end)
            // The whole input must be consumed: an embedded NUL would otherwise end it early.
            guard let end, end.pointee == 0, end - b.baseAddress! == bytes.count else { return nil }
            if errno == ERANGE && (value.isInfinite || value == 0) { return nil }
            if value.isNaN { return nil }
            return value
        }
    }

    static func humanString(_ value: Float80) -> [UInt8] {
        if value.isInfinite { return Array((value > 0 ? "inf" : "-inf").utf8) }
        var buffer = [CChar](repeating: 0, count: maxChars)
        let length = withVaList([value]) { args in
            vsnprintf(&buffer, maxChars, "%.17Lf", args)
        }
        guard length > 0, Int(length) < maxChars else { return [] }
        var out = buffer[0..<Int(length)].map { UInt8(bitPattern: $0) }
        if out.contains(UInt8(ascii: ".")) {
            while out.last == UInt8(ascii: "0") { out.removeLast() }
            if out.last == UInt8(ascii: ".") { out.removeLast() }
        }
        if out == Array("-0".utf8) { out = [UInt8(ascii: "0")] }
        return out
    }
}
