import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The Memcached engine in front of a real memcached.
@Suite(.timeLimit(.minutes(3)))
struct MemcachedEngineTests {

    /// A client of a fresh memcached, and one of a node in front of a second, equally fresh one.
    static func directAndThroughNode() throws -> (MemcachedTestClient, MemcachedTestClient, stop: () -> Void) {
        let direct = try MemcachedServer()
        let backend: MemcachedServer
        do { backend = try MemcachedServer() } catch { direct.stop(); throw error }
        let node: DynamisProcess
        do { node = try DynamisProcess.inFront(ofMemcached: backend) } catch { backend.stop(); direct.stop(); throw error }
        let stop = { node.remove(); backend.stop(); direct.stop() }
        do {
            return (try MemcachedTestClient(port: direct.port), try MemcachedTestClient(port: node.port), stop)
        } catch {
            stop()
            throw error
        }
    }

    /// The same requests to memcached directly and through Dynamis (in front of a second,
    /// equally fresh memcached) give byte-identical responses, errors included.
    @Test func responsesMatchMemcached() throws {
        let (a, b, stop) = try Self.directAndThroughNode()
        defer { stop() }
        let value = Array(0...255).map { UInt8($0) } + Array("\r\nEND\r\n".utf8)
        let requests: [[UInt8]] = [
            "set foo 5 0 3\r\nbar\r\n", "get foo", "gets foo", "add foo 0 0 1\r\nx\r\n", "add new 0 0 1\r\nx\r\n",
            "replace missing 0 0 1\r\nx\r\n", "replace foo 7 0 3\r\nbaz\r\n", "append foo 0 0 2\r\n!!\r\n",
            "prepend foo 0 0 2\r\n<<\r\n", "get foo new missing", "gets foo new",
            "cas foo 0 0 1 999\r\nq\r\n", "cas missing 0 0 1 1\r\nq\r\n",
            "set n 0 0 2\r\n10\r\n", "incr n 5", "decr n 100", "incr n 18446744073709551615", "incr foo 1", "incr nokey 1",
            "decr n x", "touch n 100", "touch nokey 100", "gat 100 n foo", "gats 100 n", "delete foo", "delete foo",
            "delete n 0", "delete n 5", "get", "set k 0 0\r\n", "set k abc 0 1\r\nx\r\n", "bogus", "",
            "get " + String(repeating: "k", count: 251), "set " + String(repeating: "k", count: 251) + " 0 0 1\r\nx\r\n",
            "set chunk 0 0 2\r\nabcd\r\n", "set huge 0 0 2000000\r\n" + String(repeating: "h", count: 2_000_000) + "\r\n",
            "version", "verbosity 1",
        ].map { (text: String) -> [UInt8] in Array((text.hasSuffix("\r\n") ? text : text + "\r\n").utf8) }
            + [Array("set bin 1 0 \(value.count)\r\n".utf8) + value + Array("\r\n".utf8), Array("get bin\r\n".utf8)]
        var differences: [String] = []
        for request in requests {
            let expected = try a.request(request)
            let actual = try b.request(request)
            if expected != actual {
                differences.append("\(String(decoding: request.prefix(60), as: UTF8.self).debugDescription)\n  memcached: \(expected.debugDescription)\n  dynamis:   \(actual.debugDescription)")
            }
        }
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }

    /// The meta commands (mg, ms, md, ma, mn) with their flags, quiet mode, base64 keys and
    /// every malformed form, to memcached directly and through Dynamis: byte-identical (#21).
    static let metaRequests: [String] = [
        "mn\r\n", "mn extra\r\n", "mg foo v\r\n", "mg foo v q\r\n", "mg foo v q k O77\r\n", "ms foo 2\r\nhi\r\n",
        "ms foo 2 q\r\nhi\r\n", "mg foo v\r\n", "mg foo v k O123 f s\r\n", "mg foo q k v\r\n", "mg foo q\r\n", "mg foo\r\n",
        "mg foo v\r\nmg foo v q\r\nmg nope v q\r\nmg nope k q O5\r\n", "ms foo 2 T0 F5\r\nhi\r\n", "mg foo f v t\r\n",
        "md missing q\r\n", "md foo q\r\n", "md foo\r\n", "ma cnt q\r\n", "ma cnt N0 J5 v\r\n", "ma cnt q v\r\n", "ma cnt q\r\n",
        "ma cnt v\r\n", "ma cnt MD D2 v\r\n", "ma cnt MD D100 v\r\n", "ma cnt2 q N0 J1 MI\r\n", "ma cnt q MZ\r\n",
        "ms foo 2 MA\r\n!!\r\n", "ms foo 2 MP q\r\n<<\r\n", "mg foo v\r\n", "ms new 2 ME q\r\nhi\r\n", "ms new 2 ME q\r\nhi\r\n",
        "ms new 2 MR\r\nho\r\n", "ms none 2 MR\r\nho\r\n", "ms foo 2 MZ q\r\nhi\r\n", "ms foo 2 I\r\nhi\r\n",
        "md foo I T30\r\nmg foo v\r\n", "ms foo 3 I\r\nnew\r\nmg foo v\r\n", "ms foo S2\r\nhi\r\n", "ms foo\r\n", "ms foo x\r\n",
        "ms foo -1\r\n", "ms\r\n", "md\r\n", "ma\r\n", "mg\r\n", "me\r\n", "mg " + String(repeating: "a", count: 251) + " v\r\n",
        "mg foo zz\r\n", "mg foo v v v\r\n", "mg foo b\r\n", "mg Zm9v b v k\r\n", "ms Zm9v 4 b\r\nbase\r\n", "mg foo v\r\n",
        "mg foo O123456789012345678901234567890123 v\r\n", "mx foo\r\n", "ma missing\r\n", "ma foo\r\n", "ms foo 0\r\n\r\nmg foo v\r\n",
        "ms foo 2 T0 F5\r\nhixx\r\n", "ms big 2000000\r\n" + String(repeating: "h", count: 2_000_000) + "\r\n", "mg big v\r\n",
        "ms foo 2 C1\r\nhi\r\n", "md foo C1 q\r\n", "set classic 0 0 1\r\nc\r\nmg classic v f\r\n",
    ]

