import Foundation
import TestSupport
import Testing

/// `requirepass`: clients must authenticate, with Redis's replies.
@Suite(.timeLimit(.minutes(2)))
struct AuthTests {
    @Test func clientsMustAuthenticate() throws {
        let node = try DynamisProcess(extraConfig: ["requirepass: s3cret"])
        defer { node.remove() }
        let client = try node.client()
        #expect(try client.command("GET", "a") == .error("NOAUTH Authentication required."))
        // The argument count is checked before authentication, as redis-server 7.0 does.
        #expect(try client.command("GET") == .error("ERR wrong number of arguments for 'get' command"))
        #expect(try client.command("PING") == .error("NOAUTH Authentication required."))
        #expect(try client.command("AUTH", "wrong") == .error("WRONGPASS invalid username-password pair or user is disabled."))
        #expect(try client.command("AUTH", "bob", "s3cret") == .error("WRONGPASS invalid username-password pair or user is disabled."))
        #expect(try client.command("AUTH", "a", "b", "c") == .error("ERR syntax error"))
        #expect(try client.command("SET", "a", "1") == .error("NOAUTH Authentication required."))
        #expect(try client.command("AUTH", "s3cret") == .simple("OK"))
        #expect(try client.command("SET", "a", "1") == .simple("OK"))
        let other = try node.client()
        #expect(try other.command("AUTH", "default", "s3cret") == .simple("OK"))
        #expect(try other.command("GET", "a") == .bulk(Array("1".utf8)))
    }

    @Test func helloCanAuthenticate() throws {
        let node = try DynamisProcess(extraConfig: ["requirepass: s3cret"])
        defer { node.remove() }
        let client = try node.client()
        guard case .error(let message) = try client.command("HELLO", "3") else { Issue.record("HELLO without AUTH"); return }
        #expect(message.hasPrefix("NOAUTH HELLO must be called with the client already authenticated"))
        #expect(try client.command("HELLO", "3", "AUTH", "default", "nope") == .error("WRONGPASS invalid username-password pair or user is disabled."))
        try client.send(["HELLO", "3", "AUTH", "default", "s3cret"])
        #expect(try client.readRawReply().starts(with: Array("%7\r\n".utf8)))
        #expect(try client.rawCommand([Array("GET".utf8), Array("x".utf8)]) == Array("_\r\n".utf8))
    }

    @Test func redisCLIWithPassword() throws {
        let node = try DynamisProcess(extraConfig: ["requirepass: s3cret"])
        defer { node.remove() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-cli")
        process.arguments = ["-p", "\(node.port)", "-a", "s3cret", "--no-auth-warning", "SET", "k", "v"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        #expect(String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).hasPrefix("OK"))
    }

    /// With a password, the admin port's action paths need it as a bearer token; reading stays open.
    @Test func adminActionsNeedTheBearerToken() throws {
        let node = try DynamisProcess(extraConfig: ["requirepass: s3cret"])
        defer { node.remove() }
        #expect(try httpRequest(port: node.adminPort, path: "/info").status == 200)
        #expect(try httpRequest(port: node.adminPort, path: "/metrics").status == 200)
        #expect(try httpRequest(port: node.adminPort, path: "/state/get_state").status == 200)
        #expect(try httpRequest(port: node.adminPort, path: "/state/standby").status == 401)
        #expect(try httpRequest(port: node.adminPort, path: "/state/standby", headers: ["Authorization: Bearer wrong"]).status == 401)
        #expect(try httpRequest(port: node.adminPort, path: "/state/get_state").body == "State: NORMAL\r\n")
        #expect(try httpRequest(port: node.adminPort, path: "/state/standby", headers: ["Authorization: Bearer s3cret"]).status == 200)
        #expect(try httpRequest(port: node.adminPort, path: "/state/get_state").body == "State: STANDBY\r\n")
        #expect(try httpRequest(port: node.adminPort, path: "/setloglevel/9").status == 401)
    }

    /// Before authenticating, a client cannot make the server buffer large requests.
    @Test func unauthenticatedRequestsAreSmall() throws {
        let node = try DynamisProcess(extraConfig: ["requirepass: s3cret"])
        defer { node.remove() }
        let wide = try node.client()
        try wide.sendRaw(Array("*11\r\n".utf8))
        #expect(try wide.readReply() == .error("ERR Protocol error: unauthenticated multibulk length"))
        #expect(wide.isClosedByPeer())
        let big = try node.client()
        try big.sendRaw(Array("*2\r\n$4\r\nAUTH\r\n$16385\r\n".utf8))
        #expect(try big.readReply() == .error("ERR Protocol error: unauthenticated bulk length"))
        // Once authenticated, the normal limits apply.
        let ok = try node.client()
        #expect(try ok.command("AUTH", "s3cret") == .simple("OK"))
        #expect(try ok.command(["SET", "big", String(repeating: "x", count: 100_000)]) == .simple("OK"))
    }
}
