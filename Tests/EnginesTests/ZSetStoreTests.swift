import Foundation
import NIOCore
import NIOEmbedded
import TestSupport
import Testing
@testable import Engines

/// The sorted-set store's typed API on a real RocksDB, without commands or replies.
@Suite(.timeLimit(.minutes(2)))
struct ZSetStoreTests {
    func buffer(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }
    func buffers(_ texts: [String]) -> ArraySlice<ByteBuffer> { ArraySlice(texts.map { ByteBuffer(string: $0) }) }
    func pairs(_ items: [(Double, String)]) -> [(score: Double, member: [UInt8])] { items.map { ($0.0, Array($0.1.utf8)) } }
    func names(_ entries: [ZSetStore.ZEntry]?) -> [String]? { entries?.map { String(decoding: $0.member, as: UTF8.self) } }
    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    func withStore(_ body: (ZSetStore, EngineHarness) throws -> Void) throws {
        try withSession { session, harness in try body(session.zsets, harness) }
    }

    @Test func addUnderEveryCondition() throws {
        try withStore { zsets, _ throws in
            let key = buffer("z")
            #expect(try zsets.add(key, pairs([(1, "a")]), .init(xx: true)) == .init(), "XX creates nothing")
            #expect(try zsets.add(key, pairs([(1, "a"), (2, "b"), (3, "a")]), .init()) == .init(added: 2, changed: 1, score: 3),
                    "a repeated member is added once, then changed to its last score")
            #expect(try zsets.scores(key, members: buffers(["a", "b", "x"])) == [3, 2, nil])
            #expect(try zsets.add(key, pairs([(9, "a"), (1, "c")]), .init(nx: true)) == .init(added: 1, changed: 0, score: 1))
            #expect(try zsets.add(key, pairs([(1, "a"), (5, "b")]), .init(gt: true)) == .init(added: 0, changed: 1, score: 5))
            #expect(try zsets.add(key, pairs([(4, "b")]), .init(lt: true, incr: false)).changed == 1)
            #expect(try zsets.add(key, pairs([(0.5, "b")]), .init(incr: true)).score == 4.5)
            #expect(try zsets.add(key, pairs([(.infinity, "inf")]), .init()).added == 1)
            #expect(throws: StoreError.scoreNaN) { try zsets.add(key, pairs([(-.infinity, "inf")]), .init(incr: true)) }
            #expect(try zsets.scores(key, members: buffers(["inf"])) == [.infinity], "a refused increment writes nothing")
            #expect(try zsets.count(key) == 4)
        }
    }

    @Test func rangesRanksAndRemovals() throws {
        try withStore { zsets, harness throws in
            let key = buffer("z")
            try zsets.add(key, pairs([(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e")]), .init())
            #expect(names(try zsets.range(key, .rank, reverse: false, start: bytes("1"), stop: bytes("-2"))) == ["b", "c", "d"])
            #expect(names(try zsets.range(key, .rank, reverse: true, start: bytes("0"), stop: bytes("1"))) == ["e", "d"])
            #expect(names(try zsets.range(key, .score, reverse: false, start: bytes("(1"), stop: bytes("4"), limit: (1, 2))) == ["c", "d"])
            #expect(names(try zsets.range(key, .lex, reverse: false, start: bytes("[b"), stop: bytes("(d"))) == ["b", "c"])
            #expect(try zsets.rank(key, member: buffer("d"), reverse: false) == 3)
            #expect(try zsets.rank(key, member: buffer("d"), reverse: true) == 1)
            #expect(try zsets.rank(key, member: buffer("x"), reverse: false) == nil)
            #expect(try zsets.removeRange(key, .score, start: bytes("-inf"), stop: bytes("2")) == 2)
            #expect(try zsets.remove(key, members: buffers(["c", "c", "x"])) == 1)
            #expect(names(try zsets.entries(key)) == ["d", "e"])
            #expect(try zsets.replace(buffer("dst"), readingAlso: [key]) { () throws(StoreError) in try zsets.entries(key).reversed() } == 2)
            #expect(try zsets.replace(buffer("dst"), readingAlso: [key]) { () throws(StoreError) in nil } == nil)
            #expect(harness.run("ZCARD", "dst") == ":2\r\n")
        }
    }

    @Test func popsFromEitherEnd() throws {
        try withStore { zsets, harness throws in
            let key = buffer("z")
            try zsets.add(key, pairs((1...6).map { (Double($0), "m\($0)") }), .init())
            #expect(names(try zsets.pop(key, count: 2, max: false)) == ["m1", "m2"])
            #expect(names(try zsets.pop(key, count: 1, max: true)) == ["m6"])
            #expect(names(try zsets.pop(key, count: 0, max: true)) == [])
            let first = try #require(try zsets.popFirst(buffers(["none", "z"]), count: 10, max: false))
            #expect(first.key == key && names(first.entries) == ["m3", "m4", "m5"])
            #expect(try zsets.pop(key, count: 1, max: false) == nil, "the set went with its last member")
            #expect(harness.run("EXISTS", "z") == ":0\r\n")
        }
    }

    @Test func anotherTypeIsRefusedAndUntouched() throws {
        try withStore { zsets, harness throws in
            harness.run("SET", "s", "value")
            let key = buffer("s")
            #expect(throws: StoreError.wrongType) { try zsets.add(key, pairs([(1, "a")]), .init()) }
            #expect(throws: StoreError.wrongType) { try zsets.remove(key, members: buffers(["a"])) }
            #expect(throws: StoreError.wrongType) { try zsets.scores(key, members: buffers(["a"])) }
            #expect(throws: StoreError.wrongType) { try zsets.rank(key, member: buffer("a"), reverse: false) }
            #expect(throws: StoreError.wrongType) { try zsets.range(key, .rank, reverse: false, start: bytes("0"), stop: bytes("-1")) }
            #expect(throws: StoreError.wrongType) { try zsets.removeRange(key, .rank, start: bytes("0"), stop: bytes("-1")) }
            #expect(throws: StoreError.wrongType) { try zsets.pop(key, count: 1, max: false) }
            #expect(throws: StoreError.wrongType) { try zsets.popFirst(buffers(["s"]), count: 1, max: false) }
            #expect(throws: StoreError.wrongType) { try zsets.replace(buffer("d"), readingAlso: [key]) { () throws(StoreError) in try zsets.entries(key) } }
            #expect(harness.run("GET", "s") == "$5\r\nvalue\r\n")
            #expect(harness.run("EXISTS", "d") == ":0\r\n", "a refused store creates nothing")
        }
    }
}
