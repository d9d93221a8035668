import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The real `dynamis` binary, driven as an operator would.
@Suite(.timeLimit(.minutes(3)))
struct NodeProcessTests {
    func redisCLI(_ port: Int, _ args: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-cli")
        process.arguments = ["-p", "\(port)"] + args
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        process.waitUntilExit()
        return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A test's write to a node it killed fails with an error instead of killing the test
    /// process with SIGPIPE (TestSupport ignores the signal before any socket exists).
    @Test func aWriteToAKilledNodeFailsWithoutKillingTheTests() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let client = try node.client()
        #expect(try client.command("PING") == .simple("PONG"))
        _ = node.stop(signal: SIGKILL)
        var failed = false
        for _ in 0..<100 where !failed {
            do { try client.sendRaw(Array("PING\r\n".utf8)) } catch { failed = true }
            usleep(10_000)
        }
        #expect(failed, "writes to a closed connection never failed")
    }

    @Test func redisCLIWorks() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        #expect(try redisCLI(node.port, ["PING"]) == "PONG")
        #expect(try redisCLI(node.port, ["SET", "greeting", "hello world"]) == "OK")
        #expect(try redisCLI(node.port, ["GET", "greeting"]) == "hello world")
        #expect(try redisCLI(node.port, ["INCRBY", "counter", "41"]) == "41")
        #expect(try redisCLI(node.port, ["DBSIZE"]) == "2")
        #expect(try redisCLI(node.port, ["INFO", "keyspace"]).contains("db0:keys=2,expires=0"))
        #expect(try redisCLI(node.port, ["NOPE"]).hasPrefix("ERR unknown command 'NOPE'"))
    }

    @Test func rawSocketInlineAndPipelined() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let client = try node.client()
        try client.sendRaw(Array("PING\r\nSET k \"two words\"\r\nGET k\r\n".utf8))
        #expect(try client.readReply() == .simple("PONG"))
        #expect(try client.readReply() == .simple("OK"))
        #expect(try client.readReply() == .bulk(Array("two words".utf8)))
        // A 1,000-command pipeline in one write: replies come back complete and in order.
        var batch: [UInt8] = []
        for i in 0..<1000 { batch += RESPTestClient.encode([Array("SET".utf8), Array("p\(i)".utf8), Array("v\(i)".utf8)]) }
        for i in 0..<1000 { batch += RESPTestClient.encode([Array("GET".utf8), Array("p\(i)".utf8)]) }
        try client.sendRaw(batch)
        for _ in 0..<1000 { #expect(try client.readReply() == .simple("OK")) }
        for i in 0..<1000 { #expect(try client.readReply() == .bulk(Array("v\(i)".utf8))) }
    }

    @Test func protocolErrorClosesOnlyThatConnection() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let healthy = try node.client()
        #expect(try healthy.command("SET", "a", "1") == .simple("OK"))
        let bad = try node.client()
        try bad.sendRaw(Array("*1\r\n$999999999999\r\n".utf8))
        #expect(try bad.readReply() == .error("ERR Protocol error: invalid bulk length"))
        #expect(bad.isClosedByPeer())
        let garbage = try node.client()
        try garbage.sendRaw(Array("*2\r\n$3\r\nGET\r\n:oops\r\n".utf8))
        #expect(try garbage.readReply() == .error("ERR Protocol error: expected '$', got ':'"))
        // Unknown commands and arity errors keep the connection open.
        #expect(try healthy.command("FOO", "bar") == .error("ERR unknown command 'FOO', with args beginning with: 'bar' "))
        #expect(try healthy.command("GET") == .error("ERR wrong number of arguments for 'get' command"))
        #expect(try healthy.command("GET", "a") == .bulk(Array("1".utf8)))
    }

    @Test func quitClosesAfterReplying() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let client = try node.client()
        #expect(try client.command("QUIT") == .simple("OK"))
        #expect(client.isClosedByPeer())
    }

    @Test func restartKeepsEveryWrite() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let client = try node.client()
        for i in 0..<500 { try client.send(["SET", "r\(i)", "value-\(i)"]) }
        for _ in 0..<500 { #expect(try client.readReply() == .simple("OK")) }
        #expect(try client.command("SET", "ttl", "x", "EX", "1000") == .simple("OK"))
        #expect(node.stop(signal: SIGTERM) == 0)
        try node.restart()
        let after = try node.client()
        for i in stride(from: 0, to: 500, by: 7) { #expect(try after.command("GET", "r\(i)") == .bulk(Array("value-\(i)".utf8))) }
        #expect(try after.command("DBSIZE") == .integer(501))
        guard case .integer(let ttl) = try after.command("TTL", "ttl") else { Issue.record("no TTL"); return }
        #expect(ttl > 990 && ttl <= 1000)
    }

    /// Every write acknowledged before a `kill -9` is there after restart: replies go out only
    /// after the burst's writes reached the WAL.
    @Test(arguments: ["everysec", "no"])
    func killDashNineLosesNoAcknowledgedWrite(fsync: String) throws {
        let node = try DynamisProcess(extraConfig: ["fsync: \(fsync)"])
        defer { node.remove() }
        let client = try node.client()
        var acknowledged = 0
        for round in 0..<20 {
            var batch: [UInt8] = []
            for j in 0..<100 {
                let i = round * 100 + j
                batch += RESPTestClient.encode([Array("SET".utf8), Array("k\(i)".utf8), Array("v\(i)".utf8)])
            }
            batch += RESPTestClient.encode([Array("INCR".utf8), Array("acks".utf8)])
            try client.sendRaw(batch)
            for _ in 0..<100 { #expect(try client.readReply() == .simple("OK")) }
            #expect(try client.readReply() == .integer(round + 1))
            acknowledged = (round + 1) * 100
        }
        _ = node.stop(signal: SIGKILL)
        try node.restart()
        let after = try node.client()
        var missing = 0
        for i in 0..<acknowledged where try after.command("GET", "k\(i)") != .bulk(Array("v\(i)".utf8)) { missing += 1 }
        #expect(missing == 0)
        #expect(try after.command("GET", "acks") == .bulk(Array("20".utf8)))
    }

    /// SIGTERM in the middle of a pipelined write load: the node exits 0 promptly, and every
    /// write it acknowledged is there after a restart.
    @Test func sigtermDuringWriteLoadKeepsAcknowledgedWrites() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let port = node.port
        let writer = try RESPTestClient(port: port)
        var batch: [UInt8] = []
        for i in 0..<50_000 { batch += RESPTestClient.encode([Array("SET".utf8), Array("t\(i)".utf8), Array("v\(i)".utf8)]) }
        try writer.sendRaw(batch)
        // Read some acknowledgements, then stop the node while the rest are in flight.
        var acknowledged = 0
        for _ in 0..<2000 where try writer.readReply() == .simple("OK") { acknowledged += 1 }
        kill(node.child.pid, SIGTERM)
        while let reply = try? writer.readReply(), reply == .simple("OK") { acknowledged += 1 }
        #expect(node.child.waitForExit(seconds: 15) == 0)
        try node.restart()
        let reader = try node.client()
        var missing = 0
        for i in 0..<acknowledged where try reader.command("GET", "t\(i)") != .bulk(Array("v\(i)".utf8)) { missing += 1 }
        #expect(missing == 0, "\(missing) of \(acknowledged) acknowledged writes missing")
        #expect(acknowledged >= 2000)
    }

    /// Read-modify-write commands from many connections (spread over the event loops) never
    /// lose an update.
    @Test func concurrentIncrementsAreExact() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let port = node.port
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            do {
                let client = try RESPTestClient(port: port)
                for _ in 0..<20 {
                    var batch: [UInt8] = []
                    for _ in 0..<50 {
                        batch += RESPTestClient.encode([Array("INCR".utf8), Array("hits".utf8)])
                        batch += RESPTestClient.encode([Array("SET".utf8), Array("w\(worker)".utf8), Array("x".utf8)])
                        batch += RESPTestClient.encode([Array("APPEND".utf8), Array("log".utf8), Array("ab".utf8)])
                    }
                    try client.sendRaw(batch)
                    for _ in 0..<150 { _ = try client.readRawReply() }
                }
            } catch {
                failures.add("\(error)")
            }
        }
        #expect(failures.all.isEmpty)
        let client = try node.client()
        #expect(try client.command("GET", "hits") == .bulk(Array("8000".utf8)))
        #expect(try client.command("STRLEN", "log") == .integer(16000))
    }

    @Test func badConfigExitsNonZeroNamingTheKey() throws {
        let directory = TemporaryDirectory("config")
        defer { directory.remove() }
        let cases: [(String, String)] = [
            ("dyn_o_mite:\n  listen: 127.0.0.1:1\n  hash: sha1\n", "key 'hash': value 'sha1' is not valid"),
            ("dyn_o_mite:\n  listen: 127.0.0.1:1\n  colour: blue\n", "key 'colour': is not a known setting"),
            ("dyn_o_mite:\n  listen: 127.0.0.1:1\n  tokens: 5468952198\n", "key 'tokens': value '5468952198' is not valid"),
            ("dyn_o_mite:\n  listen: nowhere\n", "key 'listen': value 'nowhere' is not valid"),
            ("dyn_o_mite:\n  servers:\n  - 127.0.0.1:22122:1\n", "key 'listen': is required"),
            ("dyn_o_mite:\n  listen: 127.0.0.1:1\n  data_store: 7\n", "key 'data_store': value '7' is not valid"),
            ("dyn_o_mite:\n  listen: 127.0.0.1:1\n  data_store: 0\n", "key 'servers': is required"),
            ("dyn_o_mite:\n  listen: 127.0.0.1:1\n  data_store: 1\n  servers:\n  - 127.0.0.1:1:1\n  - 127.0.0.1:2:1\n",
             "key 'servers': must have exactly one entry (the local memcached), as in Dynomite"),
            ("dyn_o_mite:\n  listen: 127.0.0.1:1\n  data_store: 0\n  servers:\n  - 127.0.0.1\n", "key 'servers': entry '127.0.0.1' must be host:port:weight [name]"),
            ("dyn_o_mite:\n  listen: 127.0.0.1:1\n  preconnect: yes\n", "key 'preconnect': value 'yes' is not valid; allowed: true, false"),
            ("dyn_o_mite:\n  listen: 127.0.0.1:1\n  read_consistency: ALL\n", "key 'read_consistency': value 'ALL' is not valid"),
            ("dyn_o_mite:\n  listen: 127.0.0.1:1\n  hash: murmur3\n", "murmur3' is not offered"),
            ("dyn_o_mite:\n  listen: 127.0.0.1:1\n  fsync: sometimes\n", "key 'fsync': value 'sometimes' is not valid; allowed: no, everysec, always"),
            ("dyn_o_mite:\n  listen: 127.0.0.1:1\n  listen: 127.0.0.1:2\n", "key 'listen': appears twice"),
            ("a: 1\nb: 2\n", "the root must be a single pool name"),
            ("dyn_o_mite:\n  listen: 127.0.0.1:1\n  dyn_seeds:\n  - 127.0.0.1:8101:r1:dc1:0\n", "key 'dyn_listen': a node with dyn_seeds needs dyn_listen"),
            ("dyn_o_mite:\n  listen: 127.0.0.1:1\n  dyn_seed_provider: florida_provider\n", "key 'dyn_listen': florida_provider needs dyn_listen"),
            ("dyn_o_mite:\n  listen: 127.0.0.1:1\n  seeds_check_interval: 5\n", "key 'seeds_check_interval'"),
            ("dyn_o_mite:\n  listen: 127.0.0.1:1\n  dyn_listen: 127.0.0.1:8101\n  rack: r1\n  datacenter: dc1\n  tokens: '5'\n  dyn_seeds:\n  - 127.0.0.1:8102:r1:dc1:5\n",
             "share token 5; tokens in a rack must differ"),
            ("dyn_o_mite:\n  listen: 127.0.0.1:1\n  dyn_listen: 127.0.0.1:8101\n  dyn_seeds:\n  - 127.0.0.1:8102:r1:dc1\n", "must be host:port:rack:dc:token"),
        ]
        for (index, (yaml, message)) in cases.enumerated() {
            let path = directory.path + "/bad\(index).yml"
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
            for flags in [["-t", "-c", path], ["-c", path]] {
                let child = try ChildProcess(executable: DynamisBinary.path, arguments: flags, logPath: directory.path + "/log\(index)")
                let status = child.waitForExit(seconds: 20)
                #expect(status == 1, "\(flags) \(yaml)")
                #expect(child.log.contains(message), "expected '\(message)' in: \(child.log)")
            }
        }
        // A Dynomite-style config with deprecated keys loads, with warnings.
        let good = directory.path + "/good.yml"
        try "dyn_o_mite:\n  listen: 0.0.0.0:8102\n  tokens: '101134286'\n  distribution: ketama\n  mbuf_size: 16384\n"
            .write(toFile: good, atomically: true, encoding: .utf8)
        let check = try ChildProcess(executable: DynamisBinary.path, arguments: ["-t", "-c", good], logPath: directory.path + "/good.log")
        #expect(check.waitForExit(seconds: 20) == 0)
        #expect(check.log.contains("syntax is ok"))
        #expect(check.log.contains("warning: key 'distribution' is deprecated"))
    }

    /// Every example config shipped in conf/ passes `dynamis -t`.
    @Test func shippedConfigsAreValid() throws {
        let conf = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("conf")
        let files = try FileManager.default.contentsOfDirectory(atPath: conf.path).filter { $0.hasSuffix(".yml") }
        #expect(!files.isEmpty)
        let directory = TemporaryDirectory("conf-check")
        defer { directory.remove() }
        for file in files {
            let child = try ChildProcess(executable: DynamisBinary.path, arguments: ["-t", "-c", conf.appendingPathComponent(file).path],
                                         logPath: directory.path + "/\(file).log")
            #expect(child.waitForExit(seconds: 20) == 0, "\(file): \(child.log)")
        }
    }

    /// A data directory written with one key hash refuses to open with another: every stored
    /// key's token prefix would be wrong.
    @Test func changingTheHashOfExistingDataIsRefused() throws {
        let node = try DynamisProcess(extraConfig: ["hash: murmur"])
        defer { node.remove() }
        #expect(try node.client().command("SET", "a", "1") == .simple("OK"))
        #expect(node.stop() == 0)
        let config = try String(contentsOfFile: node.configPath, encoding: .utf8)
        try config.replacingOccurrences(of: "hash: murmur", with: "hash: crc32a")
            .write(toFile: node.configPath, atomically: true, encoding: .utf8)
        let child = try ChildProcess(executable: DynamisBinary.path, arguments: ["-c", node.configPath],
                                     logPath: node.directory.path + "/second.log")
        #expect(child.waitForExit(seconds: 20) == 1)
        #expect(child.log.contains("was written with key hash 'murmur'"))
    }

    @Test func helloSwitchesToRESP3AndClientCommandsWork() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let client = try node.client()
        try client.send(["HELLO", "3"])
        let hello = try client.readRawReply()
        #expect(hello.starts(with: Array("%7\r\n".utf8)))
        #expect(try client.rawCommand([Array("GET".utf8), Array("missing".utf8)]) == Array("_\r\n".utf8))
        #expect(try client.command("HELLO", "4") == .error("NOPROTO unsupported protocol version"))
        #expect(try client.command("CLIENT", "SETNAME", "worker-1") == .simple("OK"))
        #expect(try client.command("CLIENT", "GETNAME") == .bulk(Array("worker-1".utf8)))
        #expect(try client.command("CLIENT", "SETNAME", "has space") == .error("ERR Client names cannot contain spaces, newlines or special characters."))
        #expect(try client.command("CLIENT", "SETINFO", "lib-name", "redis-py") == .simple("OK"))
        #expect(try client.command("CLIENT", "NOPE") == .error("ERR unknown subcommand 'NOPE'. Try CLIENT HELP."))
        #expect(try client.command("SELECT", "3") == .error("ERR DB index is out of range"))
        guard case .integer(let count) = try client.command("COMMAND", "COUNT") else { Issue.record("COMMAND COUNT"); return }
        #expect(count > 40)
        guard case .array(let time?) = try client.command("TIME") else { Issue.record("TIME"); return }
        #expect(time.count == 2)
    }
}

