import Foundation
import Testing
import TestSupport

/// `dynamis-snapshot` end to end, against real redis-server and Dynamis processes.
enum SnapshotHelpers {
    /// Runs the tool to completion (killed after a minute) and returns its exit status and output.
    static func tool(_ arguments: [String], in directory: TemporaryDirectory) throws -> (status: Int32, output: String) {
        let log = directory.path + "/tool-\(UInt32.random(in: 0...UInt32.max)).log"
        let child = try ChildProcess(executable: DynamisBinary.builtBinary("dynamis-snapshot"), arguments: arguments, logPath: log)
        guard let status = child.waitForExit(seconds: 60) else {
            child.stop(signal: SIGKILL)
            throw TestClientError("dynamis-snapshot \(arguments) did not finish: \(child.log)")
        }
        return (status, child.log)
    }

    static func call(_ c: RESPTestClient, _ args: [[UInt8]]) throws -> RESPValue {
        try c.send(args)
        return try c.readReply()
    }

    static func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// Every type in small (compact) and large encodings, binary keys and values, TTLs, a
    /// long compressible string (LZF in Redis's RDB) and an integer set.
    static func fillEveryType(_ c: RESPTestClient) throws {
        var commands: [[[UInt8]]] = [
            [b("SET"), b("str"), b("hello")],
            [b("SET"), b("int"), b("12345")],
            [b("SET"), b("negint"), b("-7")],
            [b("SET"), b("bigint"), b("123456789012345")],
            [b("SET"), b("long"), [UInt8](repeating: UInt8(ascii: "x"), count: 5000)],
            [b("SET"), [0, 0xff, 0x0a, 0x80], [0xde, 0xad, 0, 0xbe, 0xef]],
            [b("SET"), b("ttl:str"), b("soon")],
            [b("PEXPIRE"), b("ttl:str"), b("600000")],
            [b("RPUSH"), b("list:small"), b("a"), b("b"), b("1"), b("300"), b("70000"), b("-5"), [0xff, 0]],
            [b("SADD"), b("set:int"), b("1"), b("2"), b("-100"), b("5000000000")],
            [b("SADD"), b("set:str"), b("a"), b("b"), [0x00, 0x01]],
            [b("HSET"), b("hash:small"), b("f1"), b("v1"), b("f2"), b("2"), [0xfe], [0xfd]],
            [b("ZADD"), b("zset:small"), b("1"), b("a"), b("2.5"), b("b"), b("-3"), b("c"), b("inf"), b("top")],
            [b("HSET"), b("ttl:hash"), b("f"), b("v")],
            [b("EXPIRE"), b("ttl:hash"), b("3600")],
        ]
        commands.append([b("RPUSH"), b("list:big")] + (0..<700).map { b("item\($0)") })
        commands.append([b("SADD"), b("set:big")] + (0..<700).map { b("m\($0)") })
        commands.append([b("HSET"), b("hash:big")] + (0..<700).flatMap { [b("f\($0)"), b("v\($0)")] })
        commands.append([b("ZADD"), b("zset:big")] + (0..<700).flatMap { [b("\($0).25"), b("z\($0)")] })
        commands.append([b("RPUSH"), b("list:wide"), [UInt8](repeating: 0x79, count: 10_000), b("short")])
        for command in commands {
            let reply = try call(c, command)
            if case .error(let e) = reply { throw TestClientError("\(command[0]) failed: \(e)") }
        }
    }

    /// Every key's type, value (collections in a canonical order) and absolute expiry.
    static func contents(_ c: RESPTestClient) throws -> [String: String] {
        var out: [String: String] = [:]
        var cursor = "0"
        repeat {
            guard case .array(let page?) = try c.command("SCAN", cursor, "COUNT", "100"),
                  case .bulk(let next?) = page[0], case .array(let keys?) = page[1] else { throw TestClientError("bad SCAN") }
            cursor = String(decoding: next, as: UTF8.self)
            for case .bulk(let key?) in keys {
                let type = try call(c, [b("TYPE"), key]).string ?? "?"
                let value: RESPValue
                switch type {
                case "string": value = try call(c, [b("GET"), key])
                case "list": value = try call(c, [b("LRANGE"), key, b("0"), b("-1")])
                case "set": value = sorted(try call(c, [b("SMEMBERS"), key]))
                case "hash": value = pairs(try call(c, [b("HGETALL"), key]))
                case "zset": value = try call(c, [b("ZRANGE"), key, b("0"), b("-1"), b("WITHSCORES")])
                default: value = .other(type)
                }
                let expiry = try call(c, [b("PEXPIRETIME"), key])
                out[key.map { String($0, radix: 16) }.joined(separator: ".")] = "\(type) \(expiry) \(value)"
            }
        } while cursor != "0"
        return out
    }

