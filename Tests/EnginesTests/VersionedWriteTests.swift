import Foundation
import NIOCore
import Protocol
import TestSupport
import Testing
@testable import Engines

/// The RocksDB engine's versioned writes (DESIGN.md §5a), driven through a session with the
/// version a cluster coordinator would stamp: last writer wins per key whatever the arrival
/// order, deletes leave tombstones, and a state applied twice or late changes nothing.
@Suite(.timeLimit(.minutes(2)))
struct VersionedWriteTests {
    /// Runs `words` as a write stamped `version`.
    @discardableResult
    func stamped(_ harness: EngineHarness, _ version: UInt64, _ words: String...) -> String {
        harness.session.version = version
        defer { harness.session.version = 0 }
        return harness.run(words)
    }

    /// A fresh engine in a temporary directory, its harness, and the time now (ms).
    func withEngine(_ body: (EngineHarness, RocksDBEngine, Int64) throws -> Void) throws {
        let directory = TemporaryDirectory("versions")
        defer { directory.remove() }
        let engine = try openEngine(directory.path)
        defer { engine.shutdown() }
        try body(EngineHarness(engine), engine, WallClock.nowMillis())
    }

    /// Two fresh engines (a transfer's source and target), their harnesses, and the time now (ms).
    func withTwoEngines(_ body: (EngineHarness, EngineHarness, Int64) throws -> Void) throws {
        let source = TemporaryDirectory("versions")
        let target = TemporaryDirectory("versions")
        defer { source.remove(); target.remove() }
        let from = try openEngine(source.path), to = try openEngine(target.path)
        defer { from.shutdown(); to.shutdown() }
        try body(EngineHarness(from), EngineHarness(to), WallClock.nowMillis())
    }

    func version(_ ms: Int64, counter: UInt64 = 0, node: UInt64 = 1) -> UInt64 {
        UInt64(ms) << 22 | counter << 12 | node
    }

    @Test func wholeValueWritesApplyOnlyWhenNotOlder() throws {
        try withEngine { h, engine, t in
            // Two coordinators' SETs arrive in the opposite order of their versions.
            #expect(stamped(h, version(t, node: 2), "SET", "k", "newer") == "+OK\r\n")
            #expect(stamped(h, version(t - 5, node: 1), "SET", "k", "older") == "+OK\r\n")
            #expect(h.run("GET", "k") == "$5\r\nnewer\r\n")
            // Same millisecond: the counter, then the node id, breaks the tie.
            stamped(h, version(t + 1, counter: 1, node: 1), "SET", "k", "c1")
            stamped(h, version(t + 1, counter: 0, node: 3), "SET", "k", "c0")
            #expect(h.run("GET", "k") == "$2\r\nc1\r\n")
            // MSET's parts and SETEX are checked per key.
            stamped(h, version(t + 10), "SET", "a", "new-a")
            stamped(h, version(t + 5), "MSET", "a", "old-a", "b", "old-b")
            #expect(h.run("MGET", "a", "b") == "*2\r\n$5\r\nnew-a\r\n$5\r\nold-b\r\n")
            stamped(h, version(t + 4), "SETEX", "b", "100", "older-b")
            #expect(h.run("GET", "b") == "$5\r\nold-b\r\n")
            // Within one burst (one grouped batch, checked at its commit): the newest write of a key
            // wins whatever the order, and an older burst never replaces a newer stored record.
            func burst(_ writes: [(UInt64, [String])]) {
                for (v, words) in writes {
                    h.session.version = v
                    h.execute(words)
                }
                h.session.version = 0
                #expect(h.session.endOfBurst() == nil)
            }
            burst([(version(t + 100, node: 2), ["SET", "d", "newest"]), (version(t + 90), ["SET", "d", "older"]),
                   (version(t + 95), ["MSET", "d", "middle", "e", "e1"])])
            #expect(h.run("GET", "d") == "$6\r\nnewest\r\n")
            burst([(version(t + 50), ["SET", "d", "stale"]), (version(t + 60), ["SETEX", "e", "100", "stale-e"]),
                   (version(t + 200), ["SET", "f", "fresh"])])
            #expect(h.run("MGET", "d", "e", "f") == "*3\r\n$6\r\nnewest\r\n$2\r\ne1\r\n$5\r\nfresh\r\n")
            #expect(h.run("TTL", "e") == ":-1\r\n")
            // Unstamped writes (a node without peers) always apply.
            #expect(h.run("SET", "k", "local") == "+OK\r\n")
            #expect(h.run("GET", "k") == "$5\r\nlocal\r\n")
        }
    }

