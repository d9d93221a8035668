import Foundation
import NIOCore
import NIOEmbedded
import TestSupport
import Testing
@testable import Engines

/// The list store's typed API on a real RocksDB, without commands or replies.
@Suite(.timeLimit(.minutes(2)))
struct ListStoreTests {
    func buffer(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }
    func buffers(_ texts: [String]) -> ArraySlice<ByteBuffer> { ArraySlice(texts.map { ByteBuffer(string: $0) }) }
    func texts(_ values: [[UInt8]]?) -> [String]? { values?.map { String(decoding: $0, as: UTF8.self) } }

    func withStore(_ body: (ListStore, EngineHarness) throws -> Void) throws {
        try withSession { session, harness in try body(session.lists, harness) }
    }

    @Test func pushPopRangeAndIndex() throws {
        try withStore { lists, harness throws in
            let key = buffer("l")
            #expect(try lists.push(key, buffers(["x"]), left: true, onlyIfExists: true) == 0, "PUSHX creates nothing")
            #expect(try lists.push(key, buffers(["b", "a"]), left: true) == 2)
            #expect(try lists.push(key, buffers(["c", "d"]), left: false) == 4)
            #expect(texts(try lists.all(key)) == ["a", "b", "c", "d"])
            #expect(texts(try lists.range(key, start: 1, stop: -2)) == ["b", "c"])
            #expect(texts(try lists.range(key, start: 5, stop: 9)) == [])
            #expect(texts(try lists.element(key, at: -1).map { [$0] }) == ["d"])
            #expect(try lists.element(key, at: 4) == nil)
            #expect(texts(try lists.pop(key, count: 3, left: false)) == ["d", "c", "b"])
            #expect(try lists.length(key) == 1)
            #expect(texts(try lists.pop(key, count: 5, left: true)) == ["a"])
            #expect(try lists.pop(key, count: 1, left: true) == nil, "the list went with its last element")
            #expect(harness.run("EXISTS", "l") == ":0\r\n")
        }
    }

    @Test func setTrimRemoveAndInsert() throws {
        try withStore { lists, _ throws in
            let key = buffer("l")
            #expect(throws: StoreError.noSuchKey) { try lists.set(key, at: 0, to: buffer("v")) }
            try lists.push(key, buffers(["a", "x", "b", "x", "c", "x"]), left: false)
            #expect(throws: StoreError.outOfRange) { try lists.set(key, at: 6, to: buffer("v")) }
            try lists.set(key, at: -6, to: buffer("A"))
            #expect(try lists.remove(key, buffer("x"), count: -2) == 2, "from the tail")
            #expect(texts(try lists.all(key)) == ["A", "x", "b", "c"])
            #expect(try lists.insert(key, buffer("B"), pivot: buffer("b"), before: false) == 5)
            #expect(try lists.insert(key, buffer("?"), pivot: buffer("nope"), before: true) == -1)
            #expect(try lists.insert(buffer("missing"), buffer("?"), pivot: buffer("b"), before: true) == 0)
            try lists.trim(key, start: 1, stop: -2)
            #expect(texts(try lists.all(key)) == ["x", "b", "B"])
            try lists.trim(key, start: 5, stop: 10)
            #expect(try lists.length(key) == 0, "a trim that keeps nothing deletes the list")
        }
    }

    @Test func moveAndPopFirst() throws {
        try withStore { lists, harness throws in
            try lists.push(buffer("src"), buffers(["1", "2", "3"]), left: false)
            #expect(try lists.move(from: buffer("missing"), to: buffer("src"), fromLeft: true, toLeft: true) == nil)
            #expect(texts(try lists.move(from: buffer("src"), to: buffer("dst"), fromLeft: true, toLeft: false).map { [$0] }) == ["1"])
            #expect(texts(try lists.move(from: buffer("src"), to: buffer("src"), fromLeft: false, toLeft: true).map { [$0] }) == ["3"],
                    "a rotation of one list")
            #expect(texts(try lists.all(buffer("src"))) == ["3", "2"])
            harness.run("SET", "str", "v")
            #expect(throws: StoreError.wrongType) { try lists.move(from: buffer("src"), to: buffer("str"), fromLeft: true, toLeft: true) }
            #expect(texts(try lists.all(buffer("src"))) == ["3", "2"], "a refused move changes nothing")
            let popped = try #require(try lists.popFirst(buffers(["none", "dst", "src"]), count: 5, left: true))
            #expect(popped.key == buffer("dst") && texts(popped.values) == ["1"])
            #expect(throws: StoreError.wrongType) { try lists.popFirst(buffers(["none", "str", "src"]), count: 1, left: true) }
            #expect(try lists.popFirst(buffers(["none", "dst"]), count: 1, left: true) == nil)
        }
    }

    @Test func anotherTypeIsRefusedAndUntouched() throws {
        try withStore { lists, harness throws in
            harness.run("SET", "s", "value")
            let key = buffer("s")
            #expect(throws: StoreError.wrongType) { try lists.push(key, buffers(["a"]), left: true) }
            #expect(throws: StoreError.wrongType) { try lists.pop(key, count: 1, left: true) }
            #expect(throws: StoreError.wrongType) { try lists.length(key) }
            #expect(throws: StoreError.wrongType) { try lists.range(key, start: 0, stop: -1) }
            #expect(throws: StoreError.wrongType) { try lists.set(key, at: 0, to: buffer("v")) }
            #expect(throws: StoreError.wrongType) { try lists.trim(key, start: 0, stop: 0) }
            #expect(throws: StoreError.wrongType) { try lists.remove(key, buffer("v"), count: 0) }
            #expect(throws: StoreError.wrongType) { try lists.insert(key, buffer("v"), pivot: buffer("p"), before: true) }
            #expect(harness.run("GET", "s") == "$5\r\nvalue\r\n")
        }
    }
}
