import Foundation
import NIOCore
import NIOEmbedded
import TestSupport
import Testing
@testable import Engines

/// The hash store's typed API on a real RocksDB, without commands or replies: what it returns,
/// what it refuses (and that a refusal changes nothing), and a seeded run against a model.
@Suite(.timeLimit(.minutes(2)))
struct HashStoreTests {
    func buffer(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }
    func buffers(_ texts: String...) -> ArraySlice<ByteBuffer> { ArraySlice(texts.map { ByteBuffer(string: $0) }) }
    func text(_ bytes: [UInt8]?) -> String? { bytes.map { String(decoding: $0, as: UTF8.self) } }

    /// A store on a fresh engine; the harness runs commands on the same session.
    func withStore(_ body: (HashStore, EngineHarness) throws -> Void) throws {
        try withSession { session, harness in try body(session.hashes, harness) }
    }

    @Test func setGetCountAllAndDelete() throws {
        try withStore { hashes, harness throws in
            let key = buffer("h")
            #expect(try hashes.set(key, pairs: buffers("a", "1", "b", "2", "a", "3")) == 2, "a repeated field is new once")
            #expect(text(try hashes.get(key, field: buffer("a"))) == "3", "the last value of a repeated field wins")
            #expect(try hashes.count(key) == 2)
            #expect(try hashes.set(key, pairs: buffers("b", "20", "c", "30")) == 1, "only c is new")
            #expect(try hashes.all(key).map { "\(text($0.field)!)=\(text($0.value)!)" } == ["a=3", "b=20", "c=30"])
            #expect(try hashes.get(key, fields: buffers("c", "x", "a")).map(text) == ["30", nil, "3"])
            #expect(try hashes.get(buffer("nope"), fields: buffers("a", "b")).map(text) == [nil, nil])
            #expect(try hashes.delete(key, fields: buffers("a", "a", "x")) == 1, "a repeated field is removed once")
            #expect(try hashes.count(key) == 2)
            #expect(try hashes.delete(key, fields: buffers("b", "c")) == 2)
            #expect(try hashes.count(key) == 0)
            #expect(harness.run("EXISTS", "h") == ":0\r\n", "a hash goes with its last field")
            #expect(try hashes.all(key).isEmpty)
        }
    }

    @Test func setIfAbsentSetsOnlyANewField() throws {
        try withStore { hashes, _ throws in
            let key = buffer("h")
            #expect(try hashes.setIfAbsent(key, field: buffer("f"), value: buffer("one")))
            #expect(!(try hashes.setIfAbsent(key, field: buffer("f"), value: buffer("two"))))
            #expect(text(try hashes.get(key, field: buffer("f"))) == "one")
            #expect(try hashes.count(key) == 1)
        }
    }

    @Test func incrementsAndTheirRefusals() throws {
        try withStore { hashes, _ throws in
            let key = buffer("h")
            #expect(try hashes.increment(key, field: buffer("n"), by: 5) == 5, "a missing field counts from 0")
            #expect(try hashes.increment(key, field: buffer("n"), by: -7) == -2)
            try hashes.set(key, pairs: buffers("big", "\(Int.max)", "word", "abc", "f", "10.5"))
            #expect(throws: StoreError.overflow) { try hashes.increment(key, field: buffer("big"), by: 1) }
            #expect(text(try hashes.get(key, field: buffer("big"))) == "\(Int.max)", "a refused increment writes nothing")
            #expect(throws: StoreError.notInteger) { try hashes.increment(key, field: buffer("word"), by: 1) }
            #expect(throws: StoreError.notInteger) { try hashes.increment(key, field: buffer("f"), by: 1) }
            #expect(text(try hashes.increment(key, field: buffer("f"), by: Float80(0.25))) == "10.75")
            #expect(text(try hashes.increment(key, field: buffer("g"), by: Float80(3))) == "3", "stored as Redis prints it")
            #expect(throws: StoreError.notFloat) { try hashes.increment(key, field: buffer("word"), by: Float80(1)) }
            try hashes.set(key, pairs: buffers("huge", "1e4932"))
            #expect(throws: StoreError.notFinite) { try hashes.increment(key, field: buffer("huge"), by: Float80(1e4932)) }
            #expect(text(try hashes.get(key, field: buffer("huge"))) == "1e4932")
            #expect(try hashes.count(key) == 6)
        }
    }

