import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real memcached on a free loopback port.
public final class MemcachedServer {
    public let port: Int
    public private(set) var child: ChildProcess
    let directory: TemporaryDirectory

    public init() throws {
        let directory = TemporaryDirectory("memcached")
        self.directory = directory
        (port, child) = try startOnFreePort("memcached", start: { try Self.start(port: $0, directory: directory) },
                                            ready: Self.waitReady)
    }

    static func start(port: Int, directory: TemporaryDirectory) throws -> ChildProcess {
        try ChildProcess(executable: "/usr/bin/memcached",
                         arguments: ["-p", "\(port)", "-l", "127.0.0.1", "-U", "0", "-u", "root", "-m", "64"],
                         logPath: directory.path + "/memcached.log")
    }

    static func waitReady(_ port: Int, _ child: ChildProcess) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && child.isRunning {
            if let client = try? MemcachedTestClient(port: port), (try? client.request("version\r\n")) != nil { return true }
            usleep(20_000)
        }
        return false
    }

    /// Starts memcached again on the same port (after a kill).
    public func restart() throws {
        child.stop(signal: SIGKILL)
        child = try Self.start(port: port, directory: directory)
        guard Self.waitReady(port, child) else { throw TestClientError("memcached did not restart: \(child.log)") }
    }

    public func stop() {
        child.stop(signal: SIGKILL)
        directory.remove()
    }
}

/// A blocking memcached text-protocol client for tests; every read times out.
public final class MemcachedTestClient {
    private let socket: RESPTestClient

    public init(port: Int) throws {
        socket = try RESPTestClient(port: port)
    }

    /// Sends a request and reads one complete response (a VALUE…END block for retrievals).
    public func request(_ text: String) throws -> String {
        try request(Array(text.utf8))
    }

    public func request(_ bytes: [UInt8]) throws -> String {
        try socket.sendRaw(bytes)
        return try readResponse(retrieval: Self.isRetrieval(bytes))
    }

    /// Sends without reading (noreply requests, pipelines).
    public func send(_ text: String) throws { try socket.sendRaw(Array(text.utf8)) }

    public func readResponse(retrieval: Bool) throws -> String {
        var out: [UInt8] = []
        while true {
            let line = try socket.readLine()
            out += line
            let text = String(decoding: line, as: UTF8.self)
            if !retrieval || text == "END\r\n" || text.hasPrefix("ERROR") || text.hasPrefix("CLIENT_ERROR") || text.hasPrefix("SERVER_ERROR") {
                return String(decoding: out, as: UTF8.self)
            }
            if text.hasPrefix("VALUE ") {
                let length = Int(text.split(separator: " ")[3].trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
                out += try socket.readExactly(length + 2)
            }
        }
    }

    /// Sends meta requests with an `mn` behind them and reads every answer through its `MN`
    /// (quiet requests may answer nothing; `VA` answers carry data).
    public func meta(_ bytes: [UInt8]) throws -> String {
        try socket.sendRaw(bytes + Array("mn\r\n".utf8))
        // One MN for ours and one for each no-op in the request itself.
        var remaining = 1 + String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n")
            .filter { $0 == "mn" || $0.hasPrefix("mn ") }.count
        var out: [UInt8] = []
        while true {
            let line = try socket.readLine()
            out += line
            let text = String(decoding: line, as: UTF8.self)
            if text == "MN\r\n" {
                remaining -= 1
                if remaining == 0 { return String(decoding: out, as: UTF8.self) }
            }
            if text.hasPrefix("VA ") {
                let length = Int(text.dropFirst(3).split(separator: " ")[0].trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
                out += try socket.readExactly(length + 2)
            }
        }
    }

    public func isClosedByPeer() -> Bool { socket.isClosedByPeer() }

    static func isRetrieval(_ bytes: [UInt8]) -> Bool {
        let head = String(decoding: bytes.prefix(5), as: UTF8.self)
        return head.hasPrefix("get ") || head.hasPrefix("gets ") || head.hasPrefix("gat ") || head.hasPrefix("gats ")
    }
}
