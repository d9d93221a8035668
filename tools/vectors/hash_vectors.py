#!/usr/bin/env python3
"""Independent reference for Dynomite's key hashes (RingTests' vectors come from here).

Standard algorithms use Python's own zlib/hashlib; the others are written from the algorithm
descriptions, with C's signed-char and 32-bit wrap-around modelled explicitly.
"""
import hashlib, zlib, struct, sys

M = 0xffffffff

def schar(b):  # C `char` on x86-64 is signed; widening to uint32 sign-extends
    return (b - 256) & M if b >= 128 else b

def murmur2(data, seed):
    m = 0x5bd1e995
    h = (seed ^ len(data)) & M
    n = len(data) // 4
    for i in range(n):
        k = struct.unpack_from("<I", data, 4 * i)[0]
        k = (k * m) & M; k ^= k >> 24; k = (k * m) & M
        h = (h * m) & M; h ^= k
    tail = data[4 * n:]
    if len(tail) == 3: h ^= tail[2] << 16
    if len(tail) >= 2: h ^= tail[1] << 8
    if len(tail) >= 1: h ^= tail[0]; h = (h * m) & M
    h ^= h >> 13; h = (h * m) & M; h ^= h >> 15
    return h

def murmur(data): return murmur2(data, (0xdeadbeef * len(data)) & M)

def one_at_a_time(data):
    v = 0
    for b in data:
        v = (v + schar(b)) & M; v = (v + (v << 10)) & M; v ^= v >> 6
    v = (v + (v << 3)) & M; v ^= v >> 11; v = (v + (v << 15)) & M
    return v

def md5(data): return struct.unpack("<I", hashlib.md5(data).digest()[:4])[0]

def crc16(data):
    crc = 0
    for b in data:
        c = crc
        for _ in range(8):  # bitwise CRC-16/XMODEM step for the table entry
            pass
        idx = ((crc >> 8) ^ schar(b)) & 0xff
        t = idx << 8
        for _ in range(8):
            t = ((t << 1) ^ 0x1021) & 0xffff if t & 0x8000 else (t << 1) & 0xffff
        crc = ((crc << 8) ^ t) & M
    return crc

def crc32a(data): return zlib.crc32(data) & M
def crc32(data): return (zlib.crc32(data) >> 16) & 0x7fff

def fnv1_64(data):
    h = 0xcbf29ce484222325
    for b in data: h = (h * 0x100000001b3) & 0xffffffffffffffff; h ^= b
    return h & M

def fnv1a_64(data):
    h = 0x84222325
    for b in data: h ^= b; h = (h * 0x1b3) & M
    return h

def fnv1_32(data):
    h = 2166136261
    for b in data: h = (h * 16777619) & M; h ^= b
    return h

def fnv1a_32(data):
    h = 2166136261
    for b in data: h ^= b; h = (h * 16777619) & M
    return h

def hsieh(data):
    if not data: return 0
    g16 = lambda i: data[i] | (data[i + 1] << 8)
    h = 0; i = 0
    for _ in range(len(data) >> 2):
        h = (h + g16(i)) & M
        tmp = ((g16(i + 2) << 11) ^ h) & M
        h = ((h << 16) ^ tmp) & M
        i += 4
        h = (h + (h >> 11)) & M
    r = len(data) & 3
    if r == 3:
        h = (h + g16(i)) & M; h ^= (h << 16) & M; h ^= (schar(data[i + 2]) << 18) & M; h = (h + (h >> 11)) & M
    elif r == 2:
        h = (h + g16(i)) & M; h ^= (h << 11) & M; h = (h + (h >> 17)) & M
    elif r == 1:
        h = (h + data[i]) & M; h ^= (h << 10) & M; h = (h + (h >> 1)) & M
    h ^= (h << 3) & M; h = (h + (h >> 5)) & M; h ^= (h << 4) & M
    h = (h + (h >> 17)) & M; h ^= (h << 25) & M; h = (h + (h >> 6)) & M
    return h

def rot(x, k): return ((x << k) | (x >> (32 - k))) & M

def lookup3(data, initval):
    a = b = c = (0xdeadbeef + len(data) + initval) & M
    if not data: return c
    n = len(data); i = 0
    while n > 12:
        a = (a + struct.unpack_from("<I", data, i)[0]) & M
        b = (b + struct.unpack_from("<I", data, i + 4)[0]) & M
        c = (c + struct.unpack_from("<I", data, i + 8)[0]) & M
        a = (a - c) & M; a ^= rot(c, 4);  c = (c + b) & M
        b = (b - a) & M; b ^= rot(a, 6);  a = (a + c) & M
        c = (c - b) & M; c ^= rot(b, 8);  b = (b + a) & M
        a = (a - c) & M; a ^= rot(c, 16); c = (c + b) & M
        b = (b - a) & M; b ^= rot(a, 19); a = (a + c) & M
        c = (c - b) & M; c ^= rot(b, 4);  b = (b + a) & M
        n -= 12; i += 12
    tail = data[i:] + b"\0" * 12
    a = (a + struct.unpack_from("<I", tail, 0)[0]) & M
    b = (b + struct.unpack_from("<I", tail, 4)[0]) & M
    c = (c + struct.unpack_from("<I", tail, 8)[0]) & M
    c ^= b; c = (c - rot(b, 14)) & M
    a ^= c; a = (a - rot(c, 11)) & M
    b ^= a; b = (b - rot(a, 25)) & M
    c ^= b; c = (c - rot(b, 16)) & M
    a ^= c; a = (a - rot(c, 4)) & M
    b ^= a; b = (b - rot(a, 14)) & M
    c ^= b; c = (c - rot(b, 24)) & M
    return c

def jenkins(data): return lookup3(data, 13)

FUNCS = [("murmur", murmur), ("one_at_a_time", one_at_a_time), ("md5", md5), ("crc16", crc16),
         ("crc32", crc32), ("crc32a", crc32a), ("fnv1_64", fnv1_64), ("fnv1a_64", fnv1a_64),
         ("fnv1_32", fnv1_32), ("fnv1a_32", fnv1a_32), ("hsieh", hsieh), ("jenkins", jenkins)]
KEYS = [b"", b"a", b"foo", b"hello", b"123456789", b"Four score and seven years ago",
        b"\xff\x80abc", b"user:1000:profile", b"\xfe\xff\x00\x01\x90xyz"]

if __name__ == "__main__":
    # Self-checks against published values before printing anything.
    assert lookup3(b"", 0) == 0xdeadbeef
    assert lookup3(b"Four score and seven years ago", 0) == 0x17770551
    assert lookup3(b"Four score and seven years ago", 1) == 0xcd628161
    assert crc32a(b"123456789") == 0xcbf43926
    assert crc16(b"123456789") & 0xffff == 0x31c3
    assert fnv1_32(b"a") == 0x050c5d7e and fnv1a_32(b"a") == 0xe40c292c
    assert fnv1_64(b"a") == 0xaf63bd4c8601b7be & M
    for name, f in FUNCS:
        print(name, " ".join("%s=%d" % (k.hex() or "-", f(k)) for k in KEYS))