/// Collects failures from concurrent workers.
final class Failures: @unchecked Sendable {  // guarded by its lock
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ s: String) { lock.lock(); items.append(s); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return items }

    /// CLIENT KILL by id and by address, CLIENT UNBLOCK with TIMEOUT and ERROR, and CLIENT PAUSE
    /// WRITE holding a write (not a read) until CLIENT UNPAUSE.
    @Test func clientKillUnblockAndPause() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let admin = try node.client()
        let victim = try node.client()
        guard case .integer(let victimID) = try victim.command("CLIENT", "ID") else { Issue.record("CLIENT ID"); return }
        #expect(try admin.command("CLIENT", "KILL", "ID", String(victimID)) == .integer(1))
        #expect(victim.isClosedByPeer())
        #expect(try admin.command("CLIENT", "KILL", "ID", String(victimID)) == .integer(0))
        // By address, in the old form; and SKIPME: a client does not kill itself unless asked.
        let other = try node.client()
        guard case .bulk(let info?) = try other.command("CLIENT", "INFO"),
              let addr = String(decoding: info, as: UTF8.self).split(separator: " ").first(where: { $0.hasPrefix("addr=") })?.dropFirst(5) else {
            Issue.record("CLIENT INFO")
            return
        }
        #expect(try admin.command("CLIENT", "KILL", String(addr)) == .simple("OK"))
        #expect(other.isClosedByPeer())
        guard case .integer(let adminID) = try admin.command("CLIENT", "ID") else { return }
        #expect(try admin.command("CLIENT", "KILL", "ID", String(adminID)) == .integer(0))
        // UNBLOCK: as a timeout (nil), then with the UNBLOCKED error.
        let blocked = try node.client()
        guard case .integer(let blockedID) = try blocked.command("CLIENT", "ID") else { return }
        try blocked.send(["BLPOP", "never", "0"])
        try ClusterTestSupport.eventually("the client blocks") { try admin.command("CLIENT", "UNBLOCK", String(blockedID)) == .integer(1) }
        #expect(try blocked.readReply() == .array(nil))
        try blocked.send(["BLPOP", "never", "0"])
        try ClusterTestSupport.eventually("the client blocks again") { try admin.command("CLIENT", "UNBLOCK", String(blockedID), "ERROR") == .integer(1) }
        #expect(try blocked.readReply() == .error("UNBLOCKED client unblocked via CLIENT UNBLOCK"))
        #expect(try admin.command("CLIENT", "UNBLOCK", String(blockedID)) == .integer(0))
        // PAUSE WRITE: reads go on, a write waits until UNPAUSE.
        #expect(try admin.command("CLIENT", "PAUSE", "60000", "WRITE") == .simple("OK"))
        let writer = try node.client()
        #expect(try writer.command("GET", "held") == .bulk(nil))
        try writer.send(["SET", "held", "v"])
        usleep(300_000)  // the write would have landed by now if it were not held
        #expect(try admin.command("GET", "held") == .bulk(nil))
        #expect(try admin.command("CLIENT", "UNPAUSE") == .simple("OK"))
        #expect(try writer.readReply() == .simple("OK"))
        #expect(try admin.command("GET", "held") == .bulk(Array("v".utf8)))
    }
}
