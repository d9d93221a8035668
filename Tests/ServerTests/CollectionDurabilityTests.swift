import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Every type survives restart and kill -9; read-modify-writes on collections are atomic under
/// concurrent clients; a huge collection is deleted in constant time.
@Suite(.timeLimit(.minutes(5)))
struct CollectionDurabilityTests {
    static let writes: [[String]] = [
        ["HSET", "h", "a", "1", "b", "2"], ["HINCRBY", "h", "n", "5"], ["RPUSH", "l", "x", "y", "z"], ["LPOP", "l"],
        ["SADD", "s", "m1", "m2", "m3"], ["SREM", "s", "m2"], ["ZADD", "z", "1", "one", "2.5", "two"], ["ZINCRBY", "z", "1", "one"],
        ["SET", "str", "v"], ["EXPIRE", "h", "1000"],
    ]
    static let checks: [([String], RESPValue)] = [
        (["HGET", "h", "b"], .bulk(Array("2".utf8))), (["HGET", "h", "n"], .bulk(Array("5".utf8))),
        (["LRANGE", "l", "0", "-1"], .array([.bulk(Array("y".utf8)), .bulk(Array("z".utf8))])),
        (["SISMEMBER", "s", "m2"], .integer(0)), (["SCARD", "s"], .integer(2)),
        (["ZSCORE", "z", "one"], .bulk(Array("2".utf8))), (["ZRANGE", "z", "0", "-1"], .array([.bulk(Array("one".utf8)), .bulk(Array("two".utf8))])),
        (["GET", "str"], .bulk(Array("v".utf8))), (["TYPE", "z"], .simple("zset")), (["DBSIZE"], .integer(5)),
    ]