    /// A stamped write that changes nothing (a member already there) still raises the key's
    /// version: a replica that lacked the member and wrote it must not look newer than this one.
    @Test func aNoOpWriteStillRaisesTheVersion() throws {
        try withEngine { h, engine, t in
            func stateVersion(_ key: String) -> String { String(h.run("DYNAMIS.STATE", key).split(separator: "\r\n")[2]) }
            stamped(h, version(t), "SADD", "s", "m")
            #expect(stamped(h, version(t + 7), "SADD", "s", "m") == ":0\r\n")
            #expect(stateVersion("s") == String(version(t + 7)))
            stamped(h, version(t), "HSET", "h", "f", "v")
            #expect(stamped(h, version(t + 9), "HDEL", "h", "nope") == ":0\r\n")
            #expect(stateVersion("h") == String(version(t + 9)))
            // Never lowered by an older one, whether it changes something or not.
            stamped(h, version(t + 3), "SADD", "s", "m")
            #expect(stateVersion("s") == String(version(t + 7)))
            #expect(stamped(h, version(t + 2), "SADD", "s", "late") == ":1\r\n")
            #expect(stateVersion("s") == String(version(t + 7)))
            stamped(h, version(t + 30), "RPUSH", "l", "a")
            stamped(h, version(t + 25), "RPUSH", "l", "b")
            stamped(h, version(t + 30), "INCR", "n")
            stamped(h, version(t + 20), "INCRBY", "n", "5")
            #expect(stateVersion("l") == String(version(t + 30)) && stateVersion("n") == String(version(t + 30)))
            #expect(h.run("LRANGE", "l", "0", "-1") == "*2\r\n$1\r\na\r\n$1\r\nb\r\n" && h.run("GET", "n") == "$1\r\n6\r\n")
        }
    }

    @Test func aDeleteLeavesATombstoneThatStopsOlderWrites() throws {
        try withEngine { h, engine, t in
            stamped(h, version(t), "SET", "k", "v")
            #expect(stamped(h, version(t + 10), "DEL", "k") == ":1\r\n")
            // Reads see nothing; an older SET (delayed on the network) does not bring the key back.
            #expect(h.run("GET", "k") == "$-1\r\n")
            #expect(h.run("EXISTS", "k") == ":0\r\n")
            #expect(h.run("DBSIZE") == ":0\r\n")
            #expect(h.run("KEYS", "*") == "*0\r\n")
            stamped(h, version(t + 5), "SET", "k", "late")
            #expect(h.run("GET", "k") == "$-1\r\n")
            // The tombstone's state says deleted, with the delete's version.
            #expect(h.run("DYNAMIS.STATE", "k") == "*3\r\n$\(String(version(t + 10)).count)\r\n\(version(t + 10))\r\n:0\r\n$-1\r\n")
            // A newer write creates the key again; an older DEL no longer removes it.
            stamped(h, version(t + 20), "HSET", "k", "f", "v")
            #expect(stamped(h, version(t + 15), "DEL", "k") == ":0\r\n")
            #expect(h.run("HGET", "k", "f") == "$1\r\nv\r\n")
            // A DEL of a key this replica never saw leaves a tombstone too (a delete is a write, as
            // in Cassandra): the older SET it overtook on the network, arriving now, loses to it.
            #expect(stamped(h, version(t + 30), "DEL", "never") == ":0\r\n")
            #expect(h.run("DYNAMIS.STATE", "never") == "*3\r\n$\(String(version(t + 30)).count)\r\n\(version(t + 30))\r\n:0\r\n$-1\r\n")
            stamped(h, version(t + 25), "SET", "never", "overtaken")
            #expect(h.run("GET", "never") == "$-1\r\n")
            #expect(h.run("DBSIZE") == ":1\r\n")
        }
    }

    @Test func theSweepKeepsTombstonesForTheirGraceOnly() throws {
        try withEngine { h, engine, t in
            stamped(h, version(t), "SET", "k", "v")
            stamped(h, version(t + 1), "DEL", "k")
            engine.tombstoneGrace = 3_600_000
            engine.sweepExpired()
            #expect(h.run("DYNAMIS.STATE", "k").hasPrefix("*3\r\n$\(String(version(t + 1)).count)\r\n\(version(t + 1))"))
            engine.tombstoneGrace = 0
            #expect(engine.sweepExpired() == 1)
            #expect(h.run("DYNAMIS.STATE", "k") == "*3\r\n$1\r\n0\r\n:0\r\n$-1\r\n")
        }
    }

