import Testing
import TestSupport

/// Errors a node answers itself stay in request order behind replies still on their way.
@Suite("Reply order", .timeLimit(.minutes(2)))
struct ReplyOrderTests {
    @Test func localErrorsQueueBehindForwardedReplies() throws {
        let backend = try RedisServer()
        let node = try DynamisProcess.inFront(of: backend)
        defer { node.remove(); backend.stop() }
        let c = try node.client()
        #expect(try c.command("SET", "k", "v") == .simple("OK"))
        for _ in 0..<50 {
            try c.send(["GET", "k"])
            try c.send(["NOSUCHCOMMAND"])
            try c.send(["GET"])
            try c.send(["GET", "k"])
        }
        for i in 0..<50 {
            let first = try c.readReply()
            #expect(first == .bulk(Array("v".utf8)), "iteration \(i)")
            let second = try c.readReply()
            guard case .error(let unknown) = second else { Issue.record("expected the unknown-command error, got \(second) at iteration \(i)"); return }
            #expect(unknown.hasPrefix("ERR unknown command"))
            #expect(try c.readReply() == .error("ERR wrong number of arguments for 'get' command"))
            #expect(try c.readReply() == .bulk(Array("v".utf8)))
        }
    }
}