    @Test(arguments: [SIGTERM, SIGKILL])
    func everyTypeSurvivesRestart(signal: Int32) throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let client = try node.client()
        for write in Self.writes { _ = try client.command(write) }
        _ = node.stop(signal: signal)
        try node.restart()
        let after = try node.client()
        for (command, expected) in Self.checks {
            #expect(try after.command(command) == expected, "\(command) after \(signal == SIGKILL ? "kill -9" : "restart")")
        }
        guard case .integer(let ttl) = try after.command("TTL", "h") else { Issue.record("TTL"); return }
        #expect(ttl > 990)
    }

    /// 8 clients × 10,000 HINCRBY on one field end at exactly 80,000; the same for ZINCRBY,
    /// SADD of distinct members and RPUSH.
    @Test func concurrentCollectionUpdatesAreExact() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let port = node.port
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            do {
                let client = try RESPTestClient(port: port)
                for round in 0..<20 {
                    var batch: [UInt8] = []
                    for j in 0..<500 {
                        batch += RESPTestClient.encode([Array("HINCRBY".utf8), Array("counters".utf8), Array("hits".utf8), Array("1".utf8)])
                        if j % 10 == 0 {
                            batch += RESPTestClient.encode([Array("ZINCRBY".utf8), Array("board".utf8), Array("1".utf8), Array("p".utf8)])
                            batch += RESPTestClient.encode([Array("SADD".utf8), Array("members".utf8), Array("w\(worker)-\(round)-\(j)".utf8)])
                            batch += RESPTestClient.encode([Array("RPUSH".utf8), Array("log".utf8), Array("e".utf8)])
                        }
                    }
                    try client.sendRaw(batch)
                    for _ in 0..<(500 + 150) { _ = try client.readRawReply() }
                }
            } catch {
                failures.add("\(error)")
            }
        }
        #expect(failures.all.isEmpty)
        let client = try node.client()
        #expect(try client.command("HGET", "counters", "hits") == .bulk(Array("80000".utf8)))
        #expect(try client.command("ZSCORE", "board", "p") == .bulk(Array("8000".utf8)))
        #expect(try client.command("SCARD", "members") == .integer(8000))
        #expect(try client.command("LLEN", "log") == .integer(8000))
    }

    /// Read-modify-writes of one loop pass share a batch and a commit: within a pipeline each
    /// sees the ones before it, other commands (LLEN, GET, LRANGE) see them too, and clients on
    /// both event loops updating one shared key lose nothing.
    @Test func groupedReadModifyWritesSeeEachOtherInPipelines() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let port = node.port
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            do {
                let client = try RESPTestClient(port: port)
                func bytes(_ words: String...) -> [UInt8] { RESPTestClient.encode(words.map { Array($0.utf8) }) }
                var batch: [UInt8] = []
                // nil: a reply that depends on the other workers (INCR of the shared counter).
                var expected: [RESPValue?] = []
                for i in 1...500 {
                    batch += bytes("INCR", "shared")
                    expected.append(nil)
                    // One element popped every fifth round.
                    let length = i - (i - 1) / 5
                    batch += bytes("RPUSH", "q\(worker)", "e\(i)")
                    expected.append(.integer(length))
                    batch += bytes("LLEN", "q\(worker)")
                    expected.append(.integer(length))
                    batch += bytes("INCRBY", "mine\(worker)", "2")
                    expected.append(.integer(2 * i))
                    batch += bytes("GET", "mine\(worker)")
                    expected.append(.bulk(Array(String(2 * i).utf8)))
                    if i % 5 == 0 {
                        batch += bytes("LPOP", "q\(worker)")
                        expected.append(.bulk(Array("e\(i / 5)".utf8)))
                        batch += bytes("HINCRBY", "h\(worker)", "f", "1")
                        expected.append(.integer(i / 5))
                    }
                }
                try client.sendRaw(batch)
                for (n, want) in expected.enumerated() {
                    let got = try client.readReply()
                    if let want, got != want { failures.add("worker \(worker), reply \(n): \(got) != \(want)") }
                }
            } catch {
                failures.add("\(error)")
            }
        }
        #expect(failures.all.isEmpty, "\(failures.all.prefix(5))")
        let client = try node.client()
        #expect(try client.command("LLEN", "q3") == .integer(400))
        #expect(try client.command("GET", "shared") == .bulk(Array("2000".utf8)))
        #expect(try client.command("LRANGE", "q0", "0", "1") == .array([.bulk(Array("e101".utf8)), .bulk(Array("e102".utf8))]))
    }

    /// A pass's grouped commands share one metadata record per key until the commit: a pipeline
    /// of only grouped commands that empties collections (their metadata deleted) and creates
    /// them again (a new generation) leaves exactly the last state, acknowledged and on disk
    /// (kill -9), with no element of an emptied generation coming back.
    @Test func combinedMetadataKeepsTheLastStateOfEachKey() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let client = try node.client()
        _ = try client.command("RPUSH", "gone", "x")
        _ = try client.command("HSET", "goneh", "f", "v")
        var batch: [UInt8] = []
        var expected: [RESPValue] = []
        func add(_ reply: RESPValue, _ words: String...) {
            batch += RESPTestClient.encode(words.map { Array($0.utf8) })
            expected.append(reply)
        }
        for round in 1...200 {
            add(.integer(2), "RPUSH", "l", "a\(round)", "b\(round)")
            add(.array([.bulk(Array("a\(round)".utf8)), .bulk(Array("b\(round)".utf8))]), "LPOP", "l", "5")  // empties l
            add(.integer(1), "HSET", "h", "f\(round)", "v")
            add(.integer(1), "HDEL", "h", "f\(round)")  // empties h
            add(.integer(1), "SADD", "s", "m\(round)")
            add(.integer(1), "SREM", "s", "m\(round)")  // empties s
            add(.integer(1), "ZADD", "z", "\(round)", "m\(round)")
            add(.integer(1), "ZREM", "z", "m\(round)")  // empties z
            add(.integer(round), "INCR", "n")
        }
        add(.integer(1), "RPUSH", "l", "last")
        add(.integer(1), "HSET", "h", "last", "1")
        add(.integer(1), "SADD", "s", "last")
        add(.integer(1), "ZADD", "z", "7", "last")
        add(.bulk(Array("x".utf8)), "LPOP", "gone")  // deleted by the last grouped write to it
        add(.integer(1), "HDEL", "goneh", "f")
        try client.sendRaw(batch)
        for (n, want) in expected.enumerated() {
            let got = try client.readReply()
            if got != want {
                Issue.record("reply \(n): \(got) != \(want)")
                break
            }
        }
        _ = node.stop(signal: SIGKILL)
        try node.restart()
        let after = try node.client()
        #expect(try after.command("LRANGE", "l", "0", "-1") == .array([.bulk(Array("last".utf8))]))
        #expect(try after.command("HGETALL", "h") == .array([.bulk(Array("last".utf8)), .bulk(Array("1".utf8))]))
        #expect(try after.command("SMEMBERS", "s") == .array([.bulk(Array("last".utf8))]))
        #expect(try after.command("ZRANGE", "z", "0", "-1", "WITHSCORES") == .array([.bulk(Array("last".utf8)), .bulk(Array("7".utf8))]))
        #expect(try after.command("GET", "n") == .bulk(Array("200".utf8)))
        #expect(try after.command("DBSIZE") == .integer(5))
        #expect(try after.command("EXISTS", "gone", "goneh") == .integer(0))
        guard case .array(let page?) = try after.command("SCAN", "0", "COUNT", "100"), page.count == 2,
              case .array(let keys?) = page[1] else { Issue.record("SCAN reply"); return }
        #expect(Set(keys.map { "\($0)" }) == Set(["l", "h", "s", "z", "n"].map { "\(RESPValue.bulk(Array($0.utf8)))" }))
    }

    /// The background sweeps lock the stripes of the collections they examine. Clients on both
    /// event loops pipeline more than a connection's 4,096 replies in flight to one hot hash, so
    /// their connections pause and resume, and a resumed connection opens a write group from
    /// inside a loop task, whose commit is queued behind the sweep tick; replaced hashes give
    /// the element sweep work, and every sweep pass meets the hot hash's stripe. The node must
    /// keep answering and lose nothing. (When the sweeps ran on an event loop they could wait
    /// there for a stripe that loop's own group held until that queued commit, and the node hung:
    /// seen once under redis-benchmark in a release build. This load did not reproduce that hang
    /// in the debug build, so it guards the sweeps' locking in general rather than that race.)
    @Test func backgroundSweepsNeverStallAHotKey() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let port = node.port
        let failures = Failures()
        let perRound = 6_000
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            do {
                let client = try RESPTestClient(port: port, timeoutSeconds: 20)
                for round in 0..<8 {
                    var batch: [UInt8] = []
                    for j in 0..<perRound {
                        batch += RESPTestClient.encode(["HSET", "hot", "f\(worker)-\(j)", "\(round)"].map { Array($0.utf8) })
                    }
                    // A replaced hash leaves its old elements to the sweep.
                    batch += RESPTestClient.encode(["DEL", "cold\(worker)"].map { Array($0.utf8) })
                    batch += RESPTestClient.encode(["HSET", "cold\(worker)", "a", "1", "b", "2"].map { Array($0.utf8) })
                    try client.sendRaw(batch)
                    for _ in 0..<(perRound + 2) { _ = try client.readRawReply() }
                }
            } catch {
                failures.add("worker \(worker): \(error)")
            }
        }
        #expect(failures.all.isEmpty, "\(failures.all.prefix(4))")
        let client = try node.client()
        #expect(try client.command("HLEN", "hot") == .integer(4 * perRound))
        #expect(try client.command("HGET", "hot", "f3-5999") == .bulk(Array("7".utf8)))
    }

    /// DEL of a 1,000,000-member set writes one metadata record: it returns at once and the
    /// members are unreachable immediately.
    @Test func deletingAMillionMemberSetIsConstantTime() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let client = try node.client()
        let chunk = 5000
        for start in stride(from: 0, to: 1_000_000, by: chunk * 10) {
            var batch: [UInt8] = []
            for c in 0..<10 {
                var args = [Array("SADD".utf8), Array("huge".utf8)]
                for i in (start + c * chunk)..<(start + (c + 1) * chunk) { args.append(Array("member:\(i)".utf8)) }
                batch += RESPTestClient.encode(args)
            }
            try client.sendRaw(batch)
            for _ in 0..<10 { #expect(try client.readReply() == .integer(chunk)) }
        }
        #expect(try client.command("SCARD", "huge") == .integer(1_000_000))
        let started = Date()
        #expect(try client.command("DEL", "huge") == .integer(1))
        let elapsed = Date().timeIntervalSince(started)
        #expect(try client.command("SISMEMBER", "huge", "member:123") == .integer(0))
        #expect(try client.command("SCARD", "huge") == .integer(0))
        #expect(try client.command("SADD", "huge", "again") == .integer(1))
        #expect(try client.command("SCARD", "huge") == .integer(1))
        print("DEL of a 1,000,000-member set took \(Int(elapsed * 1000)) ms")
    }
}