    private static func sorted(_ v: RESPValue) -> RESPValue {
        guard case .array(let items?) = v else { return v }
        return .array(items.sorted { $0.description < $1.description })
    }

    private static func pairs(_ v: RESPValue) -> RESPValue {
        guard case .array(let items?) = v else { return v }
        var p: [RESPValue] = []
        var i = 0
        while i + 1 < items.count {
            p.append(.array([items[i], items[i + 1]]))
            i += 2
        }
        return .array(p.sorted { $0.description < $1.description })
    }
}

@Suite("dynamis-snapshot", .serialized, .timeLimit(.minutes(3)))
struct SnapshotToolTests {
    typealias H = SnapshotHelpers

    @Test func rdbRoundTripThroughRedisServer() throws {
        let work = TemporaryDirectory("snapshot")
        let source = try RedisServer()
        let node = try DynamisProcess()
        var reloaded: RedisServer?
        defer { source.stop(); node.remove(); reloaded?.stop(); work.remove() }
        let redis = try RESPTestClient(port: source.port)
        try H.fillEveryType(redis)
        #expect(try redis.command("SAVE") == .simple("OK"))
        let expected = try H.contents(redis)
        #expect(expected.count == 18)

        let imported = try H.tool(["import", "--to", "127.0.0.1:\(node.port)", source.directory.path + "/dump.rdb"], in: work)
        #expect(imported.status == 0, "\(imported.output)")
        #expect(imported.output.contains("imported 18 keys"))
        #expect(try H.contents(node.client()) == expected)

        let out = work.path + "/out.rdb"
        let exported = try H.tool(["export", "--from", "127.0.0.1:\(node.port)", "--out", out], in: work)
        #expect(exported.status == 0, "\(exported.output)")
        #expect(exported.output.contains("exported 18 keys"))
        let check = try ChildProcess(executable: "/usr/bin/redis-check-rdb", arguments: [out], logPath: work.path + "/check.log")
        #expect(check.waitForExit(seconds: 30) == 0, "\(check.log)")

        reloaded = try RedisServer(loading: out)
        #expect(try H.contents(RESPTestClient(port: reloaded!.port)) == expected)
    }

