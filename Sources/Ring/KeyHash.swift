/// The hash algorithms behind `HashFunction`, over raw bytes.
public enum KeyHash {
    /// Reads a C `char` the way Dynomite's x86-64 build does: signed, then widened.
    @inlinable @inline(__always)
    static func signedChar(_ byte: UInt8) -> UInt32 {
        UInt32(bitPattern: Int32(Int8(bitPattern: byte)))
    }

    @inlinable @inline(__always)
    static func load32LE(_ p: UnsafeRawBufferPointer, _ i: Int) -> UInt32 {
        UInt32(p[i]) | UInt32(p[i + 1]) << 8 | UInt32(p[i + 2]) << 16 | UInt32(p[i + 3]) << 24
    }

    /// MurmurHash2, 32-bit, with Dynomite's seed: `0xdeadbeef * len`, then XORed with `len`.
    @inlinable
    public static func murmur(_ p: UnsafeRawBufferPointer) -> UInt32 {
        murmur2(p, seed: 0xdead_beef &* UInt32(truncatingIfNeeded: p.count))
    }

    /// Plain MurmurHash2 (32-bit) with an explicit seed.
    @inlinable
    public static func murmur2(_ p: UnsafeRawBufferPointer, seed: UInt32) -> UInt32 {
        let m: UInt32 = 0x5bd1_e995
        var length = p.count
        var h = seed ^ UInt32(truncatingIfNeeded: length)
        var i = 0
        while length >= 4 {
            var k = load32LE(p, i)
            k &*= m
            k ^= k >> 24
            k &*= m
            h &*= m
            h ^= k
            i += 4
            length -= 4
        }
        switch length {
        case 3:
            h ^= UInt32(p[i + 2]) << 16
            h ^= UInt32(p[i + 1]) << 8
            h ^= UInt32(p[i])
            h &*= m
        case 2:
            h ^= UInt32(p[i + 1]) << 8
            h ^= UInt32(p[i])
            h &*= m
        case 1:
            h ^= UInt32(p[i])
            h &*= m
        default:
            break
        }
        h ^= h >> 13
        h &*= m
        h ^= h >> 15
        return h
    }

    /// Bob Jenkins' one-at-a-time hash; Dynomite reads the key through a signed `char`.
    @inlinable
    public static func oneAtATime(_ p: UnsafeRawBufferPointer) -> UInt32 {
        var value: UInt32 = 0
        for byte in p {
            value &+= signedChar(byte)
            value &+= value << 10
            value ^= value >> 6
        }
        value &+= value << 3
        value ^= value >> 11
        value &+= value << 15
        return value
    }

    /// The first four bytes of the MD5 digest, little-endian (twemproxy's `hash_md5`).
    public static func md5Token(_ p: UnsafeRawBufferPointer) -> UInt32 {
        let d = MD5.digest(p)
        return UInt32(d[0]) | UInt32(d[1]) << 8 | UInt32(d[2]) << 16 | UInt32(d[3]) << 24
    }

    /// CRC-16/XMODEM as Dynomite computes it: the accumulator is a `uint32_t` that is never
    /// masked, so bits above 16 carry shifted history. The low 16 bits are the real CRC.
    @inlinable
    public static func crc16(_ p: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0
        for byte in p {
            let index = Int(((crc >> 8) ^ signedChar(byte)) & 0xff)
            crc = (crc << 8) ^ UInt32(CRCTables.crc16[index])
        }
        return crc
    }

    /// Standard CRC-32 (IEEE, as zlib): Dynomite's `crc32a`.
    @inlinable
    public static func crc32(_ p: UnsafeRawBufferPointer) -> UInt32 {
        ~crc32Raw(p)
    }

    /// libmemcached's CRC-32 variant: 15 bits of the CRC. Dynomite's `crc32`.
    @inlinable
    public static func crc32Memcached(_ p: UnsafeRawBufferPointer) -> UInt32 {
        ((~crc32Raw(p)) >> 16) & 0x7fff
    }

    @inlinable
    static func crc32Raw(_ p: UnsafeRawBufferPointer) -> UInt32 {
        var crc = UInt32.max
        for byte in p {
            crc = (crc >> 8) ^ CRCTables.crc32[Int((crc ^ UInt32(byte)) & 0xff)]
        }
        return crc
    }

