import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// BLPOP and friends on the RocksDB engine: woken by pushes from any connection, with timeouts.
@Suite(.timeLimit(.minutes(2)))
struct BlockingPopTests {
    /// Waits until INFO reports `count` blocked clients (no sleeps guessing at scheduling).
    func waitForBlocked(_ count: Int, _ client: RESPTestClient) throws {
        for _ in 0..<500 {
            if case .bulk(let info?) = try client.command("INFO", "clients"),
               String(decoding: info, as: UTF8.self).contains("blocked_clients:\(count)\r\n") { return }
            usleep(10_000)
        }
        Issue.record("never saw \(count) blocked clients")
    }

    @Test func pushFromAnotherClientWakesTheWaiter() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let waiter = try node.client()
        let pusher = try node.client()
        try waiter.send(["BLPOP", "queue", "other", "5"])
        try waitForBlocked(1, pusher)
        #expect(try pusher.command("RPUSH", "queue", "job-1", "job-2") == .integer(2))
        #expect(try waiter.readReply() == .array([.bulk(Array("queue".utf8)), .bulk(Array("job-1".utf8))]))
        #expect(try pusher.command("LRANGE", "queue", "0", "-1") == .array([.bulk(Array("job-2".utf8))]))
        // Data already there: answered at once, from the first non-empty key.
        #expect(try waiter.command("BRPOP", "empty", "queue", "1") == .array([.bulk(Array("queue".utf8)), .bulk(Array("job-2".utf8))]))
    }

    @Test func blmpopAndBzmpopWaitPopAndMatchRedisErrors() throws {
        let node = try DynamisProcess()
        let redis = try RedisServer()
        defer { node.remove(); redis.stop() }
        let waiter = try node.client()
        let pusher = try node.client()
        try waiter.send(["BLMPOP", "5", "2", "a", "b", "LEFT", "COUNT", "2"])
        try waitForBlocked(1, pusher)
        #expect(try pusher.command("RPUSH", "b", "x", "y", "z") == .integer(3))
        #expect(try waiter.readReply() == .array([.bulk(Array("b".utf8)), .array([.bulk(Array("x".utf8)), .bulk(Array("y".utf8))])]))
        try waiter.send(["BZMPOP", "5", "1", "z", "MAX"])
        try waitForBlocked(1, pusher)
        #expect(try pusher.command("ZADD", "z", "1", "one", "2", "two") == .integer(2))
        #expect(try waiter.readReply() == .array([.bulk(Array("z".utf8)), .array([.array([.bulk(Array("two".utf8)), .bulk(Array("2".utf8))])])]))
        #expect(try waiter.command("BLMPOP", "0.1", "1", "nothing", "RIGHT") == .array(nil))
        // Errors and immediate answers, byte for byte as redis-server gives them.
        let reference = try RESPTestClient(port: redis.port)
        for client in [waiter, reference] {
            #expect(try client.command("SET", "str", "v") == .simple("OK"))
            _ = try client.command("DEL", "l")
            #expect(try client.command("RPUSH", "l", "1", "2", "3") == .integer(3))
        }
        let cases: [[String]] = [
            ["BLMPOP", "abc", "1", "l", "LEFT"], ["BLMPOP", "-1", "1", "l", "LEFT"], ["BLMPOP", "0", "0", "l", "LEFT"],
            ["BLMPOP", "0", "2", "l", "LEFT"], ["BLMPOP", "0", "1", "l", "UP"], ["BLMPOP", "0", "1", "l", "LEFT", "COUNT", "0"],
            ["BLMPOP", "0", "1", "l", "LEFT", "COUNT"], ["BLMPOP", "0", "1", "str", "LEFT"], ["BZMPOP", "0", "1", "str", "MIN"],
            ["BZMPOP", "0", "1", "l", "MAX"], ["BLMPOP", "0", "2", "nothing", "l", "RIGHT", "COUNT", "5"], ["BLMPOP", "0"],
        ]
        for command in cases {
            #expect(try waiter.command(command) == reference.command(command), "\(command)")
        }
    }

    @Test func timeoutsAnswerNil() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let client = try node.client()
        let started = Date()
        #expect(try client.command("BLPOP", "nothing", "0.3") == .array(nil))
        #expect(Date().timeIntervalSince(started) >= 0.25)
        #expect(try client.command("BZPOPMIN", "nothing", "0.1") == .array(nil))
        #expect(try client.command("BLPOP", "x", "abc") == .error("ERR timeout is not a float or out of range"))
        #expect(try client.command("BLPOP", "x", "-1") == .error("ERR timeout is negative"))
        #expect(try client.command("SET", "str", "v") == .simple("OK"))
        #expect(try client.command("BLPOP", "str", "1") == .error("WRONGTYPE Operation against a key holding the wrong kind of value"))
    }

    /// Waiters are served oldest first; a blocked client reads no further request until it is
    /// answered, as in Redis.
    @Test func waitersAreServedInOrderAndBlockTheirConnection() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let first = try node.client()
        let second = try node.client()
        let other = try node.client()
        try first.sendRaw(RESPTestClient.encode([Array("BLPOP".utf8), Array("q".utf8), Array("5".utf8)])
                          + RESPTestClient.encode([Array("SET".utf8), Array("after".utf8), Array("1".utf8)]))
        try waitForBlocked(1, other)
        try second.send(["BLPOP", "q", "5"])
        try waitForBlocked(2, other)
        #expect(try other.command("GET", "after") == .bulk(nil))  // still blocked behind BLPOP
        #expect(try other.command("LPUSH", "q", "a") == .integer(1))
        #expect(try first.readReply() == .array([.bulk(Array("q".utf8)), .bulk(Array("a".utf8))]))
        #expect(try first.readReply() == .simple("OK"))
        #expect(try other.command("GET", "after") == .bulk(Array("1".utf8)))
        #expect(try other.command("LPUSH", "q", "b") == .integer(1))
        #expect(try second.readReply() == .array([.bulk(Array("q".utf8)), .bulk(Array("b".utf8))]))
    }

    /// A client that goes away while blocked consumes nothing.
    @Test func closedWaitersConsumeNothing() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let client = try node.client()
        do {
            let gone = try node.client()
            try gone.send(["BLPOP", "q", "0"])
            try waitForBlocked(1, client)
        }
        try waitForBlocked(0, client)
        #expect(try client.command("RPUSH", "q", "kept") == .integer(1))
        #expect(try client.command("LLEN", "q") == .integer(1))
    }

    @Test func sortedSetAndMoveVariants() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let waiter = try node.client()
        let other = try node.client()
        try waiter.send(["BZPOPMAX", "board", "5"])
        try waitForBlocked(1, other)
        #expect(try other.command("ZADD", "board", "1", "low", "9", "high") == .integer(2))
        #expect(try waiter.readReply() == .array([.bulk(Array("board".utf8)), .bulk(Array("high".utf8)), .bulk(Array("9".utf8))]))
        try waiter.send(["BLMOVE", "src", "dst", "LEFT", "RIGHT", "5"])
        try waitForBlocked(1, other)
        #expect(try other.command("RPUSH", "src", "x") == .integer(1))
        #expect(try waiter.readReply() == .bulk(Array("x".utf8)))
        #expect(try other.command("LRANGE", "dst", "0", "-1") == .array([.bulk(Array("x".utf8))]))
        #expect(try waiter.command("BRPOPLPUSH", "dst", "src", "1") == .bulk(Array("x".utf8)))
        #expect(try waiter.command("BLMOVE", "src", "dst", "UP", "RIGHT", "1") == .error("ERR syntax error"))
    }

    static func b(_ s: String) -> RESPValue { .bulk(Array(s.utf8)) }

    /// Redis's own cases (tests/unit/type/list.tcl): a key moved into place wakes its waiter
    /// (RENAME, SORT ... STORE, a transaction); LPUSH + DEL + SET inside MULTI leaves the waiter
    /// blocked instead of answering WRONGTYPE; chained and circular BLMOVEs all complete.
    @Test func keysMovedIntoPlaceWakeWaitersAndWrongTypesDoNot() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let waiter = try node.client()
        let other = try node.client()
        // RENAME into place.
        #expect(try other.command("RPUSH", "src", "a", "b") == .integer(2))
        try waiter.send(["BLPOP", "moved", "0"])
        try waitForBlocked(1, other)
        #expect(try other.command("RENAME", "src", "moved") == .simple("OK"))
        #expect(try waiter.readReply() == .array([Self.b("moved"), Self.b("a")]))
        // SORT ... STORE into place.
        #expect(try other.command("RPUSH", "nums", "3", "1", "2") == .integer(3))
        try waiter.send(["BLPOP", "sorted", "0"])
        try waitForBlocked(1, other)
        #expect(try other.command("SORT", "nums", "STORE", "sorted") == .integer(3))
        #expect(try waiter.readReply() == .array([Self.b("sorted"), Self.b("1")]))
        // MULTI: LPUSH + DEL + SET must not wake the waiter with WRONGTYPE.
        try waiter.send(["BLPOP", "list", "0"])
        try waitForBlocked(1, other)
        for command in [["MULTI"], ["LPUSH", "list", "a"], ["DEL", "list"], ["SET", "list", "foo"]] { _ = try other.command(command) }
        #expect(try other.command("EXEC") == .array([.integer(1), .integer(1), .simple("OK")]))
        #expect(try other.command("DEL", "list") == .integer(1))
        #expect(try other.command("LPUSH", "list", "b") == .integer(1))
        #expect(try waiter.readReply() == .array([Self.b("list"), Self.b("b")]))
        // A transaction that creates the key wakes the waiter once it commits.
        try waiter.send(["BLPOP", "txn", "0"])
        try waitForBlocked(1, other)
        for command in [["MULTI"], ["LPUSH", "txn", "a"], ["LPUSH", "txn", "b"]] { _ = try other.command(command) }
        _ = try other.command("EXEC")
        #expect(try waiter.readReply() == .array([Self.b("txn"), Self.b("b")]))
    }

    @Test func linkedAndCircularBLMOVEsComplete() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let first = try node.client(), second = try node.client(), pusher = try node.client()
        // Linked: list1 -> list2 -> list3.
        try first.send(["BLMOVE", "list1", "list2", "RIGHT", "LEFT", "0"])
        try second.send(["BLMOVE", "list2", "list3", "LEFT", "RIGHT", "0"])
        try waitForBlocked(2, pusher)
        #expect(try pusher.command("RPUSH", "list1", "foo") == .integer(1))
        #expect(try first.readReply() == Self.b("foo"))
        #expect(try second.readReply() == Self.b("foo"))
        #expect(try pusher.command("LRANGE", "list1", "0", "-1") == .array([]))
        #expect(try pusher.command("LRANGE", "list2", "0", "-1") == .array([]))
        #expect(try pusher.command("LRANGE", "list3", "0", "-1") == .array([Self.b("foo")]))
        // Circular: a -> b and b -> a; the element ends where the last move put it.
        try first.send(["BRPOPLPUSH", "a", "b", "0"])
        try second.send(["BRPOPLPUSH", "b", "a", "0"])
        try waitForBlocked(2, pusher)
        #expect(try pusher.command("RPUSH", "a", "foo") == .integer(1))
        #expect(try first.readReply() == Self.b("foo"))
        #expect(try second.readReply() == Self.b("foo"))
        #expect(try pusher.command("LRANGE", "a", "0", "-1") == .array([Self.b("foo")]))
        #expect(try pusher.command("LRANGE", "b", "0", "-1") == .array([]))
    }
}
