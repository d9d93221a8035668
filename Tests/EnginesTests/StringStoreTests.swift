import Foundation
import NIOCore
import NIOEmbedded
import TestSupport
import Testing
@testable import Engines

/// The string store's typed API on a real RocksDB, without commands or replies.
@Suite(.timeLimit(.minutes(2)))
struct StringStoreTests {
    func buffer(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }
    func text(_ bytes: [UInt8]?) -> String? { bytes.map { String(decoding: $0, as: UTF8.self) } }
    func value(_ strings: StringStore, _ key: String) throws -> String? {
        try strings.withValue(buffer(key)) { $0.map { String(decoding: $0, as: UTF8.self) } }
    }

    func withStore(_ body: (StringStore, EngineHarness) throws -> Void) throws {
        try withSession { session, harness in try body(session.strings, harness) }
    }

    @Test func setsUnderConditionsAndReadsBack() throws {
        try withStore { strings, harness throws in
            let key = buffer("k")
            let missing = try strings.set(key, buffer("v1"), expireAt: nil, .init(xx: true))
            #expect(!missing.written && missing.old == nil)
            #expect(try value(strings, "k") == nil, "XX writes nothing to a missing key")
            #expect(try strings.set(key, buffer("v1"), expireAt: nil, .init(nx: true)).written)
            let second = try strings.set(key, buffer("v2"), expireAt: nil, .init(get: true))
            #expect(second.written && text(second.old) == "v1")
            #expect(!(try strings.setIfAbsent(key, buffer("v3"))))
            #expect(try strings.length(key) == 2)
            #expect(try strings.setAllIfAbsent(ArraySlice(["a", "1", "k", "2"].map(buffer))) == false, "k exists: nothing is set")
            #expect(try value(strings, "a") == nil)
            #expect(try strings.setAllIfAbsent(ArraySlice(["a", "1", "b", "2"].map(buffer))))
            var read: [String?] = []
            try strings.withValues(ArraySlice(["a", "none", "b", "k"].map(buffer))) { read.append($0.map { String(decoding: $0, as: UTF8.self) }) }
            #expect(read == ["1", nil, "2", "v2"])
            #expect(text(try strings.getAndSet(key, buffer("v4"))) == "v2")
            #expect(text(try strings.getAndDelete(key)) == "v4")
            #expect(harness.run("EXISTS", "k") == ":0\r\n")
        }
    }

