import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The Memcached engine in front of a real memcached.
@Suite(.timeLimit(.minutes(3)))
struct MemcachedEngineTests {

    /// The same requests to memcached directly and through Dynamis (in front of a second,
    /// equally fresh memcached) give byte-identical responses, errors included.
    @Test func responsesMatchMemcached() throws {
        let direct = try MemcachedServer()
        defer { direct.stop() }
        let backend = try MemcachedServer()
        defer { backend.stop() }
        let node = try DynamisProcess.inFront(ofMemcached: backend)
        defer { node.remove() }
        let a = try MemcachedTestClient(port: direct.port)
        let b = try MemcachedTestClient(port: node.port)
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