    @Test func metaCommandsMatchMemcached() throws {
        let (a, b, stop) = try Self.directAndThroughNode()
        defer { stop() }
        var differences: [String] = []
        for request in Self.metaRequests {
            let expected = try a.meta(Array(request.utf8))
            let actual = try b.meta(Array(request.utf8))
            if expected != actual {
                differences.append("\(String(request.prefix(60)).debugDescription)\n  memcached: \(expected.prefix(200).debugDescription)\n  dynamis:   \(actual.prefix(200).debugDescription)")
            }
        }
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
        // The debug command answers through the node too (its fields change with time).
        #expect(try b.meta(Array("me foo\r\n".utf8)).hasPrefix("ME foo exp="))
        // A pipeline of quiet sets and gets keeps its answers in order through the node.
        var batch = ""
        for i in 0..<500 { batch += "ms q\(i) 2 q\r\nv\(i % 10)\r\nmg q\(i) v k q\r\nmg miss\(i) v q\r\n" }
        let answers = try b.meta(Array(batch.utf8))
        #expect(answers == (0..<500).map { "VA 2 kq\($0)\r\nv\($0 % 10)\r\n" }.joined() + "MN\r\n")
    }

    @Test func noreplyAndPipelinesKeepOrder() throws {
        let backend = try MemcachedServer()
        defer { backend.stop() }
        let node = try DynamisProcess.inFront(ofMemcached: backend, extraConfig: ["datastore_connections: 2"])
        defer { node.remove() }
        let client = try MemcachedTestClient(port: node.port)
        var batch = ""
        for i in 0..<1000 {
            batch += "set k\(i) 0 0 \("v\(i)".utf8.count) noreply\r\nv\(i)\r\n"
            batch += "get k\(i)\r\n"
        }
        try client.send(batch)
        for i in 0..<1000 {
            #expect(try client.readResponse(retrieval: true) == "VALUE k\(i) 0 \("v\(i)".utf8.count)\r\nv\(i)\r\nEND\r\n")
        }
        // A multi-key get returns the keys that exist, in order.
        #expect(try client.request("get k1 nope k2\r\n") == "VALUE k1 0 2\r\nv1\r\nVALUE k2 0 2\r\nv2\r\nEND\r\n")
    }

    @Test func deadAndFrozenBackends() throws {
        let backend = try MemcachedServer()
        defer { backend.stop() }
        let node = try DynamisProcess.inFront(ofMemcached: backend, extraConfig: ["timeout: 300", "server_retry_timeout: 500"])
        defer { node.remove() }
        let client = try MemcachedTestClient(port: node.port)
        #expect(try client.request("set a 0 0 1\r\n1\r\n") == "STORED\r\n")
        kill(backend.child.pid, SIGSTOP)
        waitUntilStopped(backend.child.pid)
        #expect(try client.request("get a\r\n") == "SERVER_ERROR Storage: Datastore timed out\r\n")
        kill(backend.child.pid, SIGCONT)
        #expect(try client.request("set a 0 0 1\r\n2\r\n") == "STORED\r\n")
        #expect(try client.request("get a\r\n") == "VALUE a 0 1\r\n2\r\nEND\r\n")
        kill(backend.child.pid, SIGKILL)
        usleep(200_000)
        #expect(try client.request("get a\r\n").hasPrefix("SERVER_ERROR Storage: "))
        try backend.restart()
        var recovered = false
        for _ in 0..<100 where !recovered {
            if try client.request("set b 0 0 1\r\n3\r\n") == "STORED\r\n" { recovered = true } else { usleep(100_000) }
        }
        #expect(recovered)
        #expect(try client.request("get b\r\n") == "VALUE b 0 1\r\n3\r\nEND\r\n")
    }

    @Test func quitAndOverlongLinesClose() throws {
        let backend = try MemcachedServer()
        defer { backend.stop() }
        let node = try DynamisProcess.inFront(ofMemcached: backend)
        defer { node.remove() }
        let quitter = try MemcachedTestClient(port: node.port)
        try quitter.send("quit\r\n")
        #expect(quitter.isClosedByPeer())
        let flooder = try MemcachedTestClient(port: node.port)
        try flooder.send(String(repeating: "x", count: 70_000))
        #expect(try flooder.readResponse(retrieval: false) == "CLIENT_ERROR line too long\r\n")
        #expect(flooder.isClosedByPeer())
        let healthy = try MemcachedTestClient(port: node.port)
        #expect(try healthy.request("version\r\n").hasPrefix("VERSION "))
    }
}