    /// The value types built over strings and sorted sets (HyperLogLog sparse and dense, a
    /// bitmap of a megabit, a geo set) go Dynamis → RDB → redis-server → RDB → Dynamis and answer
    /// PFCOUNT, BITCOUNT and GEOSEARCH the same at every stop (issue 20).
    @Test func hllBitmapAndGeoRoundTripThroughRedisServer() throws {
        let work = TemporaryDirectory("snapshot")
        let node = try DynamisProcess()
        let second = try DynamisProcess()
        var redis: RedisServer?
        defer { node.remove(); second.remove(); redis?.stop(); work.remove() }
        let dynamis = try node.client()
        var fill: [[String]] = [["PFADD", "hll:sparse", "a", "b", "c"], ["PFADD", "hll:dense"] + (0..<3_000).map { "e\($0)" },
                                ["SETBIT", "bits", "1048575", "1"], ["SETBIT", "bits", "7", "1"], ["BITOP", "NOT", "inverted", "bits"]]
        var geoadd = ["GEOADD", "geo"]
        for i in 0..<200 {
            let longitude = 13 + Double(i % 20) * 0.05, latitude = 37 + Double(i / 20) * 0.05
            geoadd += [String(longitude), String(latitude), "p\(i)"]
        }
        fill.append(geoadd)
        for command in fill { _ = try dynamis.command(command) }
        let questions: [[String]] = [
            ["PFCOUNT", "hll:sparse"], ["PFCOUNT", "hll:dense"], ["PFCOUNT", "hll:sparse", "hll:dense"],
            ["BITCOUNT", "bits"], ["BITCOUNT", "inverted"], ["BITPOS", "bits", "1", "1"], ["STRLEN", "bits"],
            ["GEOSEARCH", "geo", "FROMLONLAT", "13.5", "37.2", "BYRADIUS", "30", "km", "ASC", "WITHDIST", "WITHCOORD", "WITHHASH"],
            ["GEOSEARCH", "geo", "FROMMEMBER", "p42", "BYBOX", "20", "10", "km", "DESC", "COUNT", "7"], ["GEODIST", "geo", "p0", "p199", "km"],
        ]
        func answers(_ c: RESPTestClient) throws -> [String] { try questions.map { "\(try c.command($0))" } }
        let expected = try answers(dynamis)
        #expect(!expected.contains { $0.hasPrefix("-") || $0 == "[]" || $0 == "(nil)" }, "\(expected)")

        let out = work.path + "/dynamis.rdb"
        let exported = try H.tool(["export", "--from", "127.0.0.1:\(node.port)", "--out", out], in: work)
        #expect(exported.status == 0, "\(exported.output)")
        redis = try RedisServer(loading: out)
        let fromRedis = try RESPTestClient(port: redis!.port)
        #expect(try answers(fromRedis) == expected)
        // PFADD in redis-server on the HLL Dynamis wrote must keep working (its encoding is Redis's).
        #expect(try fromRedis.command("PFADD", "hll:sparse", "a") == .integer(0))

        #expect(try fromRedis.command("SAVE") == .simple("OK"))
        let imported = try H.tool(["import", "--to", "127.0.0.1:\(second.port)", redis!.directory.path + "/dump.rdb"], in: work)
        #expect(imported.status == 0, "\(imported.output)")
        #expect(try answers(second.client()) == expected)
    }

    @Test func jsonLinesRoundTripFromRedisIntoDynamis() throws {
        let work = TemporaryDirectory("snapshot")
        let source = try RedisServer()
        let first = try DynamisProcess()
        let second = try DynamisProcess()
        defer { source.stop(); first.remove(); second.remove(); work.remove() }
        try H.fillEveryType(RESPTestClient(port: source.port))
        let expected = try H.contents(RESPTestClient(port: source.port))

        // Out of redis-server (its DUMP payloads use listpacks and intsets) as JSON Lines.
        let fromRedis = work.path + "/redis.jsonl"
        let a = try H.tool(["export", "--from", "127.0.0.1:\(source.port)", "--out", fromRedis], in: work)
        #expect(a.status == 0, "\(a.output)")
        let b = try H.tool(["import", "--to", "127.0.0.1:\(first.port)", fromRedis], in: work)
        #expect(b.status == 0, "\(b.output)")
        #expect(try H.contents(first.client()) == expected)

        // Dynamis → JSON Lines → another Dynamis.
        let fromDynamis = work.path + "/dynamis.jsonl"
        let c = try H.tool(["export", "--from", "127.0.0.1:\(first.port)", "--format", "jsonl", "--out", fromDynamis], in: work)
        #expect(c.status == 0, "\(c.output)")
        let lines = try String(contentsOfFile: fromDynamis, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 18)
        #expect(lines.contains { $0.contains(#""base64""#) })
        let d = try H.tool(["import", "--to", "127.0.0.1:\(second.port)", "--quiet", fromDynamis], in: work)
        #expect(d.status == 0, "\(d.output)")
        #expect(d.output.isEmpty)
        #expect(try H.contents(second.client()) == expected)
    }

