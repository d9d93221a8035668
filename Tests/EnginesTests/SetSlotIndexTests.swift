import CRocksDB
import Foundation
import NIOCore
import NIOEmbedded
import Protocol
import TestSupport
import Testing
@testable import Engines

/// Takes a blocked client's eventual reply and drops it.
final class IgnoredReplies: ReplyReceiver, @unchecked Sendable {  // stateless
    static let shared = IgnoredReplies()
    func receive(_ reply: Result<ByteBuffer, EngineError>, for sequence: Int) {}
}

/// Sets' slot index (SPOP and SRANDMEMBER read one random slot): after any mix of writers the
/// slots of every set are exactly 0..<SCARD, each naming a member whose record names it back.
@Suite(.timeLimit(.minutes(2)))
struct SetSlotIndexTests {
    /// Decodes one RESP reply into its members (a bulk string, an array or set of them).
    func members(_ reply: String) -> [String] {
        var at = 0
        switch RESPReplyParser.decode(Array(reply.utf8), &at) {
        case .bulk(let bytes?)?: return [String(decoding: bytes, as: UTF8.self)]
        case .array(let items?)?:
            return items.compactMap { if case .bulk(let b?) = $0 { String(decoding: b, as: UTF8.self) } else { nil } }
        default: return []
        }
    }

