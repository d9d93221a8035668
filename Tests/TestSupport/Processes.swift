import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Ignores SIGPIPE in the test process once: a write to a peer that closed (a node a test
/// killed, a child whose pipe closed) must fail with EPIPE, not kill every running test. NIO
/// ignores it only when it opens its first socket, and a test may write through a raw socket
/// or a pipe before any NIO socket exists (a CI run died of signal 13 this way).
public let sigpipeIgnored: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

/// A free TCP port on 127.0.0.1 (bound then released; tests retry on the rare collision).
public func freePort() -> Int {
    _ = sigpipeIgnored
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Whether nothing listens on (or holds) `port` of `host` (127.0.0.1) right now.
public func isPortFree(_ port: Int, host: String = "127.0.0.1") -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    inet_pton(AF_INET, host, &address.sin_addr)
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}

/// A `tools/cluster` base port whose first `nodes` nodes' ports (base + 10·i + offset) are
/// free, chosen below the kernel's ephemeral range: a port in that range can be taken by any
/// outgoing connection between the check and the launch (a replacement node once failed to
/// bind its client port to a peer link's local port 30 s after this check).
public func launcherBasePort(nodes: Int, offsets: [Int] = [1, 2, 3]) -> Int? {
    let range = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
    let ephemeralStart = range.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 32_768
    let top = min(ephemeralStart, 65_536) - 10 * (nodes + 1)
    guard top > 11_000 else { return nil }
    return (0..<50).lazy.map { _ in 10_000 + 10 * Int.random(in: 0..<((top - 10_000) / 10)) }
        .first { base in (0..<nodes).allSatisfy { i in offsets.allSatisfy { isPortFree(base + 10 * i + $0) } } }
}

/// A fresh temporary directory, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(_ prefix: String = "dynamis-test") {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.path
    }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Children still running when the test runner exits are killed then: a test blocked past its
/// time limit never reaches its `defer`, and its nodes must not outlive the run (an early run
/// of this stop left three behind).
enum LiveChildren {
    nonisolated(unsafe) private static var pids: Set<Int32> = []  // guarded by `lock`
    private static let lock = NSLock()
    private static let installed: Void = { atexit { LiveChildren.killAll() } }()

    static func add(_ pid: Int32) {
        _ = installed
        lock.withLock { _ = pids.insert(pid) }
    }

    static func remove(_ pid: Int32) { lock.withLock { _ = pids.remove(pid) } }

    private static func killAll() {
        lock.withLock { for pid in pids { kill(pid, SIGKILL) } }
    }
}

/// A child process the test owns, stopped by pid.
public final class ChildProcess {
    public let process: Process
    public let logPath: String

    /// `workingDirectory`: where the process runs (default: the test's own).
    public init(executable: String, arguments: [String], logPath: String, workingDirectory: String? = nil) throws {
        _ = sigpipeIgnored
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        self.logPath = logPath
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = FileHandle(forWritingAtPath: logPath)!
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        LiveChildren.add(process.processIdentifier)
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// Sends `signal` and waits up to `seconds` for the process to exit; SIGKILL after that.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, seconds: Double = 10) -> Int32 {
        guard process.isRunning else {
            LiveChildren.remove(pid)
            return process.terminationStatus
        }
        defer { if !process.isRunning { LiveChildren.remove(pid) } }
        kill(pid, signal)
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    /// Waits for the process to exit by itself; nil if it is still running after `seconds`.
    public func waitForExit(seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    deinit { stop(signal: SIGKILL, seconds: 5) }
}

/// Waits until something accepts TCP connections on the port (whatever protocol it speaks).
public func waitForPort(_ port: Int, host: String = "127.0.0.1", seconds: Double = 20, while alive: () -> Bool = { true }) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline && alive() {
        if (try? RESPTestClient(port: port, host: host, timeoutSeconds: 1)) != nil { return true }
        usleep(20_000)
    }
    return false
}

/// Starts a server on a free port, retrying on another port (a free port can be taken between
/// choosing it and binding it). `start` launches the process for a port; `ready` says whether
/// it answers. A process that never becomes ready is killed.
public func startOnFreePort(_ what: String, start: (Int) throws -> ChildProcess,
                            ready: (Int, ChildProcess) -> Bool) throws -> (port: Int, child: ChildProcess) {
    var lastError: Error = TestClientError("\(what) did not start")
    for _ in 0..<5 {
        let port = freePort()
        let child = try start(port)
        if ready(port, child) { return (port, child) }
        child.stop(signal: SIGKILL)
        lastError = TestClientError("\(what) did not start: \(child.log)")
    }
    throw lastError
}

/// A real redis-server on a free loopback port, with no persistence.
public final class RedisServer {
    public let port: Int
    public private(set) var child: ChildProcess
    public let directory: TemporaryDirectory

