import Testing
@testable import Ring

/// Vectors for every hash function. They come from `tools/vectors/hash_vectors.py`, an
/// independent Python model of Dynomite's C code (standard algorithms through Python's zlib and
/// hashlib; the rest written from the algorithm descriptions, with C's signed `char` reads
/// modelled). That script first checks itself against published values, which are also
/// asserted directly below.
@Suite struct HashFunctionTests {
    static let vectors: [(String, String, UInt32)] = [
        ("murmur", "", 0),
        ("murmur", "61", 1262581116),
        ("murmur", "666f6f", 3303027599),
        ("murmur", "68656c6c6f", 1377504255),
        ("murmur", "313233343536373839", 3077965456),
        ("murmur", "466f75722073636f726520616e6420736576656e2079656172732061676f", 1718398639),
        ("murmur", "ff80616263", 4153569428),
        ("murmur", "757365723a313030303a70726f66696c65", 78543240),
        ("murmur", "feff00019078797a", 1630226739),
        ("one_at_a_time", "", 0),
        ("one_at_a_time", "61", 3392050242),
        ("one_at_a_time", "666f6f", 596015325),
        ("one_at_a_time", "68656c6c6f", 3372029979),
        ("one_at_a_time", "313233343536373839", 3328923845),
        ("one_at_a_time", "466f75722073636f726520616e6420736576656e2079656172732061676f", 1431610783),
        ("one_at_a_time", "ff80616263", 3926978745),
        ("one_at_a_time", "757365723a313030303a70726f66696c65", 522545543),
        ("one_at_a_time", "feff00019078797a", 1430127611),
        ("md5", "", 3649838548),
        ("md5", "61", 3111502092),
        ("md5", "666f6f", 3675831724),
        ("md5", "68656c6c6f", 708854109),
        ("md5", "313233343536373839", 2498230565),
        ("md5", "466f75722073636f726520616e6420736576656e2079656172732061676f", 2223163531),
        ("md5", "ff80616263", 2817180164),
        ("md5", "757365723a313030303a70726f66696c65", 2585628903),
        ("md5", "feff00019078797a", 1249041443),
        ("crc16", "", 0),
        ("crc16", "61", 31879),
        ("crc16", "666f6f", 205303702),
        ("crc16", "68656c6c6f", 1800389474),
        ("crc16", "313233343536373839", 2257596867),
        ("crc16", "466f75722073636f726520616e6420736576656e2079656172732061676f", 3194004975),
        ("crc16", "ff80616263", 2818841153),
        ("crc16", "757365723a313030303a70726f66696c65", 2691867350),
        ("crc16", "feff00019078797a", 2603157142),
        ("crc32", "", 0),
        ("crc32", "61", 26807),
        ("crc32", "666f6f", 3187),
        ("crc32", "68656c6c6f", 13840),
        ("crc32", "313233343536373839", 19444),
        ("crc32", "466f75722073636f726520616e6420736576656e2079656172732061676f", 15614),
        ("crc32", "ff80616263", 11130),
        ("crc32", "757365723a313030303a70726f66696c65", 471),
        ("crc32", "feff00019078797a", 2330),
        ("crc32a", "", 0),
        ("crc32a", "61", 3904355907),
        ("crc32a", "666f6f", 2356372769),
        ("crc32a", "68656c6c6f", 907060870),
        ("crc32a", "313233343536373839", 3421780262),
        ("crc32a", "466f75722073636f726520616e6420736576656e2079656172732061676f", 1023316920),
        ("crc32a", "ff80616263", 729423482),
        ("crc32a", "757365723a313030303a70726f66696c65", 30907001),
        ("crc32a", "feff00019078797a", 2300196928),
        ("fnv1_64", "", 2216829733),
        ("fnv1_64", "61", 2248259518),
        ("fnv1_64", "666f6f", 1805727027),
        ("fnv1_64", "68656c6c6f", 3183334599),
        ("fnv1_64", "313233343536373839", 737744598),
        ("fnv1_64", "466f75722073636f726520616e6420736576656e2079656172732061676f", 3458729158),
        ("fnv1_64", "ff80616263", 1198665728),
        ("fnv1_64", "757365723a313030303a70726f66696c65", 1037178972),
        ("fnv1_64", "feff00019078797a", 2603377760),
        ("fnv1a_64", "", 2216829733),
        ("fnv1a_64", "61", 2248273036),
        ("fnv1a_64", "666f6f", 4275688823),
        ("fnv1a_64", "68656c6c6f", 2158673163),
        ("fnv1a_64", "313233343536373839", 600231420),
        ("fnv1a_64", "466f75722073636f726520616e6420736576656e2079656172732061676f", 428316748),
        ("fnv1a_64", "ff80616263", 125548702),
        ("fnv1a_64", "757365723a313030303a70726f66696c65", 1426878874),
        ("fnv1a_64", "feff00019078797a", 3431316482),
        ("fnv1_32", "", 2166136261),
        ("fnv1_32", "61", 84696446),
        ("fnv1_32", "666f6f", 1083137555),
        ("fnv1_32", "68656c6c6f", 3069866343),
        ("fnv1_32", "313233343536373839", 605325334),
        ("fnv1_32", "466f75722073636f726520616e6420736576656e2079656172732061676f", 2915549798),
        ("fnv1_32", "ff80616263", 1395121408),
        ("fnv1_32", "757365723a313030303a70726f66696c65", 2253373212),
        ("fnv1_32", "feff00019078797a", 804959008),
        ("fnv1a_32", "", 2166136261),
        ("fnv1a_32", "61", 3826002220),
        ("fnv1a_32", "666f6f", 2851307223),
        ("fnv1a_32", "68656c6c6f", 1335831723),
        ("fnv1a_32", "313233343536373839", 3146166556),
        ("fnv1a_32", "466f75722073636f726520616e6420736576656e2079656172732061676f", 3691133324),
        ("fnv1a_32", "ff80616263", 1522606462),
        ("fnv1a_32", "757365723a313030303a70726f66696c65", 66513402),
        ("fnv1a_32", "feff00019078797a", 1534395746),
        ("hsieh", "", 0),
        ("hsieh", "61", 2472816263),
        ("hsieh", "666f6f", 1993659431),
        ("hsieh", "68656c6c6f", 327428805),
        ("hsieh", "313233343536373839", 3841726064),
        ("hsieh", "466f75722073636f726520616e6420736576656e2079656172732061676f", 207602056),
        ("hsieh", "ff80616263", 906646907),
        ("hsieh", "757365723a313030303a70726f66696c65", 1203955876),
        ("hsieh", "feff00019078797a", 3585355350),
        ("jenkins", "", 3735928572),
        ("jenkins", "61", 3768813200),
        ("jenkins", "666f6f", 2583187353),
        ("jenkins", "68656c6c6f", 772589811),
        ("jenkins", "313233343536373839", 427260662),
        ("jenkins", "466f75722073636f726520616e6420736576656e2079656172732061676f", 448292786),
        ("jenkins", "ff80616263", 3871644480),
        ("jenkins", "757365723a313030303a70726f66696c65", 886310305),
        ("jenkins", "feff00019078797a", 1635056356),
    ]

