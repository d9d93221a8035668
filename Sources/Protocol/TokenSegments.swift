/// Anti-entropy's fixed segments of the 32-bit token space (DESIGN.md §5c): the top 14 bits of
/// a token name its segment, 16,384 segments whatever the cluster's shape, so two nodes with
/// different token boundaries (racks of different sizes, a node joining) still compare the
/// same segments.
public enum TokenSegments {
    public static let bits = 14
    public static let count = 1 << bits
    static let shift = UInt32(32 - bits)

    /// The segment holding `token`.
    @inline(__always)
    public static func of(_ token: UInt32) -> Int { Int(token >> shift) }

    /// Every token of segment `segment`.
    public static func tokens(of segment: Int) -> ClosedRange<UInt32> {
        let first = UInt32(segment) << shift
        return first...(first | ((1 << shift) - 1))
    }

    /// Bits of a refined bucket: a differing segment is split into 2^(20 - 14) = 64 buckets of
    /// 4,096 tokens, so that with ~60 keys a segment (a million keys a node) a bucket holds
    /// about one and only the keys of differing buckets are listed.
    public static let refinedBits = 20

    /// The bucket of `bits` top bits holding `token`.
    @inline(__always)
    public static func bucket(of token: UInt32, bits: Int) -> Int { Int(token >> UInt32(32 - bits)) }

    /// Every token of bucket `bucket` at `bits` bits.
    public static func tokens(ofBucket bucket: Int, bits: Int) -> ClosedRange<UInt32> {
        let shift = UInt32(32 - bits)
        let first = UInt32(bucket) << shift
        return first...(first | UInt32((UInt64(1) << UInt64(shift)) - 1))
    }

    /// A 64-bit hash of `bytes` continuing from `state` (FNV-1a): stable across processes and
    /// builds, unlike Swift's seeded `Hasher`, because two nodes must agree on it.
    @inline(__always)
    public static func hash(_ bytes: UnsafeRawBufferPointer, _ state: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
        var h = state
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }

    /// MurmurHash3's 64-bit finaliser: spreads FNV's weak low bits before hashes are XORed.
    @inline(__always)
    public static func finish(_ value: UInt64) -> UInt64 {
        var h = value
        h ^= h >> 33
        h &*= 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h &*= 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }
}
