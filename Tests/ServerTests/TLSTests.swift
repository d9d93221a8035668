import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// TLS for clients (redis-cli --tls, client certificates, protocol versions, certificate
/// reload) and mutual TLS between peers (secure_server_option), with certificates from
/// `tools/tls-certs` and the real openssl and redis-cli (issue 19).
@Suite(.serialized, .timeLimit(.minutes(3)))
struct TLSTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs a shell command; its exit status and output (stdout and stderr together).
    static func shell(_ command: String, in directory: TemporaryDirectory) -> (status: Int32, output: String) {
        let log = directory.path + "/shell-\(UInt32.random(in: 0...UInt32.max)).log"
        let status = system("( \(command) ) > \(log) 2>&1 < /dev/null")
        return (status >> 8, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    /// A CA and certificates for `names` in `directory` (the CA is reused when it exists).
    static func certificates(_ names: [String], in directory: TemporaryDirectory, subdirectory: String = "tls") throws -> String {
        let path = directory.path + "/" + subdirectory
        let made = shell("bash \(root.path)/tools/tls-certs \(path) \(names.joined(separator: " "))", in: directory)
        guard made.status == 0 else { throw TestClientError("tools/tls-certs failed: \(made.output)") }
        return path
    }

    static func tlsLines(_ certs: String, name: String, ca: String? = nil) -> [String] {
        ["tls_cert_file: \(certs)/\(name).crt", "tls_key_file: \(certs)/\(name).key", "tls_ca_cert_file: \(ca ?? certs + "/ca.crt")"]
    }

    /// A node with a TLS client port next to its plaintext one.
    static func node(_ directory: TemporaryDirectory, certs: String, extra: [String] = []) throws -> (DynamisProcess, Int) {
        let tlsPort = freePort()
        let node = try DynamisProcess(extraConfig: ["tls_port: \(tlsPort)"] + tlsLines(certs, name: "server") + extra)
        guard waitForPort(tlsPort, seconds: 20) else { throw TestClientError("no TLS port: \(node.child.log)") }
        return (node, tlsPort)
    }

    @Test func redisCliRoundTripAndClientCertificates() throws {
        let directory = TemporaryDirectory("tls")
        defer { directory.remove() }
        let certs = try Self.certificates(["server", "client"], in: directory)
        let (node, port) = try Self.node(directory, certs: certs)
        defer { node.remove() }
        let cli = "redis-cli --tls --cacert \(certs)/ca.crt -p \(port)"
        let withCert = "\(cli) --cert \(certs)/client.crt --key \(certs)/client.key"
        #expect(Self.shell("\(withCert) SET greeting hello", in: directory).output == "OK\n")
        #expect(Self.shell("\(withCert) GET greeting", in: directory).output == "hello\n")
        // The plaintext port serves the same data.
        #expect(try node.client().command("GET", "greeting") == .bulk(Array("hello".utf8)))
        // tls_auth_clients yes (the default): no client certificate, no connection.
        let refused = Self.shell("\(cli) PING", in: directory)
        #expect(!refused.output.contains("PONG"), "\(refused.output)")
        #expect(node.child.log.contains("TLS handshake failed"), "\(node.child.log)")
        // A client certificate from another CA is refused too.
        let stranger = try Self.certificates(["intruder"], in: directory, subdirectory: "other")
        let foreign = Self.shell("\(cli) --cert \(stranger)/intruder.crt --key \(stranger)/intruder.key PING", in: directory)
        #expect(!foreign.output.contains("PONG"), "\(foreign.output)")
    }

    @Test(arguments: ["no", "optional"])
    func clientCertificatesNotRequired(_ mode: String) throws {
        let directory = TemporaryDirectory("tls")
        defer { directory.remove() }
        let certs = try Self.certificates(["server", "client"], in: directory)
        let (node, port) = try Self.node(directory, certs: certs, extra: ["tls_auth_clients: \(mode)"])
        defer { node.remove() }
        let cli = "redis-cli --tls --cacert \(certs)/ca.crt -p \(port)"
        #expect(Self.shell("\(cli) PING", in: directory).output == "PONG\n")
        #expect(Self.shell("\(cli) --cert \(certs)/client.crt --key \(certs)/client.key PING", in: directory).output == "PONG\n")
    }

    /// TLS 1.0 and 1.1 are never spoken; `tls_protocols` narrows 1.2 and 1.3.
    @Test func oldProtocolVersionsAreRefused() throws {
        let directory = TemporaryDirectory("tls")
        defer { directory.remove() }
        let certs = try Self.certificates(["server", "client"], in: directory)
        let (node, port) = try Self.node(directory, certs: certs, extra: ["tls_protocols: TLSv1.3"])
        defer { node.remove() }
        let client = "-cert \(certs)/client.crt -key \(certs)/client.key -CAfile \(certs)/ca.crt"
        func handshake(_ version: String) -> Bool {
            let result = Self.shell("openssl s_client -connect 127.0.0.1:\(port) \(version) \(client) -brief", in: directory)
            return result.status == 0 && result.output.contains("CONNECTION ESTABLISHED")
        }
        #expect(handshake("-tls1_3"))
        #expect(!handshake("-tls1_2"))
        #expect(!handshake("-tls1_1"))
        #expect(!handshake("-tls1"))
    }

    /// A certificate replaced on disk is served to new connections without a restart.
    @Test func aReloadedCertificateIsUsedByNewConnections() throws {
        let directory = TemporaryDirectory("tls")
        defer { directory.remove() }
        let certs = try Self.certificates(["server", "client", "replacement"], in: directory)
        let (node, port) = try Self.node(directory, certs: certs, extra: ["tls_reload_interval: 1"])
        defer { node.remove() }
        func servedSerial() -> String {
            Self.shell("openssl s_client -connect 127.0.0.1:\(port) -cert \(certs)/client.crt -key \(certs)/client.key -CAfile \(certs)/ca.crt"
                       + " 2>/dev/null | openssl x509 -noout -serial", in: directory).output
        }
        func fileSerial(_ name: String) -> String {
            Self.shell("openssl x509 -noout -serial -in \(certs)/\(name).crt", in: directory).output
        }
        #expect(servedSerial() == fileSerial("server"))
        let replacement = fileSerial("replacement")
        #expect(replacement != fileSerial("server"))
        // Key first, then certificate, each replaced by a rename (as an operator's tooling would).
        _ = Self.shell("cp \(certs)/replacement.key \(certs)/k.tmp && mv \(certs)/k.tmp \(certs)/server.key && cp \(certs)/replacement.crt \(certs)/c.tmp && mv \(certs)/c.tmp \(certs)/server.crt", in: directory)
        let deadline = Date().addingTimeInterval(15)
        while servedSerial() != replacement, Date() < deadline { usleep(200_000) }
        #expect(servedSerial() == replacement)
        #expect(try node.client().command("PING") == .simple("PONG"))
    }

    /// secure_server_option all: peers link over mutual TLS and replicate; a node whose
    /// certificate another CA signed cannot link, and neither can one speaking plaintext.
    @Test func peersUseMutualTLSAndRefuseStrangersAndPlaintext() throws {
        let directory = TemporaryDirectory("tls")
        defer { directory.remove() }
        let certs = try Self.certificates(["n0", "n1", "n2"], in: directory)
        let stranger = try Self.certificates(["n2"], in: directory, subdirectory: "other")
        // Three racks of one node: 0 and 1 are cluster members; 2 has a certificate from another CA.
        let cluster = try TestCluster(layout: [[1, 1, 1]], extraConfig: ["secure_server_option: all"], perNode: { i in
            i == 2 ? Self.tlsLines(stranger, name: "n2", ca: certs + "/ca.crt") : Self.tlsLines(certs, name: "n\(i)")
        }, waitForPeers: false)
        defer { cluster.remove() }
        let first = cluster.member(rack: 0), second = cluster.member(rack: 1), third = cluster.member(rack: 2)
        func linkUp(_ from: TestCluster.Member, _ to: TestCluster.Member) throws -> Bool {
            let metrics = try httpRequest(port: from.process.adminPort, path: "/metrics").body
            return metrics.split(separator: "\n").contains { $0.hasPrefix("dynamis_peer_up{peer=\"127.0.0.1:\(to.peerPort)\"") && $0.hasSuffix(" 1") }
        }
        try ClusterTestSupport.eventually("racks 1 and 2 link over TLS", seconds: 20) { try linkUp(first, second) && linkUp(second, first) }
        let client = try ClusterTestSupport.client(first, consistency: "DC_ONE")
        #expect(try client.command("SET", "secret", "shh") == .simple("OK"))
        let direct = try ClusterTestSupport.client(second, consistency: "DC_ONE")
        try ClusterTestSupport.eventually("the write crosses the TLS link") { try direct.command("GET", "secret") == .bulk(Array("shh".utf8)) }
        try ClusterTestSupport.eventually("the stranger is refused") {
            first.process.child.log.contains("TLS handshake failed") && third.process.child.log.contains("TLS handshake failed")
        }
        #expect(try !linkUp(first, third) && !linkUp(third, first))
        // A plaintext peer where TLS is required is refused by name.
        let plain = try RESPTestClient(port: first.peerPort)
        let identity = Array("plain dc1 rack9 1".utf8)
        try plain.sendRaw([0x44, 0x59, 2, 1, 0, 0] + [UInt8](repeating: 0, count: 16) + [0, 0, 0, UInt8(identity.count)] + identity)
        #expect(plain.isClosedByPeer())
        #expect(first.process.child.log.contains("connected in plaintext, but secure_server_option all requires TLS"))
    }

    /// `listen` with port 0 turns the plaintext port off: the node serves on tls_port alone.
    @Test func thePlaintextPortCanBeTurnedOff() throws {
        let directory = TemporaryDirectory("tls")
        defer { directory.remove() }
        let certs = try Self.certificates(["server"], in: directory)
        let tlsPort = freePort()
        let config = directory.path + "/node.yml"
        try (["dyn_o_mite:", "  listen: 127.0.0.1:0", "  tls_port: \(tlsPort)", "  tls_auth_clients: no", "  stats_listen: 127.0.0.1:\(freePort())",
              "  data_store: rocksdb", "  data_dir: \(directory.path)/data"] + Self.tlsLines(certs, name: "server").map { "  " + $0 })
            .joined(separator: "\n").write(toFile: config, atomically: true, encoding: .utf8)
        let child = try ChildProcess(executable: DynamisBinary.path, arguments: ["-c", config], logPath: directory.path + "/node.log")
        defer { child.stop(signal: SIGKILL) }
        guard waitForPort(tlsPort, seconds: 20, while: { child.isRunning }) else {
            Issue.record("no TLS port: \(child.log)")
            return
        }
        #expect(Self.shell("redis-cli --tls --cacert \(certs)/ca.crt -p \(tlsPort) PING", in: directory).output == "PONG\n")
        // Without tls_port, port 0 is refused by name; TLS settings need all three files.
        let bad = directory.path + "/bad.yml"
        for (yaml, message) in [("dyn_o_mite:\n  listen: 127.0.0.1:0\n", "key 'listen': port 0 turns the plaintext client port off"),
                                ("dyn_o_mite:\n  listen: 127.0.0.1:1\n  tls_port: 2\n", "key 'tls_cert_file': is required with tls_port"),
                                ("dyn_o_mite:\n  listen: 127.0.0.1:1\n  secure_server_option: all\n  tls_cert_file: a\n  tls_key_file: b\n",
                                 "key 'tls_ca_cert_file': is required with secure_server_option all"),
                                ("dyn_o_mite:\n  listen: 127.0.0.1:1\n  tls_protocols: TLSv1.1\n", "key 'tls_protocols': value 'TLSv1.1' is not valid")] {
            try yaml.write(toFile: bad, atomically: true, encoding: .utf8)
            let check = try ChildProcess(executable: DynamisBinary.path, arguments: ["-t", "-c", bad], logPath: directory.path + "/check.log")
            #expect(check.waitForExit(seconds: 20) == 1)
            #expect(check.log.contains(message), "\(check.log)")
        }
    }
}