    /// Starts redis-server; with `loading`, on a copy of that RDB file (as its dump.rdb).
    public init(loading rdb: String? = nil) throws {
        let directory = TemporaryDirectory("redis")
        self.directory = directory
        if let rdb { try FileManager.default.copyItem(atPath: rdb, toPath: directory.path + "/dump.rdb") }
        (port, child) = try startOnFreePort("redis-server", start: { try Self.start(port: $0, directory: directory) },
                                            ready: { port, child in waitForPort(port, seconds: 10, while: { child.isRunning }) })
    }

    static func start(port: Int, directory: TemporaryDirectory) throws -> ChildProcess {
        try ChildProcess(executable: binary,
                         arguments: ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                     "--dir", directory.path, "--daemonize", "no"],
                         logPath: directory.path + "/redis.log")
    }

    /// Starts redis-server again on the same port (after a kill).
    public func restart() throws {
        child.stop(signal: SIGKILL)
        child = try Self.start(port: port, directory: directory)
        guard waitForPort(port, seconds: 10, while: { child.isRunning }) else {
            throw TestClientError("redis-server did not restart: \(child.log)")
        }
    }

    static var binary: String {
        for candidate in ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
        where FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        return "/usr/bin/redis-server"
    }

    public func stop() {
        child.stop(signal: SIGKILL)
        directory.remove()
    }
}

/// The built `dynamis` binary, next to the test bundle in the build directory.
public enum DynamisBinary {
    public static var path: String {
        if let override = ProcessInfo.processInfo.environment["DYNAMIS_BIN"] { return override }
        return builtBinary("dynamis")
    }

    /// A product of this package in the build directory the tests run from.
    public static func builtBinary(_ name: String) -> String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // The test binary may sit inside an .xctest bundle directory.
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return name
    }
}

/// A real `dynamis` process on free loopback ports with its own data directory.
public final class DynamisProcess {
    public let port: Int
    /// The admin HTTP port (`stats_listen`).
    public let adminPort: Int
    public let directory: TemporaryDirectory
    public private(set) var child: ChildProcess
    public let configPath: String

    /// Starts a node. `engine` lines choose the engine (default: RocksDB in the node's
    /// directory); `extraConfig` lines are appended under the pool key.
    public init(engine: [String]? = nil, extraConfig: [String] = [],
                directory: TemporaryDirectory = TemporaryDirectory("dynamis-node")) throws {
        self.directory = directory
        let config = directory.path + "/dynamis.yml"
        configPath = config
        var chosenAdminPort = 0
        (port, child) = try startOnFreePort("dynamis", start: { port in
            chosenAdminPort = freePort()
            let lines = ["dyn_o_mite:",
                         "  listen: 127.0.0.1:\(port)",
                         "  dyn_listen: 127.0.0.1:\(freePort())",
                         "  stats_listen: 127.0.0.1:\(chosenAdminPort)",
                         "  tokens: '0'"]
                + (engine ?? ["data_store: rocksdb", "data_dir: \(directory.path)/data"]).map { "  " + $0 }
                + extraConfig.map { "  " + $0 }
            try lines.joined(separator: "\n").write(toFile: config, atomically: true, encoding: .utf8)
            return try ChildProcess(executable: DynamisBinary.path, arguments: ["-c", config, "-v", "6"],
                                    logPath: directory.path + "/dynamis.log")
        }, ready: { port, child in waitForPort(port, seconds: 20, while: { child.isRunning }) })
        adminPort = chosenAdminPort
    }