    @Test func dumpFromRedisRestoresIntoDynamisAndBack() throws {
        let source = try RedisServer()
        let target = try RedisServer()
        let node = try DynamisProcess()
        defer { source.stop(); target.stop(); node.remove() }
        let redis = try RESPTestClient(port: source.port)
        let dynamis = try node.client()
        let back = try RESPTestClient(port: target.port)
        try H.fillEveryType(redis)
        let expected = try H.contents(redis)
        for key in try redisKeys(redis) {
            guard case .bulk(let payload?) = try H.call(redis, [H.b("DUMP"), key]),
                  case .integer(let at) = try H.call(redis, [H.b("PEXPIRETIME"), key]) else { throw TestClientError("DUMP failed") }
            let ttl = at > 0 ? H.b(String(at)) : H.b("0")
            #expect(try H.call(dynamis, [H.b("RESTORE"), key, ttl, payload, H.b("ABSTTL")]) == .simple("OK"))
        }
        #expect(try H.contents(dynamis) == expected)
        for key in try redisKeys(dynamis) {
            guard case .bulk(let payload?) = try H.call(dynamis, [H.b("DUMP"), key]),
                  case .integer(let at) = try H.call(dynamis, [H.b("PEXPIRETIME"), key]) else { throw TestClientError("DUMP failed") }
            let ttl = at > 0 ? H.b(String(at)) : H.b("0")
            #expect(try H.call(back, [H.b("RESTORE"), key, ttl, payload, H.b("ABSTTL")]) == .simple("OK"))
        }
        #expect(try H.contents(back) == expected)
    }

