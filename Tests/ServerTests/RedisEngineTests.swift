import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The Redis engine in front of a real redis-server.
@Suite(.timeLimit(.minutes(3)))
struct RedisEngineTests {
    /// Every family round-trips: the same commands to redis-server directly and through Dynamis
    /// (in front of another redis-server) give byte-identical replies, errors and arity
    /// checks included.
    /// In RESP3 too: clients that said HELLO 3 get redis-server's own RESP3 replies (maps,
    /// doubles, sets), through backend connections that said it as well.
    @Test(arguments: [false, true])
    func everyFamilyRoundTrips(resp3: Bool) throws {
        let harness = try DifferentialHarness(redisEngine: true, resp3: resp3)
        defer { harness.stop() }
        let script: [[String]] = [
            ["SET", "s", "v"], ["GET", "s"], ["INCR", "n"], ["MSET", "a", "1", "b", "2"], ["MGET", "a", "b", "zz"],
            ["APPEND", "s", "x"], ["GETRANGE", "s", "0", "0"], ["SETRANGE", "s", "1", "yy"], ["STRLEN", "s"],
            ["HSET", "h", "f1", "v1", "f2", "v2"], ["HGET", "h", "f1"], ["HMGET", "h", "f1", "nope"], ["HLEN", "h"],
            ["HGETALL", "h"], ["HINCRBY", "h", "c", "5"], ["HSTRLEN", "h", "f1"], ["HDEL", "h", "f2"], ["HEXISTS", "h", "f2"],
            ["LPUSH", "l", "a", "b", "c"], ["RPUSH", "l", "z"], ["LRANGE", "l", "0", "-1"], ["LINDEX", "l", "1"],
            ["LPOP", "l"], ["RPOP", "l", "2"], ["LLEN", "l"], ["LPOS", "l", "b"],
            ["SADD", "set", "x", "y", "z"], ["SCARD", "set"], ["SISMEMBER", "set", "x"], ["SMISMEMBER", "set", "x", "q"],
            ["SREM", "set", "y"], ["SINTERSTORE", "dst", "set", "set"], ["SCARD", "dst"],
            ["ZADD", "z", "1", "one", "2", "two", "3.5", "three"], ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
            ["ZSCORE", "z", "three"], ["ZRANK", "z", "two"], ["ZINCRBY", "z", "10", "one"], ["ZREVRANGE", "z", "0", "0"],
            ["ZRANGEBYSCORE", "z", "-inf", "(4"], ["ZCOUNT", "z", "0", "100"], ["ZREM", "z", "two"], ["ZCARD", "z"],
            ["PFADD", "hll", "a", "b", "c"], ["PFCOUNT", "hll"], ["SETBIT", "bits", "7", "1"], ["GETBIT", "bits", "7"],
            ["BITCOUNT", "bits"], ["GEOADD", "g", "13.361389", "38.115556", "Palermo"], ["GEOHASH", "g", "Palermo"],
            ["EVAL", "return redis.call('GET', KEYS[1])", "1", "s"], ["TYPE", "h"], ["EXPIRE", "s", "100"], ["TTL", "s"],
            ["UNLINK", "a", "b"], ["EXISTS", "a", "s"], ["RENAME", "n", "n2"], ["GET", "n2"],
            // Wrong types, arity errors and bad arguments come back exactly as Redis words them.
            ["HGET", "s", "f"], ["LPUSH", "h", "x"], ["ZADD", "z", "nan", "m"], ["HSET", "h", "f"], ["LRANGE", "l"],
            ["ZADD", "z"], ["SADD"], ["GET", "a", "b"], ["INCRBY", "s", "x"], ["NOSUCH", "x"],
        ]
        var differences: [String] = []
        for command in script {
            if let difference = try harness.compare(command.map { Array($0.utf8) }) { differences.append(difference) }
        }
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }

    @Test func pipelinedRequestsKeepTheirOrder() throws {
        let backend = try RedisServer()
        defer { backend.stop() }
        let node = try DynamisProcess.inFront(of: backend, extraConfig: ["datastore_connections: 2"])
        defer { node.remove() }
        let client = try node.client()
        var batch: [UInt8] = []
        for i in 0..<1000 {
            batch += RESPTestClient.encode([Array("SET".utf8), Array("k\(i)".utf8), Array("v\(i)".utf8)])
            batch += RESPTestClient.encode([Array("GET".utf8), Array("k\(i)".utf8)])
            batch += RESPTestClient.encode([Array("PING".utf8)])  // answered by Dynamis itself, in between
        }
        try client.sendRaw(batch)
        for i in 0..<1000 {
            #expect(try client.readReply() == .simple("OK"))
            #expect(try client.readReply() == .bulk(Array("v\(i)".utf8)))
            #expect(try client.readReply() == .simple("PONG"))
        }
        #expect(try RESPTestClient(port: backend.port).command("DBSIZE") == .integer(1000))
    }