    /// Starts a node on ports the caller chose (a cluster's members must know each other's
    /// ports before any starts). Throws if it does not come up.
    public init(port: Int, adminPort: Int, configLines: [String], directory: TemporaryDirectory) throws {
        self.directory = directory
        self.port = port
        self.adminPort = adminPort
        configPath = directory.path + "/dynamis.yml"
        try (["dyn_o_mite:"] + configLines.map { "  " + $0 }).joined(separator: "\n")
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        child = try ChildProcess(executable: DynamisBinary.path, arguments: ["-c", configPath, "-v", "6"],
                                 logPath: directory.path + "/dynamis.log")
        guard waitForPort(port, seconds: 20, while: { child.isRunning }) else {
            child.stop(signal: SIGKILL)
            throw TestClientError("dynamis did not start on \(port): \(child.log)")
        }
    }

    /// Restarts the same node (same port, same data) after the process has stopped.
    public func restart() throws {
        child = try ChildProcess(executable: DynamisBinary.path, arguments: ["-c", configPath, "-v", "6"],
                                 logPath: directory.path + "/dynamis.log")
        guard waitForPort(port, seconds: 20, while: { child.isRunning }) else {
            throw TestClientError("dynamis did not restart: \(child.log)")
        }
    }

    public func client() throws -> RESPTestClient { try RESPTestClient(port: port) }

    public func stop(signal: Int32 = SIGTERM) -> Int32 { child.stop(signal: signal) }

    public func remove() {
        child.stop(signal: SIGKILL)
        directory.remove()
    }
}

extension DynamisProcess {
    /// A node on the Memcached engine in front of `backend`.
    public static func inFront(ofMemcached backend: MemcachedServer, extraConfig: [String] = []) throws -> DynamisProcess {
        try DynamisProcess(engine: ["data_store: memcached", "servers:", "- 127.0.0.1:\(backend.port):1"], extraConfig: extraConfig)
    }

    /// A node on the Redis engine in front of `backend`.
    public static func inFront(of backend: RedisServer, extraConfig: [String] = []) throws -> DynamisProcess {
        try DynamisProcess(engine: ["data_store: redis", "servers:", "- 127.0.0.1:\(backend.port):1"], extraConfig: extraConfig)
    }
}

/// One HTTP/1.1 request over a raw socket (tests need no HTTP client package); the server
/// closes the connection after answering.
public func httpRequest(port: Int, host: String = "127.0.0.1", method: String = "GET", path: String,
                        headers: [String] = []) throws -> (status: Int, body: String) {
    let client = try RESPTestClient(port: port, host: host)
    let extra = headers.map { $0 + "\r\n" }.joined()
    try client.sendRaw(Array("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\(extra)\r\n".utf8))
    var response: [UInt8] = []
    while true {
        guard let line = try? client.readLine() else { break }
        response += line
        if line == [13, 10] { break }
    }
    let head = String(decoding: response, as: UTF8.self)
    let status = Int(head.split(separator: " ").dropFirst().first ?? "0") ?? 0
    var length = 0
    for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
        length = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
    }
    let body = try client.readExactly(length)
    return (status, String(decoding: body, as: UTF8.self))
}

/// One sample of a node's `/metrics` (`series` as printed, labels included); nil if absent.
public func metricSample(adminPort: Int, _ series: String) throws -> Double? {
    let (_, body) = try httpRequest(port: adminPort, path: "/metrics")
    for line in body.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1))
    }
    return nil
}

/// Waits until every thread of `pid` is stopped. SIGSTOP takes effect only when the thread the
/// kernel picked to take it next runs; on a loaded machine the process's other threads keep
/// serving until then, so a test that needs it frozen must wait.
public func waitUntilStopped(_ pid: Int32, seconds: Double = 10) {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        let states = tasks.map { task -> Character in
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/stat", encoding: .utf8)) ?? ""
            // The state follows the ")" that closes the command name.
            guard let close = stat.lastIndex(of: ")") else { return "?" }
            return stat[stat.index(close, offsetBy: 2)]
        }
        if !states.isEmpty, states.allSatisfy({ $0 == "T" || $0 == "t" }) { return }
        usleep(2_000)
    }
}