    /// Every call on a key of another type is refused and leaves the key as it was.
    @Test func anotherTypeIsRefusedAndUntouched() throws {
        try withStore { hashes, harness throws in
            harness.run("SET", "s", "value")
            let key = buffer("s")
            #expect(throws: StoreError.wrongType) { try hashes.get(key, field: buffer("f")) }
            #expect(throws: StoreError.wrongType) { try hashes.get(key, fields: buffers("f")) }
            #expect(throws: StoreError.wrongType) { try hashes.all(key) }
            #expect(throws: StoreError.wrongType) { try hashes.count(key) }
            #expect(throws: StoreError.wrongType) { try hashes.set(key, pairs: buffers("f", "v")) }
            #expect(throws: StoreError.wrongType) { try hashes.setIfAbsent(key, field: buffer("f"), value: buffer("v")) }
            #expect(throws: StoreError.wrongType) { try hashes.delete(key, fields: buffers("f")) }
            #expect(throws: StoreError.wrongType) { try hashes.increment(key, field: buffer("f"), by: 1) }
            #expect(throws: StoreError.wrongType) { try hashes.increment(key, field: buffer("f"), by: Float80(1)) }
            #expect(harness.run("GET", "s") == "$5\r\nvalue\r\n")
        }
    }

    /// A seeded mix of every write against a dictionary: after each step the store holds what
    /// the model holds. A failure names its seed and step.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func seededMixMatchesAModel(seed: UInt64) throws {
        try withStore { hashes, harness throws in
            var random = SplitMix64(seed: seed)
            var model: [String: [String: String]] = [:]
            let keys = ["k0", "k1", "k2"], fields = ["a", "b", "c", "d", "e"]
            for step in 0..<600 {
                let key = random.pick(keys)
                let field = random.pick(fields)
                switch random.next() % 5 {
                case 0:
                    let value = "v\(random.next() % 100)"
                    let added = try hashes.set(buffer(key), pairs: buffers(field, value))
                    #expect(added == (model[key]?[field] == nil ? 1 : 0), "seed \(seed) step \(step)")
                    model[key, default: [:]][field] = value
                case 1:
                    let set = try hashes.setIfAbsent(buffer(key), field: buffer(field), value: buffer("nx"))
                    #expect(set == (model[key]?[field] == nil), "seed \(seed) step \(step)")
                    if set { model[key, default: [:]][field] = "nx" }
                case 2:
                    let removed = try hashes.delete(buffer(key), fields: buffers(field))
                    #expect(removed == (model[key]?[field] == nil ? 0 : 1), "seed \(seed) step \(step)")
                    model[key]?[field] = nil
                    if model[key]?.isEmpty == true { model[key] = nil }
                case 3:
                    let old = model[key]?[field]
                    if let old, Int(old) == nil {
                        #expect(throws: StoreError.notInteger) { try hashes.increment(buffer(key), field: buffer(field), by: 1) }
                    } else {
                        let sum = try hashes.increment(buffer(key), field: buffer(field), by: 3)
                        #expect(sum == (Int(old ?? "0") ?? 0) + 3, "seed \(seed) step \(step)")
                        model[key, default: [:]][field] = "\(sum)"
                    }
                default:
                    #expect(text(try hashes.get(buffer(key), field: buffer(field))) == model[key]?[field], "seed \(seed) step \(step)")
                }
                for key in keys {
                    let stored = try hashes.all(buffer(key)).map { (text($0.field)!, text($0.value)!) }
                    #expect(Dictionary(uniqueKeysWithValues: stored) == (model[key] ?? [:]), "seed \(seed) step \(step) key \(key)")
                    #expect(try hashes.count(buffer(key)) == model[key]?.count ?? 0)
                }
            }
            // The commands read what the store wrote.
            for key in keys { #expect(harness.run("HLEN", key) == ":\(model[key]?.count ?? 0)\r\n") }
        }
    }
}