    /// A backend killed mid-pipeline: the requests it answered succeeded, exactly the rest get a
    /// Storage error, nothing hangs, and service resumes by itself when the backend returns.
    @Test func backendDeathFailsOnlyInFlightRequestsAndServiceResumes() throws {
        let backend = try RedisServer()
        defer { backend.stop() }
        let node = try DynamisProcess.inFront(of: backend, extraConfig: ["server_retry_timeout: 500"])
        defer { node.remove() }
        let client = try node.client()
        #expect(try client.command("SET", "before", "1") == .simple("OK"))
        var batch: [UInt8] = []
        for i in 0..<20000 { batch += RESPTestClient.encode([Array("SET".utf8), Array("p\(i)".utf8), Array(repeating: 120, count: 100)]) }
        try client.sendRaw(batch)
        // Let the backend answer some, then kill it with the rest in flight.
        for _ in 0..<100 { #expect(try client.readReply() == .simple("OK")) }
        kill(backend.child.pid, SIGKILL)
        var ok = 100, errors = 0, outOfOrder = 0
        for _ in 100..<20000 {
            switch try client.readReply() {
            case .simple("OK"): if errors > 0 { outOfOrder += 1 } else { ok += 1 }
            case .error(let message) where message.hasPrefix("ERR Storage: "): errors += 1
            case let other: Issue.record("unexpected reply \(other)")
            }
        }
        print("backend killed mid-pipeline: \(ok) answered, \(errors) failed")
        #expect(ok + errors == 20000)
        #expect(errors > 0)  // the kill did land mid-pipeline
        #expect(outOfOrder == 0)  // successes form a prefix: only requests in flight at the kill failed
        #expect(try client.command("GET", "before") == .error("ERR Storage: Datastore refused connection"))
        // Each failure counted once, by the cause the engine gave it (not read off the reply).
        #expect(try metricSample(adminPort: node.adminPort, "dynamis_client_errors_total{cause=\"storage\"}") == Double(errors + 1))
        #expect(try metricSample(adminPort: node.adminPort, "dynamis_client_errors_total{cause=\"peer\"}") == 0)
        try backend.restart()
        var recovered = false
        for _ in 0..<100 where !recovered {
            if try client.command("SET", "after", "2") == .simple("OK") { recovered = true } else { usleep(100_000) }
        }
        #expect(recovered)
        #expect(try client.command("GET", "after") == .bulk(Array("2".utf8)))
    }

    /// A backend that stops answering (SIGSTOP): requests fail with a timeout error after
    /// `timeout`, the client connection stays open, and order is kept when it resumes.
    @Test func frozenBackendTimesOutWithoutHanging() throws {
        let backend = try RedisServer()
        defer { backend.stop() }
        let node = try DynamisProcess.inFront(of: backend, extraConfig: ["timeout: 300"])
        defer { node.remove() }
        let client = try node.client()
        #expect(try client.command("SET", "k", "1") == .simple("OK"))
        kill(backend.child.pid, SIGSTOP)
        waitUntilStopped(backend.child.pid)
        let started = Date()
        #expect(try client.command("GET", "k") == .error("ERR Storage: Datastore timed out"))
        #expect(try client.command("SET", "k", "2") == .error("ERR Storage: Datastore timed out"))
        #expect(Date().timeIntervalSince(started) < 5)
        kill(backend.child.pid, SIGCONT)
        // The late replies to the timed-out requests are dropped in their turn; the next ones line up.
        #expect(try client.command("SET", "k", "3") == .simple("OK"))
        #expect(try client.command("GET", "k") == .bulk(Array("3".utf8)))
    }

    @Test func refusedCommandsKeepTheConnectionOpen() throws {
        let backend = try RedisServer()
        defer { backend.stop() }
        let node = try DynamisProcess.inFront(of: backend)
        defer { node.remove() }
        let client = try node.client()
        for command in [["SUBSCRIBE", "c"], ["MONITOR"], ["BLPOP", "l", "0"], ["MULTI"], ["SHUTDOWN"]] {
            guard case .error(let message) = try client.command(command) else { Issue.record("\(command)"); continue }
            #expect(message.hasPrefix("ERR '\(command[0].lowercased())' is not supported by Dynamis"))
        }
        #expect(try client.command("SELECT", "1") == .error("ERR DB index is out of range"))
        #expect(try client.command("PING") == .simple("PONG"))
    }

    /// A backend with a password: Dynamis authenticates its own connections.
    @Test func authenticatesToThePasswordProtectedBackend() throws {
        let backend = try RedisServer()
        defer { backend.stop() }
        #expect(try RESPTestClient(port: backend.port).command("CONFIG", "SET", "requirepass", "s3cret") == .simple("OK"))
        let node = try DynamisProcess.inFront(of: backend, extraConfig: ["datastore_password: s3cret"])
        defer { node.remove() }
        let client = try node.client()
        #expect(try client.command("SET", "a", "1") == .simple("OK"))
        #expect(try client.command("GET", "a") == .bulk(Array("1".utf8)))
    }
}
