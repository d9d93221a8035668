import CRocksDB
import Foundation
import NIOCore
import NIOEmbedded
import Protocol
import TestSupport
import Testing
@testable import Engines

/// The bulk strings of one RESP reply (a bulk string, or an array or set of them).
func respMembers(_ reply: String) -> [String] {
    var at = 0
    switch RESPReplyParser.decode(Array(reply.utf8), &at) {
    case .bulk(let bytes?)?: return [String(decoding: bytes, as: UTF8.self)]
    case .array(let items?)?:
        return items.compactMap { if case .bulk(let b?) = $0 { String(decoding: b, as: UTF8.self) } else { nil } }
    default: return []
    }
}

/// Takes a blocked client's eventual reply and drops it.
final class IgnoredReplies: ReplyReceiver, @unchecked Sendable {  // stateless
    static let shared = IgnoredReplies()
    func receive(_ reply: Result<ByteBuffer, EngineError>, for sequence: Int) {}
}

/// Sets' slot index (SPOP and SRANDMEMBER read one random slot): after any mix of writers the
/// slots of every set are exactly 0..<SCARD, each naming a member whose record names it back.
@Suite(.timeLimit(.minutes(2)))
struct SetSlotIndexTests {
    /// Reads `key`'s records straight from RocksDB and checks them against `expected`: with a
    /// slot index, slots exactly 0..<N each naming a member whose record names the slot back;
    /// without one, no slot records and empty member values. Returns whether it is indexed.
    @discardableResult
    func checkIndex(_ engine: RocksDBEngine, _ key: String, _ expected: Set<String>,
                    sourceLocation: SourceLocation = #_sourceLocation) throws -> Bool {
        let name = Array(key.utf8)
        let token = name.withUnsafeBytes { engine.keyToken($0) }
        var metadataKey: [UInt8] = []
        name.withUnsafeBytes { KeyEncoding.metadataKey(token: token, key: $0, into: &metadataKey) }
        guard let record = try engine.database.get(.metadata, key: metadataKey) else {
            #expect(expected.isEmpty, "\(key) is missing", sourceLocation: sourceLocation)
            return false
        }
        let indexed = Metadata.setSlotIndexed(record)
        let generation = try #require(Metadata.collection(record)).generation
        var prefix: [UInt8] = []
        name.withUnsafeBytes { KeyEncoding.subkeyPrefix(token: token, key: $0, generation: generation, into: &prefix) }
        var members: [String: [UInt8]] = [:]
        let elements = RocksIterator(engine.database, .subkeys, scan: true)
        elements.seek(prefix)
        while elements.isValid, elements.key.starts(with: prefix) {
            members[String(decoding: elements.key[prefix.count...], as: UTF8.self)] = Array(elements.value)
            elements.next()
        }
        #expect(Set(members.keys) == expected, "\(key): members \(members.keys.sorted()) vs \(expected.sorted())",
                sourceLocation: sourceLocation)
        let slots = RocksIterator(engine.database, .setslots, scan: true)
        slots.seek(prefix)
        var seen = 0
        while slots.isValid, slots.key.starts(with: prefix) {
            let slot = slots.key.withUnsafeBytes { KeyEncoding.readBigEndian($0, at: prefix.count, as: UInt64.self) }
            #expect(slot == UInt64(seen), "\(key): slot \(slot) where \(seen) was due", sourceLocation: sourceLocation)
            let member = String(decoding: slots.value, as: UTF8.self)
            #expect(members[member] == withUnsafeBytes(of: slot.bigEndian, Array.init),
                    "\(key): slot \(slot) names \(member), whose record does not name it back", sourceLocation: sourceLocation)
            seen += 1
            slots.next()
        }
        if indexed {
            #expect(seen == expected.count, "\(key): \(seen) slots for \(expected.count) members", sourceLocation: sourceLocation)
        } else {
            #expect(seen == 0 && members.values.allSatisfy(\.isEmpty), "\(key): slot records without an index",
                    sourceLocation: sourceLocation)
        }
        return indexed
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
                                    reply: &reply) == .later)
            #expect(engine.blockedClients == 1)
        }
        let seed = UInt64.random(in: 0...UInt64.max)
        print("SetSlotIndexTests seed \(seed)")
        var random = SplitMix64(seed: seed)
        let keys = ["a", "b", "c"]
        var model: [String: Set<String>] = [:]
        // Sets grow past the index threshold (128) and shrink below it again.
        func some(_ most: UInt64) -> [String] { (0..<(1 + Int(random.next() % most))).map { _ in "m\(random.next() % 300)" } }
        var indexedChecks = 0
        for step in 0..<1500 {
            let key = random.pick(keys), other = random.pick(keys)
            switch random.next() % 10 {
            case 0, 1, 2:
                let added = some(40)
                harness.execute(["SADD", key] + added)
                model[key, default: []].formUnion(added)
            case 3, 4:
                let removed = some(12)
                harness.execute(["SREM", key] + removed)
                model[key]?.subtract(removed)
            case 5, 6:
                let count = random.chance(50) ? nil : Int(random.next() % 6)
                let popped = respMembers(harness.execute(["SPOP", key] + (count.map { ["\($0)"] } ?? [])))
                #expect(Set(popped).count == popped.count, "step \(step): SPOP repeated a member")
                #expect(Set(popped).isSubset(of: model[key] ?? []), "step \(step): SPOP \(popped) not in \(key)")
                #expect(popped.count == min(count ?? 1, model[key]?.count ?? 0), "step \(step): SPOP count")
                model[key]?.subtract(popped)
            case 7 where random.chance(50):
                let picked = respMembers(harness.execute(["SRANDMEMBER", key, "\(Int(random.next() % 7) - 3)"]))
                #expect(Set(picked).isSubset(of: model[key] ?? []), "step \(step): SRANDMEMBER \(picked) not in \(key)")
            case 7:
                let member = "m\(random.next() % 300)"
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
                for key in keys where try checkIndex(engine, key, model[key] ?? []) { indexedChecks += 1 }
            }
        }
        #expect(harness.session.endOfBurst() == nil)
        for key in keys {
            try checkIndex(engine, key, model[key] ?? [])
            #expect(Set(respMembers(harness.run("SMEMBERS", key))) == model[key] ?? [])
        }
        #expect(indexedChecks > 20, "seed \(seed): the walk hardly met an indexed set")
    }

    /// SRANDMEMBER picks every member about equally often, through the slot index (300 members)
    /// and from a small set read whole (30): 100 draws expected per member, outside 40...165
    /// (six standard deviations) about once in a million runs. SPOP drains a set exactly.
    @Test(arguments: [30, 300]) func randomMembersAreUniformAndPopsDrainExactly(size: Int) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let engine = try openEngine(directory.path)
        defer { engine.shutdown() }
        let harness = EngineHarness(engine)
        let all = (0..<size).map { "member:\(1000 + $0)" }
        harness.run(["SADD", "s"] + all)
        var hits: [String: Int] = [:]
        for _ in 0..<(size * 50) { hits[respMembers(harness.run("SRANDMEMBER", "s"))[0], default: 0] += 1 }
        for member in respMembers(harness.run("SRANDMEMBER", "s", "-\(size * 50)")) { hits[member, default: 0] += 1 }
        #expect(Set(hits.keys) == Set(all))
        for (member, count) in hits { #expect((40...165).contains(count), "\(member) drawn \(count) times of \(size * 100)") }
        #expect(try checkIndex(engine, "s", Set(all)) == (size > 128))

        var popped: [String] = []
        while popped.count < all.count + 1 {
            let next = respMembers(harness.execute(["SPOP", "s", "\(1 + popped.count % 4)"]))
            if next.isEmpty { break }
            popped += next
        }
        #expect(harness.session.endOfBurst() == nil)
        #expect(popped.sorted() == all.sorted())
        #expect(harness.run("EXISTS", "s") == ":0\r\n")
    }

    /// A set gets its index when first sampled with more than 128 members (sets written before
    /// the index existed are such sets); smaller ones never do, and writers that replace a
    /// set start it without one.
    @Test func setsAreIndexedWhenFirstSampledBig() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let engine = try openEngine(directory.path)
        defer { engine.shutdown() }
        let harness = EngineHarness(engine)
        let all = Set((0..<300).map { "v\($0)" })
        harness.run(["SADD", "big"] + all.sorted())
        harness.run("SADD", "small", "x", "y", "z")
        #expect(try checkIndex(engine, "big", all) == false)
        #expect(respMembers(harness.run("SRANDMEMBER", "big", "3")).count == 3)
        #expect(try checkIndex(engine, "big", all) == true)
        #expect(harness.run("SPOP", "small").count > 0)
        #expect(try checkIndex(engine, "small", Set(respMembers(harness.run("SMEMBERS", "small")))) == false)
        harness.run("SADD", "big", "late")
        #expect(try checkIndex(engine, "big", all.union(["late"])) == true)
        harness.run("SUNIONSTORE", "copy", "big")
        #expect(try checkIndex(engine, "copy", all.union(["late"])) == false)
        var popped: [String] = []
        for _ in 0...all.count { popped += respMembers(harness.run("SPOP", "big")) }
        #expect(Set(popped) == all.union(["late"]) && popped.count == all.count + 1)
        #expect(harness.run("EXISTS", "big") == ":0\r\n")

        // A deleted indexed set's slots go with its members in the background sweep.
        harness.run(["SADD", "gone"] + all.sorted())
        harness.run("SRANDMEMBER", "gone")
        #expect(try checkIndex(engine, "gone", all) == true)
        harness.run("DEL", "gone")
        for _ in 0..<3 { engine.sweepOrphanedElements(limit: 100) }
        do {  // the iterator must be gone before the database closes
            let slots = RocksIterator(engine.database, .setslots, scan: true)
            slots.seekToFirst()
            #expect(!slots.isValid, "a deleted set's slot records were left behind")
        }
    }
}