    /// Reads `key`'s slot records straight from RocksDB and checks them against `expected`.
    func checkIndex(_ engine: RocksDBEngine, _ key: String, _ expected: Set<String>,
                    sourceLocation: SourceLocation = #_sourceLocation) throws {
        let name = Array(key.utf8)
        let token = name.withUnsafeBytes { engine.keyToken($0) }
        var metadataKey: [UInt8] = []
        name.withUnsafeBytes { KeyEncoding.metadataKey(token: token, key: $0, into: &metadataKey) }
        guard let record = try engine.database.get(.metadata, key: metadataKey) else {
            #expect(expected.isEmpty, "\(key) is missing", sourceLocation: sourceLocation)
            return
        }
        let generation = try #require(Metadata.collection(record)).generation
        var prefix: [UInt8] = []
        name.withUnsafeBytes { KeyEncoding.subkeyPrefix(token: token, key: $0, generation: generation, into: &prefix) }
        let slots = RocksIterator(engine.database, .zscore, scan: true)
        slots.seek(prefix)
        var seen: [String] = []
        while slots.isValid, slots.key.starts(with: prefix) {
            let slot = slots.key.withUnsafeBytes { KeyEncoding.readBigEndian($0, at: prefix.count, as: UInt64.self) }
            #expect(slot == UInt64(seen.count), "\(key): slot \(slot) where \(seen.count) was due", sourceLocation: sourceLocation)
            let member = Array(slots.value)
            let back = try engine.database.get(.subkeys, key: prefix + member)
            #expect(back == withUnsafeBytes(of: slot.bigEndian, Array.init), "\(key): member of slot \(slot) names another",
                    sourceLocation: sourceLocation)
            seen.append(String(decoding: member, as: UTF8.self))
            slots.next()
        }
        #expect(Set(seen) == expected && seen.count == expected.count, "\(key): slots \(seen.sorted()) vs \(expected.sorted())",
                sourceLocation: sourceLocation)
    }

    /// Random SADD, SREM, SPOP, SMOVE, *STORE, COPY, RENAME and DEL on three sets, in bursts
    /// (SADD/SREM/SPOP group their writes until the burst ends), against a model. With a client
    /// blocked in BLPOP nothing is grouped: each command writes a plain batch it cannot read back.
    @Test(arguments: [false, true]) func slotsStayDenseUnderEveryWriter(blockedClient: Bool) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let engine = try openEngine(directory.path)
        defer { engine.shutdown() }
        let harness = EngineHarness(engine)
        let blocked = engine.makeSession(eventLoop: EmbeddedEventLoop())
        if blockedClient {
            var reply = ReplyWriter(buffer: ByteBuffer())
            let args = ["BLPOP", "nothing", "0"].map { ByteBuffer(string: $0) }
            #expect(blocked.execute(CommandTable.lookup(args[0])!, args, origin: RequestOrigin(client: 2, receiver: IgnoredReplies.shared, sequence: 0),
                                    reply: &reply))
            #expect(engine.blockedClients == 1)
        }
        let seed = UInt64.random(in: 0...UInt64.max)
        print("SetSlotIndexTests seed \(seed)")
        var random = SplitMix64(seed: seed)
        let keys = ["a", "b", "c"]
        var model: [String: Set<String>] = [:]
        func some() -> [String] { (0..<(1 + Int(random.next() % 4))).map { _ in "m\(random.next() % 24)" } }
        for step in 0..<1500 {
            let key = random.pick(keys), other = random.pick(keys)
            switch random.next() % 10 {
            case 0, 1, 2:
                let added = some()
                harness.execute(["SADD", key] + added)
                model[key, default: []].formUnion(added)
            case 3, 4:
                let removed = some()
                harness.execute(["SREM", key] + removed)
                model[key]?.subtract(removed)
            case 5, 6:
                let count = random.chance(50) ? nil : Int(random.next() % 6)
                let popped = members(harness.execute(["SPOP", key] + (count.map { ["\($0)"] } ?? [])))
                #expect(Set(popped).count == popped.count, "step \(step): SPOP repeated a member")
                #expect(Set(popped).isSubset(of: model[key] ?? []), "step \(step): SPOP \(popped) not in \(key)")
                #expect(popped.count == min(count ?? 1, model[key]?.count ?? 0), "step \(step): SPOP count")
                model[key]?.subtract(popped)
            case 7:
                let member = "m\(random.next() % 24)"
                harness.execute(["SMOVE", key, other, member])
                if model[key]?.remove(member) != nil { model[other, default: []].insert(member) }
            case 8:
                let second = random.pick(keys)
                harness.execute(["SUNIONSTORE", other, key, second])
                model[other] = (model[key] ?? []).union(model[second] ?? [])
            default:
                switch random.next() % 3 {
                case 0:
                    harness.execute(["COPY", key, other, "REPLACE"])
                    if key != other, model[key]?.isEmpty == false { model[other] = model[key] }
                case 1:
                    if model[key]?.isEmpty == false {
                        harness.execute(["RENAME", key, other])
                        if key != other { (model[other], model[key]) = (model[key], nil) }
                    }
                default:
                    harness.execute(["DEL", key])
                    model[key] = nil
                }
            }
            if random.chance(30) {
                #expect(harness.session.endOfBurst() == nil)
                for key in keys { try checkIndex(engine, key, model[key] ?? []) }
            }
        }
        #expect(harness.session.endOfBurst() == nil)
        for key in keys {
            try checkIndex(engine, key, model[key] ?? [])
            #expect(Set(members(harness.run("SMEMBERS", key))) == model[key] ?? [])
        }
    }

    /// SRANDMEMBER picks every member about equally often (each of 30 members, 3,000 draws:
    /// 100 expected, outside 50...150 about once in 10⁵ runs), and SPOP drains a set exactly.
    @Test func randomMembersAreUniformAndPopsDrainExactly() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let engine = try openEngine(directory.path)
        defer { engine.shutdown() }
        let harness = EngineHarness(engine)
        let all = (0..<30).map { "member:\(1000 + $0)" }
        harness.run(["SADD", "s"] + all)
        var hits: [String: Int] = [:]
        for _ in 0..<1500 { hits[members(harness.run("SRANDMEMBER", "s"))[0], default: 0] += 1 }
        for member in members(harness.run("SRANDMEMBER", "s", "-1500")) { hits[member, default: 0] += 1 }
        #expect(Set(hits.keys) == Set(all))
        for (member, count) in hits { #expect((50...150).contains(count), "\(member) drawn \(count) times of 3000") }

        var popped: [String] = []
        while popped.count < all.count + 1 {
            let next = members(harness.execute(["SPOP", "s", "\(1 + popped.count % 4)"]))
            if next.isEmpty { break }
            popped += next
        }
        #expect(harness.session.endOfBurst() == nil)
        #expect(popped.sorted() == all.sorted())
        #expect(harness.run("EXISTS", "s") == ":0\r\n")
    }

    /// A directory written before the slot index (members with empty values, no slot records,
    /// no marker) gets one when the engine opens, once.
    @Test func setsFromEarlierBuildsAreIndexedAtOpen() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let all = Set((0..<300).map { "v\($0)" })
        do {
            let engine = try openEngine(directory.path)
            let harness = EngineHarness(engine)
            harness.run(["SADD", "big"] + all.sorted())
            harness.run("SADD", "small", "x", "y")
            harness.run("HSET", "hash", "f", "v")
            // Back to the earlier layout.
            do {  // the iterator must be gone before the database closes
                let members = RocksIterator(engine.database, .subkeys, scan: true)
                members.seekToFirst()
                while members.isValid {
                    if members.value.count == 8 { try engine.database.put(.subkeys, key: members.key, value: []) }
                    members.next()
                }
            }
            try engine.database.deleteAll(.zscore)
            try engine.database.delete(.default, key: RocksDBEngine.setSlotsKey)
            engine.shutdown()
        }
        let engine = try openEngine(directory.path)
        defer { engine.shutdown() }
        try checkIndex(engine, "big", all)
        try checkIndex(engine, "small", ["x", "y"])
        #expect(try engine.indexLegacySets() == 0)
        let harness = EngineHarness(engine)
        #expect(harness.run("HGET", "hash", "f") == "$1\r\nv\r\n")
        var popped: [String] = []
        for _ in 0..<all.count { popped += members(harness.run("SPOP", "big")) }
        #expect(Set(popped) == all && popped.count == all.count)
        #expect(harness.run("EXISTS", "big") == ":0\r\n")
    }
}