    @Test func restoreErrorsMatchRedis() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let c = try node.client()
        #expect(try c.command("SET", "k", "v") == .simple("OK"))
        guard case .bulk(var payload?) = try c.command("DUMP", "k") else { throw TestClientError("no DUMP") }
        #expect(try c.command("DUMP", "missing") == .bulk(nil))
        #expect(try H.call(c, [H.b("RESTORE"), H.b("k"), H.b("0"), payload]) == .error("BUSYKEY Target key name already exists."))
        #expect(try H.call(c, [H.b("RESTORE"), H.b("k2"), H.b("-1"), payload]) == .error("ERR Invalid TTL value, must be >= 0"))
        #expect(try H.call(c, [H.b("RESTORE"), H.b("k2"), H.b("0"), payload, H.b("BOGUS")]) == .error("ERR syntax error"))
        #expect(try H.call(c, [H.b("RESTORE"), H.b("k2"), H.b("0"), payload, H.b("FREQ"), H.b("300")])
                == .error("ERR Invalid FREQ value, must be >= 0 and <= 255"))
        #expect(try H.call(c, [H.b("RESTORE"), H.b("k2"), H.b("0"), payload, H.b("IDLETIME"), H.b("5"), H.b("FREQ"), H.b("3")]) == .simple("OK"))
        // An absolute TTL in the past stores nothing (REPLACE drops the old value).
        #expect(try H.call(c, [H.b("RESTORE"), H.b("k"), H.b("1000"), payload, H.b("ABSTTL"), H.b("REPLACE")]) == .simple("OK"))
        #expect(try c.command("EXISTS", "k") == .integer(0))
        payload[1] ^= 0x20
        #expect(try H.call(c, [H.b("RESTORE"), H.b("k3"), H.b("0"), payload]) == .error("ERR DUMP payload version or checksum are wrong"))
        #expect(try c.command("RESTORE", "k3", "0", "short") == .error("ERR DUMP payload version or checksum are wrong"))
        #expect(try c.command("EXISTS", "k3") == .integer(0))
        #expect(try c.command("PING") == .simple("PONG"))
    }

    @Test func corruptFilesImportNothingAndReRunsAreSafe() throws {
        let work = TemporaryDirectory("snapshot")
        let source = try RedisServer()
        let node = try DynamisProcess()
        defer { source.stop(); node.remove(); work.remove() }
        let redis = try RESPTestClient(port: source.port)
        try H.fillEveryType(redis)
        #expect(try redis.command("SAVE") == .simple("OK"))
        let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: source.directory.path + "/dump.rdb")))
        let c = try node.client()
        func attempt(_ bytes: [UInt8], _ name: String) throws -> (Int32, String) {
            let path = work.path + "/" + name
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return try H.tool(["import", "--to", "127.0.0.1:\(node.port)", path], in: work)
        }
        let truncated = try attempt(Array(good.prefix(good.count / 2)), "truncated.rdb")
        #expect(truncated.0 != 0)
        #expect(truncated.1.contains("corrupt RDB file") && truncated.1.contains("truncated"), "\(truncated.1)")
        var flipped = good
        flipped[good.count / 2] ^= 0x01
        let badCRC = try attempt(flipped, "crc.rdb")
        #expect(badCRC.0 != 0)
        #expect(badCRC.1.contains("checksum mismatch"), "\(badCRC.1)")
        let jsonl = "{\"key\":\"a\",\"type\":\"string\",\"value\":\"1\"}\n{\"key\":\"b\",\"type\":\"string\",\"value\":\"2\"}\n{\"key\":\"c\",\"type\":\"hash\",\"value\":[[\"f\"]]}\n"
        let badLine = try attempt(Array(jsonl.utf8), "bad.jsonl")
        #expect(badLine.0 != 0)
        #expect(badLine.1.contains("line 3"), "\(badLine.1)")
        #expect(try c.command("DBSIZE") == .integer(0))

        // A good import, then the same again: every key is skipped; with --replace, rewritten.
        let first = try attempt(good, "good.rdb")
        #expect(first.0 == 0, "\(first.1)")
        #expect(try c.command("SET", "str", "changed") == .simple("OK"))
        let again = try H.tool(["import", "--to", "127.0.0.1:\(node.port)", work.path + "/good.rdb"], in: work)
        #expect(again.0 == 0)
        #expect(again.1.contains("imported 0 keys") && again.1.contains("already present 18"), "\(again.1)")
        #expect(try c.command("GET", "str") == .bulk(H.b("changed")))
        let replaced = try H.tool(["import", "--to", "127.0.0.1:\(node.port)", "--replace", work.path + "/good.rdb"], in: work)
        #expect(replaced.0 == 0)
        #expect(try c.command("GET", "str") == .bulk(H.b("hello")))
        #expect(try H.contents(c) == H.contents(redis))
    }

    @Test func checkpointBackupRestoresAndExportsOffline() throws {
        let work = TemporaryDirectory("snapshot")
        // A hash tag in the config: offline mode must find the key hash the directory records.
        let tagged = ["hash_tag: \"{}\""]
        let node = try DynamisProcess(extraConfig: tagged)
        var restored: DynamisProcess?
        defer { node.remove(); restored?.remove(); work.remove() }
        let c = try node.client()
        try H.fillEveryType(c)
        let expected = try H.contents(c)
        let backup = work.path + "/backup"
        let made = try H.tool(["backup", "--admin", "127.0.0.1:\(node.adminPort)", "--dir", backup], in: work)
        #expect(made.status == 0, "\(made.output)")
        #expect(made.output.contains("\"checkpoint\""))
        let twice = try H.tool(["backup", "--admin", "127.0.0.1:\(node.adminPort)", "--dir", backup], in: work)
        #expect(twice.status != 0)
        #expect(twice.output.contains("already exists"))
        #expect(try c.command("SET", "after-backup", "x") == .simple("OK"))

        // Offline export of the checkpoint equals the node at backup time.
        let out = work.path + "/offline.jsonl"
        let offline = try H.tool(["export", "--data-dir", backup, "--out", out], in: work)
        #expect(offline.status == 0, "\(offline.output)")
        #expect(try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").count == 18)
        // A wrong hash given by hand is refused rather than misreading keys.
        let wrong = try H.tool(["export", "--data-dir", backup, "--hash-tag", "[]", "--out", work.path + "/wrong.rdb"], in: work)
        #expect(wrong.status != 0)
        #expect(wrong.output.contains("hash"))

        // Offline bulk load into a fresh directory, then a node started on it.
        let loaded = TemporaryDirectory("dynamis-node")
        let load = try H.tool(["import", "--data-dir", loaded.path + "/data", "--hash-tag", "{}", out], in: work)
        #expect(load.status == 0, "\(load.output)")
        restored = try DynamisProcess(extraConfig: tagged, directory: loaded)
        #expect(try H.contents(restored!.client()) == expected)

        // Restore = start a node on the checkpoint directory.
        restored?.remove()
        let fromBackup = TemporaryDirectory("dynamis-node")
        try FileManager.default.moveItem(atPath: backup, toPath: fromBackup.path + "/data")
        restored = try DynamisProcess(extraConfig: tagged, directory: fromBackup)
        #expect(try H.contents(restored!.client()) == expected)
    }

    private func redisKeys(_ c: RESPTestClient) throws -> [[UInt8]] {
        guard case .array(let keys?) = try c.command("KEYS", "*") else { return [] }
        return keys.compactMap { if case .bulk(let k?) = $0 { return k } else { return nil } }
    }
}