    /// FNV-1 over 64 bits, truncated to the low 32.
    @inlinable
    public static func fnv1_64(_ p: UnsafeRawBufferPointer) -> UInt32 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in p {
            hash &*= 0x100_0000_01b3
            hash ^= UInt64(byte)
        }
        return UInt32(truncatingIfNeeded: hash)
    }

    /// Dynomite's "fnv1a_64": FNV-1a run in 32 bits with the 64-bit constants truncated
    /// (offset 0x84222325, prime 0x1b3). Not real FNV-1a 64, but what Dynomite places keys by.
    @inlinable
    public static func fnv1a_64(_ p: UnsafeRawBufferPointer) -> UInt32 {
        var hash: UInt32 = 0x8422_2325
        for byte in p {
            hash ^= UInt32(byte)
            hash &*= 0x1b3
        }
        return hash
    }

    @inlinable
    public static func fnv1_32(_ p: UnsafeRawBufferPointer) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in p {
            hash &*= 16_777_619
            hash ^= UInt32(byte)
        }
        return hash
    }

    @inlinable
    public static func fnv1a_32(_ p: UnsafeRawBufferPointer) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in p {
            hash ^= UInt32(byte)
            hash &*= 16_777_619
        }
        return hash
    }

    /// Paul Hsieh's SuperFastHash as Dynomite builds it on x86-64 (byte-wise 16-bit loads;
    /// the odd tail byte of a 3-byte remainder read through a signed `char`). Empty → 0.
    @inlinable
    public static func hsieh(_ p: UnsafeRawBufferPointer) -> UInt32 {
        if p.isEmpty { return 0 }
        @inline(__always) func get16(_ i: Int) -> UInt32 { UInt32(p[i + 1]) << 8 | UInt32(p[i]) }
        var hash: UInt32 = 0
        var i = 0
        for _ in 0..<(p.count >> 2) {
            hash &+= get16(i)
            let tmp = (get16(i + 2) << 11) ^ hash
            hash = (hash << 16) ^ tmp
            i += 4
            hash &+= hash >> 11
        }
        switch p.count & 3 {
        case 3:
            hash &+= get16(i)
            hash ^= hash << 16
            hash ^= signedChar(p[i + 2]) << 18
            hash &+= hash >> 11
        case 2:
            hash &+= get16(i)
            hash ^= hash << 11
            hash &+= hash >> 17
        case 1:
            hash &+= UInt32(p[i])
            hash ^= hash << 10
            hash &+= hash >> 1
        default:
            break
        }
        hash ^= hash << 3
        hash &+= hash >> 5
        hash ^= hash << 4
        hash &+= hash >> 17
        hash ^= hash << 25
        hash &+= hash >> 6
        return hash
    }

    /// Bob Jenkins' lookup3 `hashlittle` with Dynomite's initval 13.
    @inlinable
    public static func jenkins(_ p: UnsafeRawBufferPointer) -> UInt32 {
        lookup3(p, initval: 13)
    }

    /// lookup3 `hashlittle` (little-endian byte reads; same result as the aligned C paths).
    /// An empty key returns the initial state unmixed, as the C code does.
    @inlinable
    public static func lookup3(_ p: UnsafeRawBufferPointer, initval: UInt32) -> UInt32 {
        @inline(__always) func rot(_ x: UInt32, _ k: UInt32) -> UInt32 { (x << k) | (x >> (32 - k)) }
        var a = 0xdead_beef &+ UInt32(truncatingIfNeeded: p.count) &+ initval
        var b = a
        var c = a
        var length = p.count
        var i = 0
        while length > 12 {
            a &+= load32LE(p, i)
            b &+= load32LE(p, i + 4)
            c &+= load32LE(p, i + 8)
            a &-= c; a ^= rot(c, 4); c &+= b
            b &-= a; b ^= rot(a, 6); a &+= c
            c &-= b; c ^= rot(b, 8); b &+= a
            a &-= c; a ^= rot(c, 16); c &+= b
            b &-= a; b ^= rot(a, 19); a &+= c
            c &-= b; c ^= rot(b, 4); b &+= a
            length -= 12
            i += 12
        }
        if length == 0 { return c }
        // The tail is read as up to 12 zero-padded little-endian bytes.
        var tail = (UInt32(0), UInt32(0), UInt32(0))
        for j in 0..<length {
            let v = UInt32(p[i + j]) << (UInt32(j % 4) * 8)
            switch j / 4 {
            case 0: tail.0 |= v
            case 1: tail.1 |= v
            default: tail.2 |= v
            }
        }
        a &+= tail.0
        b &+= tail.1
        c &+= tail.2
        c ^= b; c &-= rot(b, 14)
        a ^= c; a &-= rot(c, 11)
        b ^= a; b &-= rot(a, 25)
        c ^= b; c &-= rot(b, 16)
        a ^= c; a &-= rot(c, 4)
        b ^= a; b &-= rot(a, 14)
        c ^= b; c &-= rot(b, 24)
        return c
    }
}