    static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var it = hex.makeIterator()
        while let hi = it.next(), let lo = it.next() {
            out.append(UInt8(String([hi, lo]), radix: 16)!)
        }
        return out
    }

    @Test(arguments: HashFunction.allCases)
    func matchesIndependentVectors(function: HashFunction) {
        let rows = Self.vectors.filter { $0.0 == function.rawValue }
        #expect(rows.count == 9)
        for (_, hex, expected) in rows {
            #expect(function.token(of: Self.bytes(hex: hex)) == expected, "\(function.rawValue)(\(hex))")
        }
    }

    @Test func publishedCheckValues() {
        let check = Array("123456789".utf8)
        #expect(HashFunction.crc32a.token(of: check) == 0xCBF4_3926)  // CRC-32 check value
        #expect(HashFunction.crc16.token(of: check) & 0xFFFF == 0x31C3)  // CRC-16/XMODEM check value
        #expect(HashFunction.fnv1_32.token(of: Array("a".utf8)) == 0x050C_5D7E)  // FNV reference
        #expect(HashFunction.fnv1a_32.token(of: Array("a".utf8)) == 0xE40C_292C)
        #expect(HashFunction.fnv1_64.token(of: Array("a".utf8)) == 0x8601_B7BE)  // low half of 0xaf63bd4c8601b7be
        // lookup3 reference values from Bob Jenkins' lookup3.c driver.
        let score = Array("Four score and seven years ago".utf8)
        #expect(score.withUnsafeBytes { KeyHash.lookup3($0, initval: 0) } == 0x1777_0551)
        #expect(score.withUnsafeBytes { KeyHash.lookup3($0, initval: 1) } == 0xCD62_8161)
        #expect([UInt8]().withUnsafeBytes { KeyHash.lookup3($0, initval: 0) } == 0xDEAD_BEEF)
        // MD5 of the empty string is d41d8cd98f00b204e9800998ecf8427e (RFC 1321 test suite).
        #expect([UInt8]().withUnsafeBytes { MD5.digest($0) }
            == Self.bytes(hex: "d41d8cd98f00b204e9800998ecf8427e"))
        #expect(Array("abc".utf8).withUnsafeBytes { MD5.digest($0) }
            == Self.bytes(hex: "900150983cd24fb0d6963f7d28e17f72"))
        let long = Array(String(repeating: "1234567890", count: 8).utf8)
        #expect(long.withUnsafeBytes { MD5.digest($0) } == Self.bytes(hex: "57edf4a22be3c955ac49da2e2107b67a"))
    }

    @Test func configNamesAreDynomites() {
        #expect(HashFunction(rawValue: "murmur") == .murmur)
        #expect(HashFunction(rawValue: "one_at_a_time") == .oneAtATime)
        #expect(HashFunction(rawValue: "murmur3") == nil)
        #expect(HashFunction.allCases.count == 12)
    }
}