    /// Hinted handoff's and read repair's transfer: the state read with DYNAMIS.STATE, applied
    /// with a stamped DYNAMIS.APPLY. Twice, or after a newer write, it changes nothing, and says so.
    @Test func aStateAppliedTwiceOrLateChangesNothing() throws {
        try withTwoEngines { a, b, t in
            stamped(a, version(t), "RPUSH", "l", "x", "y")
            stamped(a, version(t + 1), "PEXPIREAT", "l", String(t + 600_000))
            let state = a.run("DYNAMIS.STATE", "l")
            let dump = a.run("DUMP", "l")
            // The payload is the DUMP payload; the expiry absolute.
            #expect(state.hasPrefix("*3\r\n$\(String(version(t + 1)).count)\r\n\(version(t + 1))\r\n:\(t + 600_000)\r\n"))
            #expect(state.hasSuffix(dump))
            // The payload's bytes, as the peer frame carries them.
            var raw = ReplyWriter(buffer: ByteBuffer())
            _ = a.session.execute(CommandTable.lookup("dump")!, [ByteBuffer(string: "DUMP"), ByteBuffer(string: "l")],
                                  origin: RequestOrigin(client: 1, receiver: NoReceiver.shared, sequence: 0), reply: &raw)
            let header = raw.buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n"))! + 1
            let payload = ByteBuffer(bytes: raw.buffer.readableBytesView[header..<(raw.buffer.writerIndex - 2)])
            func apply() -> String {
                b.session.version = version(t + 1)
                defer { b.session.version = 0 }
                let args = ["DYNAMIS.APPLY", "l", String(version(t + 1)), String(t + 600_000)].map { ByteBuffer(string: $0) } + [payload]
                var reply = ReplyWriter(buffer: ByteBuffer())
                _ = b.session.execute(CommandTable.lookup("dynamis.apply")!, args,
                                      origin: RequestOrigin(client: 1, receiver: NoReceiver.shared, sequence: 0), reply: &reply)
                #expect(b.session.endOfBurst() == nil)
                return String(decoding: reply.buffer.readableBytesView, as: UTF8.self)
            }
            #expect(apply() == ":1\r\n")
            #expect(b.run("LRANGE", "l", "0", "-1") == "*2\r\n$1\r\nx\r\n$1\r\ny\r\n")
            #expect(b.run("PEXPIRETIME", "l") == ":\(t + 600_000)\r\n")
            #expect(b.run("DYNAMIS.STATE", "l") == state)
            #expect(apply() == ":1\r\n")
            #expect(b.run("DYNAMIS.STATE", "l") == state)
            // A newer write on the target, then the old state again: the newer write stays.
            stamped(b, version(t + 50), "RPUSH", "l", "z")
            #expect(apply() == ":0\r\n")
            #expect(b.run("LRANGE", "l", "0", "-1") == "*3\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\nz\r\n")
            // A stamped RESTORE (a client's, replicated) obeys the same rule; unstamped it is refused.
            #expect(stamped(b, version(t + 40), "DEL", "l") == ":0\r\n")
            #expect(b.run("DYNAMIS.APPLY", "l", "0", "0") == "-ERR syntax error\r\n")
            // A tombstone state deletes and keeps its version (not the frame's stamp).
            #expect(stamped(b, version(t + 70), "DYNAMIS.APPLY", "l", String(version(t + 60)), "0") == ":1\r\n")
            #expect(b.run("EXISTS", "l") == ":0\r\n")
            #expect(b.run("DYNAMIS.STATE", "l") == "*3\r\n$\(String(version(t + 60)).count)\r\n\(version(t + 60))\r\n:0\r\n$-1\r\n")
        }
    }

    /// Runs `args` (binary-safe) on `harness`, ending the burst; the reply's bytes.
    func raw(_ harness: EngineHarness, _ args: [ByteBuffer], version stamp: UInt64 = 0) -> ByteBuffer {
        harness.session.version = stamp
        defer { harness.session.version = 0 }
        var reply = ReplyWriter(buffer: ByteBuffer())
        _ = harness.session.execute(CommandTable.lookup(args[0])!, args,
                                    origin: RequestOrigin(client: 1, receiver: NoReceiver.shared, sequence: 0), reply: &reply)
        #expect(harness.session.endOfBurst() == nil)
        return reply.buffer
    }

    /// A DYNAMIS.STATE reply's payload and cursor (nil when it is the last part).
    func statePart(_ reply: ByteBuffer) -> (payload: ByteBuffer, cursor: ByteBuffer?)? {
        var buffer = reply
        func line() -> String? {
            guard let end = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\r")) else { return nil }
            let text = buffer.readString(length: end - buffer.readerIndex)
            buffer.moveReaderIndex(forwardBy: 2)
            return text
        }
        func bulk() -> ByteBuffer? {
            guard let header = line(), header.first == "$", let length = Int(header.dropFirst()), length >= 0 else { return nil }
            defer { buffer.moveReaderIndex(forwardBy: 2) }
            return buffer.readSlice(length: length)
        }
        guard let count = line(), count == "*3" || count == "*4", bulk() != nil, line()?.first == ":", let payload = bulk() else { return nil }
        return (payload, count == "*4" ? bulk() : nil)
    }