    @Test func expiryChangesOfGetex() throws {
        try withStore { strings, harness throws in
            let key = buffer("k")
            strings.setBlind(key, buffer("v"), expireAt: 0)
            #expect(text(try strings.getAndExpire(key) { _ throws(StoreError) in .at(WallClock.nowMillis() + 100_000) }) == "v")
            let ttl = harness.run("TTL", "k")
            #expect(Int(ttl.dropFirst().dropLast(2)).map { (1...100).contains($0) } == true, "an expiry of 100 s was set: \(ttl)")
            #expect(text(try strings.getAndExpire(key) { _ throws(StoreError) in .persist }) == "v")
            #expect(harness.run("TTL", "k") == ":-1\r\n")
            #expect(throws: StoreError.invalid("bad")) { try strings.getAndExpire(key) { _ throws(StoreError) in throw .invalid("bad") } }
            #expect(try strings.getAndExpire(buffer("none")) { _ throws(StoreError) in throw .invalid("never asked") } == nil,
                    "a missing key answers before its options are checked")
            #expect(text(try strings.getAndExpire(key) { now throws(StoreError) in .at(now) }) == "v")
            #expect(harness.run("EXISTS", "k") == ":0\r\n", "an expiry in the past deletes the key")
        }
    }

    @Test func editsAndIncrements() throws {
        try withStore { strings, _ throws in
            let key = buffer("k")
            #expect(try strings.append(key, buffer("ab")) == 2)
            #expect(try strings.overwrite(key, at: 4, with: buffer("cd")) == 6)
            #expect(try value(strings, "k") == "ab\0\0cd")
            #expect(try strings.overwrite(key, at: 100, with: buffer("")) == 6, "an empty patch changes nothing")
            #expect(throws: StoreError.tooLong) { try strings.overwrite(key, at: maxStringLength, with: buffer("x")) }
            #expect(throws: StoreError.notInteger) { try strings.increment(key, by: 1) }
            #expect(try strings.increment(buffer("n"), by: 41) == 41)
            #expect(try strings.increment(buffer("n"), by: 1) == 42)
            strings.setBlind(buffer("max"), buffer("\(Int.max)"), expireAt: 0)
            #expect(throws: StoreError.overflow) { try strings.increment(buffer("max"), by: 1) }
            #expect(try value(strings, "max") == "\(Int.max)", "a refused increment writes nothing")
            #expect(text(try strings.increment(buffer("f"), byFloat: 1.5)) == "1.5")
            #expect(throws: StoreError.notFloat) { try strings.increment(buffer("f"), byFloat: nil) }
            #expect(throws: StoreError.notFloat) { try strings.increment(key, byFloat: 1) }
        }
    }

    @Test func anotherTypeIsRefusedAndUntouched() throws {
        try withStore { strings, harness throws in
            harness.run("RPUSH", "l", "x")
            let key = buffer("l")
            #expect(throws: StoreError.wrongType) { try strings.withValue(key) { _ in } }
            #expect(throws: StoreError.wrongType) { try strings.length(key) }
            #expect(throws: StoreError.wrongType) { try strings.set(key, buffer("v"), expireAt: nil, .init(get: true)) }
            #expect(throws: StoreError.wrongType) { try strings.getAndSet(key, buffer("v")) }
            #expect(throws: StoreError.wrongType) { try strings.getAndDelete(key) }
            #expect(throws: StoreError.wrongType) { try strings.append(key, buffer("v")) }
            #expect(throws: StoreError.wrongType) { try strings.increment(key, by: 1) }
            #expect(throws: StoreError.wrongType) { try strings.increment(key, byFloat: nil) }
            #expect(throws: StoreError.wrongType) { try strings.bytes(key) }
            #expect(throws: StoreError.wrongType) { try strings.setBit(key, at: 3, to: true) }
            #expect(throws: StoreError.wrongType) { try strings.bit(key, at: 3) }
            #expect(throws: StoreError.wrongType) { try strings.store(buffer("dest"), from: [key]) { _ in [1] } }
            #expect(harness.run("EXISTS", "dest") == ":0\r\n", "a refused store writes nothing")
            var read: [Bool] = []
            try strings.withValues([key, key]) { read.append($0 == nil) }
            #expect(read == [true, true], "MGET answers nil for another type")
            #expect(harness.run("LRANGE", "l", "0", "-1") == "*1\r\n$1\r\nx\r\n")
        }
    }

    @Test func bitsOfPlainAndFragmentedStrings() throws {
        try withStore { strings, harness throws in
            let key = buffer("b")
            #expect(try strings.bit(key, at: 7) == false, "a missing key reads as zeros")
            #expect(try strings.setBit(key, at: 7, to: true) == false)
            #expect(try strings.bytes(key) == [0x01])
            #expect(try strings.setBit(key, at: 7, to: true) == true)
            #expect(try strings.setBit(key, at: 0, to: true) == false)
            #expect(try strings.bytes(key) == [0x81])
            #expect(try strings.setBit(key, at: 7, to: false) == true)
            #expect(try strings.bytes(key) == [0x80])
            #expect(try strings.bit(key, at: 0) && !(try strings.bit(key, at: 1)) && !(try strings.bit(key, at: 1_000)))
            // Past one fragment the string is kept in fragments and still reads whole.
            harness.run("EXPIRE", "b", "1000")
            let far = RocksDBStorage.fragmentSize * 8 * 3 + 5
            #expect(try strings.setBit(key, at: far, to: true) == false)
            #expect(try strings.bit(key, at: far) && (try strings.bit(key, at: 0)))
            let whole = try #require(try strings.bytes(key))
            #expect(whole.count == far / 8 + 1 && whole.first == 0x80 && whole.last == 0x04)
            #expect(try strings.setBit(key, at: far, to: false) == true)
            #expect(try strings.setBit(key, at: 0, to: false) == true)
            #expect(try strings.bytes(key)?.allSatisfy { $0 == 0 } == true)
            let ttl = Int(harness.run("TTL", "b").dropFirst().dropLast(2)) ?? -1
            #expect(ttl > 0 && ttl <= 1000, "SETBIT keeps the expiry: TTL \(ttl)")
        }
    }

    @Test func storeCombinesSourcesIntoADestinationWithoutExpiry() throws {
        try withStore { strings, harness throws in
            strings.setBlind(buffer("x"), buffer("ab"), expireAt: 0)
            strings.setBlind(buffer("d"), buffer("old"), expireAt: WallClock.nowMillis() + 100_000)
            var seen: [[UInt8]] = []
            let length = try strings.store(buffer("d"), from: [buffer("x"), buffer("missing")]) { sources in
                seen = sources.map(Array.init)
                return [9, 9, 9]
            }
            #expect(length == 3 && seen == [Array("ab".utf8), []], "a missing source reads as an empty string")
            #expect(try strings.bytes(buffer("d")) == [9, 9, 9])
            #expect(harness.run("TTL", "d") == ":-1\r\n", "the destination is stored without an expiry")
            #expect(try strings.store(buffer("d"), from: [buffer("missing")]) { _ in [] } == 0)
            #expect(harness.run("EXISTS", "d") == ":0\r\n", "an empty result deletes the destination")
        }
    }
}
