import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// MULTI/EXEC/DISCARD/WATCH/UNWATCH on the RocksDB engine.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct TransactionTests {
    static let script: [[String]] = [
        ["EXEC"], ["DISCARD"], ["UNWATCH"], ["WATCH"], ["MULTI"], ["MULTI"], ["SET", "a", "1"], ["WATCH", "a"], ["INCR", "a"],
        ["INCR", "a"], ["LPUSH", "a", "x"], ["GET", "a"], ["PING"], ["ECHO", "hi"], ["EXEC"],
        // Queue-time errors abort the whole transaction.
        ["MULTI"], ["SET", "a"], ["NOPE"], ["SET", "a", "2"], ["EXEC"], ["GET", "a"], ["MULTI"], ["SET", "a", "3"], ["EXEC", "now"], ["EXEC"], ["GET", "a"], ["WATCH", "a"], ["EXEC", "x"], ["MULTI"], ["SET", "a", "4"], ["EXEC"], ["GET", "a"],
        ["MULTI"], ["SET", "b", "1"], ["DISCARD"], ["EXEC"], ["GET", "b"], ["MULTI"], ["EXEC"],
        // Blocking pops never block inside MULTI.
        ["MULTI"], ["BLPOP", "q", "0"], ["RPUSH", "q", "v"], ["BLPOP", "q", "0"], ["LLEN", "q"], ["EXEC"],
        // ... and an empty source answers each form's own null (BLMOVE's is a null bulk string).
        ["MULTI"], ["BLMOVE", "none", "d", "LEFT", "RIGHT", "0"], ["BRPOPLPUSH", "none", "d", "0"], ["BRPOP", "none", "0"],
        ["BZPOPMIN", "none", "0"], ["BZPOPMAX", "none", "0"], ["BLMPOP", "0", "1", "none", "LEFT"], ["BZMPOP", "0", "1", "none", "MIN"],
        ["RPUSH", "src", "a"], ["BRPOPLPUSH", "src", "d", "0"], ["ZADD", "zz", "1", "m"], ["BZPOPMAX", "zz", "0"], ["EXEC"],
        // WATCH: the client's own write breaks it; a key nobody wrote does not.
        ["WATCH", "w"], ["SET", "w", "changed"], ["MULTI"], ["SET", "x", "1"], ["EXEC"], ["GET", "x"],
        ["WATCH", "w2"], ["MULTI"], ["SET", "x", "2"], ["EXEC"], ["GET", "x"],
        ["WATCH", "w"], ["UNWATCH"], ["SET", "w", "again"], ["MULTI"], ["SET", "x", "3"], ["EXEC"], ["GET", "x"],
        ["WATCH", "w"], ["MULTI"], ["UNWATCH"], ["SET", "w", "inside"], ["EXEC"], ["GET", "w"],
        // Every type inside one transaction, reading its own writes; runtime errors stay in the array.
        ["MULTI"], ["HSET", "h", "f", "v"], ["HGETALL", "h"], ["SADD", "s", "m"], ["SMEMBERS", "s"], ["ZADD", "z", "1", "m"],
        ["ZRANGE", "z", "0", "-1", "WITHSCORES"], ["INCR", "h"], ["DEL", "h"], ["EXISTS", "h"], ["RPUSH", "l", "1", "2"],
        ["LRANGE", "l", "0", "-1"], ["SORT", "l", "DESC"], ["EXEC"], ["EXISTS", "h", "s", "z", "l"],
        ["MULTI"], ["FLUSHALL"], ["SET", "after", "1"], ["DBSIZE"], ["EXEC"], ["MULTI"], ["SET", "before", "1"], ["FLUSHALL"],
        ["EXISTS", "before", "after"], ["EXEC"], ["DBSIZE"],
    ]

    @Test func scriptedTransactionsMatchRedis() throws {
        let harness = try DifferentialHarness()
        defer { harness.stop() }
        let differences = try harness.run(script: Self.script)
        #expect(differences.isEmpty, "\(differences.count) differences:\n\(differences.joined(separator: "\n"))")
    }

    @Test func anotherClientsWriteBreaksTheWatch() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let a = try node.client(), b = try node.client()
        #expect(try a.command("SET", "balance", "10") == .simple("OK"))
        #expect(try a.command("WATCH", "balance") == .simple("OK"))
        #expect(try b.command("INCRBY", "balance", "5") == .integer(15))
        #expect(try a.command("MULTI") == .simple("OK"))
        #expect(try a.command("SET", "balance", "0") == .simple("QUEUED"))
        #expect(try a.command("EXEC") == .array(nil))
        #expect(try a.command("GET", "balance") == .bulk(Array("15".utf8)))
        // A write to another key leaves the watch intact.
        #expect(try a.command("WATCH", "balance") == .simple("OK"))
        #expect(try b.command("SET", "unrelated", "1") == .simple("OK"))
        #expect(try a.command("MULTI") == .simple("OK"))
        #expect(try a.command("DECRBY", "balance", "15") == .simple("QUEUED"))
        #expect(try a.command("EXEC") == .array([.integer(0)]))
        // A watched key that expires breaks the watch too (Redis 7.0).
        #expect(try a.command("SET", "lease", "x", "PX", "100") == .simple("OK"))
        #expect(try a.command("WATCH", "lease") == .simple("OK"))
        usleep(250_000)
        #expect(try a.command("MULTI") == .simple("OK"))
        #expect(try a.command("SET", "y", "1") == .simple("QUEUED"))
        #expect(try a.command("EXEC") == .array(nil))
    }

    /// Other clients never see half a transaction, and writes from another event loop to the
    /// same keys are never lost between a transaction's commands.
    @Test func transactionsAreAtomicToOtherClients() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let port = node.port
        let rounds = 300
        let writer = Thread {
            guard let c = try? RESPTestClient(port: port) else { return }
            for _ in 0..<rounds {
                _ = try? c.command("MULTI")
                _ = try? c.command("INCR", "x")
                _ = try? c.command("INCR", "y")
                _ = try? c.command("EXEC")
            }
        }
        writer.start()
        let reader = try node.client()
        let other = try node.client()
        var torn = 0
        var seen = 0
        while seen < rounds * 2 {
            guard case .array(let values?) = try reader.command("MGET", "x", "y") else { break }
            if values[0] != values[1] { torn += 1 }
            if case .bulk(let x?) = values[0], Int(String(decoding: x, as: UTF8.self)) == rounds { break }
            _ = try other.command("INCR", "z")
            seen += 1
        }
        for _ in 0..<200 where (try reader.command("GET", "x")) != .bulk(Array(String(rounds).utf8)) { usleep(10_000) }
        #expect(torn == 0, "a reader saw x and y differ \(torn) times")
        #expect(try reader.command("MGET", "x", "y") == .array([.bulk(Array(String(rounds).utf8)), .bulk(Array(String(rounds).utf8))]))
    }

    @Test func forwardingEnginesRefuseTransactions() throws {
        let backend = try RedisServer()
        let node = try DynamisProcess.inFront(of: backend)
        defer { node.remove(); backend.stop() }
        let c = try node.client()
        guard case .error(let e) = try c.command("MULTI") else { Issue.record("MULTI accepted"); return }
        #expect(e.hasPrefix("ERR 'multi' is not supported by Dynamis"))
        #expect(try c.command("EXEC") == .error("ERR EXEC without MULTI"))
        guard case .error = try c.command("WATCH", "k") else { Issue.record("WATCH accepted"); return }
        #expect(try c.command("PING") == .simple("PONG"))
    }
}