    /// A collection larger than MAXBYTES is read in parts (each a DUMP payload holding some of
    /// the elements, and a cursor) and applied in parts: nothing shows until the last part,
    /// which applies them joined, under the same rules as a one-frame state.
    @Test(arguments: ["hash", "set", "list", "zset"])
    func aBigCollectionMovesInParts(_ type: String) throws {
        try withTwoEngines { a, b, t in
            let v = version(t)
            for i in 0..<400 {
                switch type {
                case "hash": stamped(a, v, "HSET", "k", "field-\(i)", "value-\(i)")
                case "set": stamped(a, v, "SADD", "k", "member-\(i)")
                case "list": stamped(a, v, "RPUSH", "k", "element-\(i)")
                default: stamped(a, v, "ZADD", "k", String(i % 37), "member-\(i)")
                }
            }
            stamped(a, v, "PEXPIREAT", "k", String(t + 600_000))
            let words = { (w: [String]) in w.map { ByteBuffer(string: $0) } }
            var parts: [ByteBuffer] = []
            var reply = raw(a, words(["DYNAMIS.STATE", "k", "MAXBYTES", "1024"]))
            while true {
                guard let part = statePart(reply) else { Issue.record("not a state part: \(String(buffer: reply))"); return }
                parts.append(part.payload)
                guard let cursor = part.cursor else { break }
                #expect(part.payload.readableBytes < 2048)
                reply = raw(a, words(["DYNAMIS.STATE", "k", "MAXBYTES", "1024", "FROM", String(v)]) + [cursor])
            }
            #expect(parts.count >= 8, "\(parts.count) parts")
            // Small enough for one part: the reply is the whole state, as without MAXBYTES.
            #expect(String(buffer: raw(a, words(["DYNAMIS.STATE", "k", "MAXBYTES", "100000000"]))) == a.run("DYNAMIS.STATE", "k"))
            let head = words(["DYNAMIS.APPLY", "k", String(v), String(t + 600_000)])
            let stamp = version(t + 5)
            // The last part without the others, or a part out of turn, is refused.
            #expect(String(buffer: raw(b, head + [parts.last!, ByteBuffer(string: "PARTS"), ByteBuffer(string: String(parts.count))], version: stamp))
                    .hasPrefix("-ERR Dynomite: a part of this state is missing"))
            #expect(String(buffer: raw(b, head + [parts[1], ByteBuffer(string: "PART"), ByteBuffer(string: "1")], version: stamp))
                    .hasPrefix("-ERR Dynomite: a part of this state is missing"))
            for (i, part) in parts.dropLast().enumerated() {
                #expect(String(buffer: raw(b, head + [part, ByteBuffer(string: "PART"), ByteBuffer(string: String(i))], version: stamp)) == ":1\r\n")
                #expect(b.run("EXISTS", "k") == ":0\r\n", "a partial state never shows")
            }
            #expect(String(buffer: raw(b, head + [parts.last!, ByteBuffer(string: "PARTS"), ByteBuffer(string: String(parts.count))], version: stamp)) == ":1\r\n")
            #expect(b.run("DUMP", "k") == a.run("DUMP", "k"))
            #expect(b.run("PEXPIRETIME", "k") == ":\(t + 600_000)\r\n")
            #expect(b.run("DYNAMIS.STATE", "k") == a.run("DYNAMIS.STATE", "k"))
            // A newer write on the target: the first part of the old state is answered 0 (the sender stops).
            stamped(b, version(t + 50), "DEL", "k")
            #expect(String(buffer: raw(b, head + [parts[0], ByteBuffer(string: "PART"), ByteBuffer(string: "0")], version: stamp)) == ":0\r\n")
            // The key changed on the source between two parts: the next part is refused.
            guard let first = statePart(raw(a, words(["DYNAMIS.STATE", "k", "MAXBYTES", "1024"]))), let cursor = first.cursor else {
                Issue.record("no first part"); return
            }
            stamped(a, version(t + 60), "PERSIST", "k")
            #expect(String(buffer: raw(a, words(["DYNAMIS.STATE", "k", "MAXBYTES", "1024", "FROM", String(v)]) + [cursor]))
                    .hasPrefix("-ERR Dynomite: the key changed while its state was read in parts"))
        }
    }
}
