import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The limits a Redis operator expects: `maxclients`, an output buffer limit for clients that
/// do not read, and an idle `timeout` (issue 19).
@Suite(.timeLimit(.minutes(2)))
struct ClientLimitsTests {
    static func metric(_ node: DynamisProcess, _ series: String) throws -> Int? {
        let body = try httpRequest(port: node.adminPort, path: "/metrics").body
        for line in body.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Int(Double(line.split(separator: " ").last ?? "") ?? -1)
        }
        return nil
    }

    /// Waits until the node counts `count` open clients (the start-up probe's connection is
    /// counted until the node has seen it close).
    static func waitForClients(_ node: DynamisProcess, _ count: Int) throws {
        let deadline = Date().addingTimeInterval(10)
        while try metric(node, "dynamis_client_connections") != count {
            if Date() > deadline { throw TestClientError("the node never counted \(count) clients") }
            usleep(20_000)
        }
    }

    static func residentBytes(_ pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kb * 1024
    }

    @Test func maxclientsPlusOneGetsRedisError() throws {
        let node = try DynamisProcess(extraConfig: ["maxclients: 3"])
        defer { node.remove() }
        try Self.waitForClients(node, 0)
        let clients = try (0..<3).map { _ in try node.client() }
        for client in clients { #expect(try client.command("PING") == .simple("PONG")) }
        let refused = try node.client()
        #expect(try refused.readReply() == .error("ERR max number of clients reached"))
        #expect(refused.isClosedByPeer())
        #expect(try clients[0].command("CONFIG", "GET", "maxclients") == .array([.bulk(Array("maxclients".utf8)), .bulk(Array("3".utf8))]))
        // A place frees up when a client leaves.
        clients[2].close()
        try Self.waitForClients(node, 2)
        #expect(try node.client().command("PING") == .simple("PONG"))
        #expect(try Self.metric(node, "dynamis_client_disconnections_total{cause=\"maxclients\"}") == 1)
        #expect(node.child.log.contains("maxclients (3) connections are open"))
    }

    /// A client pipelines GETs of a 100 KB value (2 GB of replies) and never reads: it is cut
    /// off once 1 MB waits for it, the node's memory does not grow by the replies, and everyone
    /// else is still served.
    @Test func aClientThatNeverReadsIsDisconnectedAtTheOutputLimit() throws {
        let node = try DynamisProcess(extraConfig: ["client_output_buffer_limit: 1mb"])
        defer { node.remove() }
        let value = String(repeating: "v", count: 100_000)
        #expect(try node.client().command("SET", "big", value) == .simple("OK"))
        let before = Self.residentBytes(node.child.pid)
        let hog = try RESPTestClient(port: node.port, timeoutSeconds: 5)
        let request = RESPTestClient.encode([Array("GET".utf8), Array("big".utf8)])
        let pipeline = Array((0..<20_000).map { _ in request }.joined())
        try? hog.sendRaw(pipeline)  // the node may close the connection before all of it is sent
        let deadline = Date().addingTimeInterval(20)
        while try Self.metric(node, "dynamis_client_disconnections_total{cause=\"output_buffer_limit\"}") != 1 {
            if Date() > deadline { break }
            usleep(50_000)
        }
        #expect(try Self.metric(node, "dynamis_client_disconnections_total{cause=\"output_buffer_limit\"}") == 1)
        let growth = Self.residentBytes(node.child.pid) - before
        #expect(growth < 200 << 20, "the node grew by \(growth >> 20) MB")
        #expect(try node.client().command("GET", "big") == .bulk(Array(value.utf8)))
        #expect(node.child.log.contains("over client_output_buffer_limit"))
    }

    /// `client_timeout: 1` closes an idle client, but not one blocked in BLPOP.
    @Test func idleClientsAreClosedBlockedOnesAreNot() throws {
        let node = try DynamisProcess(extraConfig: ["client_timeout: 1"])
        defer { node.remove() }
        let idle = try node.client()
        #expect(try idle.command("CONFIG", "GET", "timeout") == .array([.bulk(Array("timeout".utf8)), .bulk(Array("1".utf8))]))
        let blocked = try node.client()
        try blocked.send(["BLPOP", "queue", "0"])
        #expect(idle.isClosedByPeer())
        usleep(1_500_000)  // past the timeout: the blocked client must still be waiting
        #expect(try node.client().command("LPUSH", "queue", "job") == .integer(1))
        #expect(try blocked.readReply() == .array([.bulk(Array("queue".utf8)), .bulk(Array("job".utf8))]))
        #expect(try Self.metric(node, "dynamis_client_disconnections_total{cause=\"idle_timeout\"}") ?? 0 >= 1)
        #expect(node.child.log.contains("(client_timeout)"))
    }
}
