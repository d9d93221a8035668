/// The key hash functions Dynomite offers, by their config names (`hash:`).
///
/// Each reproduces Dynomite's C code bit for bit, quirks included (signed `char` reads,
/// 32-bit truncations), so a Dynamis node places keys exactly where a Dynomite node would.
/// `murmur3` is absent on purpose: in Dynomite it is a stub that never computes a hash.
public enum HashFunction: String, CaseIterable, Sendable {
    case murmur
    case oneAtATime = "one_at_a_time"
    case md5
    case crc16
    case crc32
    case crc32a
    case fnv1_64
    case fnv1a_64
    case fnv1_32
    case fnv1a_32
    case hsieh
    case jenkins

    /// The 32-bit data token of `bytes`.
    @inlinable
    public func token(of bytes: UnsafeRawBufferPointer) -> UInt32 {
        switch self {
        case .murmur: return KeyHash.murmur(bytes)
        case .oneAtATime: return KeyHash.oneAtATime(bytes)
        case .md5: return KeyHash.md5Token(bytes)
        case .crc16: return KeyHash.crc16(bytes)
        case .crc32: return KeyHash.crc32Memcached(bytes)
        case .crc32a: return KeyHash.crc32(bytes)
        case .fnv1_64: return KeyHash.fnv1_64(bytes)
        case .fnv1a_64: return KeyHash.fnv1a_64(bytes)
        case .fnv1_32: return KeyHash.fnv1_32(bytes)
        case .fnv1a_32: return KeyHash.fnv1a_32(bytes)
        case .hsieh: return KeyHash.hsieh(bytes)
        case .jenkins: return KeyHash.jenkins(bytes)
        }
    }

    /// Convenience for tests and tools; the hot path uses the raw-buffer form.
    public func token<Bytes: Collection>(of bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        let array = Array(bytes)
        return array.withUnsafeBytes { token(of: $0) }
    }
}
