#if canImport(Glibc)
import Glibc
#endif

/// Sorted-set scores: parsing and printing as Redis 7.0 does, and the order-preserving byte
/// encoding of the score index.
enum Score {
    /// IEEE-754 bits, sign-flipped so that big-endian byte order is numeric order; -0.0 is
    /// stored as 0.0 (Redis treats them as equal).
    static func encode(_ score: Double, into out: inout [UInt8]) {
        let normalized = score == 0 ? 0.0 : score
        var bits = normalized.bitPattern
        bits = bits & (1 << 63) != 0 ? ~bits : bits | (1 << 63)
        KeyEncoding.appendBigEndian(bits, to: &out)
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, at offset: Int = 0) -> Double {
        var bits = KeyEncoding.readBigEndian(bytes, at: offset, as: UInt64.self)
        bits = bits & (1 << 63) != 0 ? bits & ~(1 << 63) : ~bits
        return Double(bitPattern: bits)
    }

    /// Redis's `getDoubleFromObject`: strtod over the whole string, no leading space, no NaN.
    static func parse(_ bytes: [UInt8], refuseOverflow: Bool = false) -> Double? {
        guard !bytes.isEmpty, bytes.count < 256, bytes[0] != 32, !(9...13).contains(bytes[0]) else { return nil }
        var buffer = bytes.map { CChar(bitPattern: $0) } + [0]
        return buffer.withUnsafeMutableBufferPointer { b -> Double? in
            var end: UnsafeMutablePointer<CChar>?
            errno = 0
            let value = strtod(b.baseAddress!, &end)
            guard let end, end - b.baseAddress! == bytes.count, !value.isNaN else { return nil }
            if errno == ERANGE && (value == 0 || (refuseOverflow && value.isInfinite)) { return nil }
            return value
        }
    }

    /// `getDoubleFromObject` exactly: `parse`, and an overflow (`1e400`) is refused too, where
    /// range bounds (`zslParseRange`) take it as infinity.
    static func parseStrict(_ bytes: [UInt8]) -> Double? { parse(bytes, refuseOverflow: true) }

    /// `%.17g`, or `inf` / `-inf`.
    static func text(_ score: Double) -> String {
        if score.isInfinite { return score > 0 ? "inf" : "-inf" }
        var buffer = [CChar](repeating: 0, count: 64)
        let length = withVaList([score]) { vsnprintf(&buffer, 64, "%.17g", $0) }
        return String(decoding: buffer[0..<Int(length)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A score bound of ZRANGEBYSCORE and friends: `1.5`, `(1.5`, `-inf`, `+inf`.
struct ScoreBound {
    let value: Double
    let exclusive: Bool

    init?(_ bytes: [UInt8]) {
        if bytes.first == UInt8(ascii: "(") {
            guard let v = Score.parse(Array(bytes.dropFirst())) else { return nil }
            (value, exclusive) = (v, true)
        } else {
            guard let v = Score.parse(bytes) else { return nil }
            (value, exclusive) = (v, false)
        }
    }

    func admitsAsMin(_ score: Double) -> Bool { exclusive ? score > value : score >= value }
    func admitsAsMax(_ score: Double) -> Bool { exclusive ? score < value : score <= value }
}

/// A lex bound of ZRANGEBYLEX and friends: `[a`, `(a`, `-`, `+`.
enum LexBound {
    case minusInfinity, plusInfinity
    case inclusive([UInt8]), exclusive([UInt8])

    init?(_ bytes: [UInt8]) {
        switch bytes.first {
        case UInt8(ascii: "-") where bytes.count == 1: self = .minusInfinity
        case UInt8(ascii: "+") where bytes.count == 1: self = .plusInfinity
        case UInt8(ascii: "["): self = .inclusive(Array(bytes.dropFirst()))
        case UInt8(ascii: "("): self = .exclusive(Array(bytes.dropFirst()))
        default: return nil
        }
    }

    func admitsAsMin(_ member: [UInt8]) -> Bool {
        switch self {
        case .minusInfinity: return true
        case .plusInfinity: return false
        case .inclusive(let v): return !member.lexicographicallyPrecedes(v)
        case .exclusive(let v): return v.lexicographicallyPrecedes(member)
        }
    }

    func admitsAsMax(_ member: [UInt8]) -> Bool {
        switch self {
        case .minusInfinity: return false
        case .plusInfinity: return true
        case .inclusive(let v): return !v.lexicographicallyPrecedes(member)
        case .exclusive(let v): return member.lexicographicallyPrecedes(v)
        }
    }
}
