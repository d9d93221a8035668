import Foundation
import NIOCore
import NIOEmbedded
import TestSupport
import Testing
@testable import Engines

/// The set store's typed API on a real RocksDB, without commands or replies.
@Suite(.timeLimit(.minutes(2)))
struct SetStoreTests {
    func buffer(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }
    func buffers(_ texts: [String]) -> ArraySlice<ByteBuffer> { ArraySlice(texts.map { ByteBuffer(string: $0) }) }
    func texts(_ members: [[UInt8]]?) -> [String]? { members?.map { String(decoding: $0, as: UTF8.self) } }

    func withStore(_ body: (SetStore, EngineHarness) throws -> Void) throws {
        try withSession { session, harness in try body(session.sets, harness) }
    }

    @Test func addRemoveContainsAndCount() throws {
        try withStore { sets, harness throws in
            let key = buffer("s")
            #expect(try sets.add(key, members: buffers(["b", "a", "b", "c"])) == 3, "a repeated member is added once")
            #expect(try sets.add(key, members: buffers(["c", "d"])) == 1)
            #expect(texts(try sets.members(key)) == ["a", "b", "c", "d"])
            #expect(try sets.contains(key, members: buffers(["a", "x", "d"])) == [true, false, true])
            #expect(try sets.contains(buffer("none"), members: buffers(["a"])) == [false])
            #expect(try sets.remove(key, members: buffers(["a", "a", "x"])) == 1)
            #expect(try sets.count(key) == 3)
            #expect(try sets.remove(key, members: buffers(["b", "c", "d"])) == 3)
            #expect(harness.run("EXISTS", "s") == ":0\r\n", "a set goes with its last member")
        }
    }

    @Test func moveAndCombine() throws {
        try withStore { sets, harness throws in
            try sets.add(buffer("x"), members: buffers(["1", "2", "3"]))
            try sets.add(buffer("y"), members: buffers(["2", "3", "4"]))
            #expect(try !sets.move(buffer("1"), from: buffer("missing"), to: buffer("x")), "a missing source moves nothing")
            harness.run("SET", "str", "v")
            #expect(try !sets.move(buffer("1"), from: buffer("missing"), to: buffer("str")),
                    "Redis answers 0 for a missing source before it checks the destination's type")
            #expect(throws: StoreError.wrongType) { try sets.move(buffer("1"), from: buffer("x"), to: buffer("str")) }
            #expect(try sets.members(buffer("x")).count == 3, "a refused move leaves the source as it was")
            #expect(try sets.move(buffer("1"), from: buffer("x"), to: buffer("y")))
            #expect(try !sets.move(buffer("9"), from: buffer("x"), to: buffer("y")))
            #expect(texts(try sets.members(buffer("y"))) == ["1", "2", "3", "4"])
            #expect(texts(try sets.combine(.inter, buffers(["x", "y"]))) == ["2", "3"])
            #expect(texts(try sets.combine(.diff, buffers(["y", "x"]))) == ["1", "4"])
            #expect(texts(try sets.combine(.union, buffers(["x", "missing"]))) == ["2", "3"])
            #expect(throws: StoreError.wrongType) { try sets.combine(.union, buffers(["x", "str"])) }
            #expect(try sets.store(.union, into: buffer("str"), from: buffers(["x", "y"])) == 4, "the destination is replaced whatever it held")
            #expect(harness.run("TYPE", "str") == "+set\r\n")
        }
    }

    /// Pops and samples take distinct members of the set; past 128 members the set gets its slot
    /// index on the first sample, and a pop of the whole set deletes it.
    @Test(arguments: [20, 300])
    func popsAndSamples(size: Int) throws {
        try withStore { sets, harness throws in
            let key = buffer("big")
            let all = (0..<size).map { "m\($0)" }
            try sets.add(key, members: buffers(all))
            let sampled = try #require(texts(try sets.random(key, count: 10)))
            #expect(Set(sampled).count == 10 && Set(sampled).isSubset(of: all))
            #expect(try sets.count(key) == size, "sampling removes nothing")
            var repeats: [String] = []
            let found = try sets.randomWithRepeats(key) { (pick: () throws(StoreError) -> [UInt8]) throws(StoreError) in
                for _ in 0..<50 { repeats.append(String(decoding: try pick(), as: UTF8.self)) }
            }
            #expect(found && repeats.count == 50 && Set(repeats).isSubset(of: all))
            let popped = try #require(texts(try sets.pop(key, count: 7)))
            #expect(Set(popped).count == 7)
            #expect(try sets.count(key) == size - 7)
            #expect(try sets.contains(key, members: buffers(popped)) == Array(repeating: false, count: 7))
            let rest = try #require(texts(try sets.pop(key, count: size)))
            #expect(Set(rest + popped) == Set(all), "the whole set, when the count covers it")
            #expect(harness.run("EXISTS", "big") == ":0\r\n")
            #expect(try sets.pop(key, count: 1) == nil)
            #expect(try sets.random(key, count: 1) == nil)
        }
    }

    @Test func anotherTypeIsRefusedAndUntouched() throws {
        try withStore { sets, harness throws in
            harness.run("SET", "s", "value")
            let key = buffer("s")
            #expect(throws: StoreError.wrongType) { try sets.add(key, members: buffers(["a"])) }
            #expect(throws: StoreError.wrongType) { try sets.remove(key, members: buffers(["a"])) }
            #expect(throws: StoreError.wrongType) { try sets.members(key) }
            #expect(throws: StoreError.wrongType) { try sets.count(key) }
            #expect(throws: StoreError.wrongType) { try sets.contains(key, members: buffers(["a"])) }
            #expect(throws: StoreError.wrongType) { try sets.pop(key, count: 1) }
            #expect(throws: StoreError.wrongType) { try sets.random(key, count: 1) }
            #expect(throws: StoreError.wrongType) { try sets.randomWithRepeats(key) { _ throws(StoreError) in } }
            #expect(harness.run("GET", "s") == "$5\r\nvalue\r\n")
        }
    }
}
