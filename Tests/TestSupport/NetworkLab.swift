import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A network of Linux network namespaces for fault tests: one namespace per host, each joined
/// to a bridge in the test's own namespace by a veth pair, so the test (and its clients) reach
/// every host while faults cut hosts off from each other. Faults are iptables rules inside a
/// host's namespace (partitions, random packet loss); a host's processes are started through
/// `ip netns exec`. Needs root, iproute2 and iptables; `unavailable` says why it cannot run.
public final class NetworkLab {
    public let hosts: Int
    private let tag: String
    private let subnet: String
    public private(set) var removed = false

    /// Why namespaces cannot be used here (nil: they can).
    public static var unavailable: String? {
        guard getuid() == 0 else { return "network namespaces need root" }
        for tool in ["/usr/sbin/ip", "/usr/sbin/iptables"] where !FileManager.default.isExecutableFile(atPath: tool) {
            return "\(tool) is missing (apt-get install iproute2 iptables)"
        }
        let probe = "dynprobe\(getpid())"
        defer { _ = NetworkLab.run(["/usr/sbin/ip", "netns", "del", probe]) }
        if let failure = NetworkLab.run(["/usr/sbin/ip", "netns", "add", probe]) { return "ip netns add failed: \(failure)" }
        if let failure = NetworkLab.run(["/usr/sbin/ip", "netns", "exec", probe, "/usr/sbin/iptables", "-L", "INPUT"]) {
            return "iptables does not work in a namespace: \(failure)"
        }
        return nil
    }

    /// Creates `hosts` namespaces on a bridge of their own. Names carry this process's id, so
    /// two test runs never share one, and a crashed run's leftovers are removed first.
    public init(hosts: Int) throws {
        self.hosts = hosts
        let id = Int(getpid()) % 200 + 20
        tag = "dyn\(id)"
        subnet = "10.213.\(id)"
        NetworkLab.removeLeftovers(tag: tag, hosts: 16)
        try sh(["/usr/sbin/ip", "link", "add", bridge, "type", "bridge"])
        try sh(["/usr/sbin/ip", "addr", "add", "\(subnet).1/24", "dev", bridge])
        try sh(["/usr/sbin/ip", "link", "set", bridge, "up"])
        // Bridged frames pass the host's FORWARD chain when br_netfilter is loaded: let ours through.
        _ = NetworkLab.run(["/usr/sbin/iptables", "-I", "FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT"])
        for host in 0..<hosts {
            let ns = namespace(host), outside = "\(tag)v\(host)", inside = "\(tag)i\(host)"
            try sh(["/usr/sbin/ip", "netns", "add", ns])
            try sh(["/usr/sbin/ip", "link", "add", outside, "type", "veth", "peer", "name", inside])
            try sh(["/usr/sbin/ip", "link", "set", inside, "netns", ns])
            try sh(["/usr/sbin/ip", "link", "set", outside, "master", bridge])
            try sh(["/usr/sbin/ip", "link", "set", outside, "up"])
            try sh(inNamespace(host, ["/usr/sbin/ip", "addr", "add", "\(address(host))/24", "dev", inside]))
            try sh(inNamespace(host, ["/usr/sbin/ip", "link", "set", inside, "up"]))
            try sh(inNamespace(host, ["/usr/sbin/ip", "link", "set", "lo", "up"]))
        }
    }

    deinit { remove() }

    private var bridge: String { "\(tag)br" }

    public func namespace(_ host: Int) -> String { "\(tag)n\(host)" }

    /// The host's address on the bridge.
    public func address(_ host: Int) -> String { "\(subnet).\(10 + host)" }

    /// `command` run inside host `host`'s namespace.
    public func inNamespace(_ host: Int, _ command: [String]) -> [String] {
        ["/usr/sbin/ip", "netns", "exec", namespace(host)] + command
    }

    /// Hosts in different groups stop hearing each other (every packet dropped, both ways);
    /// hosts in no group keep every link. A host listed in two groups is a bridge: it hears both.
    public func partition(_ groups: [[Int]]) throws {
        for host in 0..<hosts {
            let mine = groups.filter { $0.contains(host) }
            guard !mine.isEmpty else { continue }
            let reachable = Set(mine.flatMap { $0 })
            for other in Set(groups.flatMap { $0 }).subtracting(reachable).sorted() {
                try drop(host, from: other)
            }
        }
    }

    /// Host `host` drops every packet to and from `other`.
    public func drop(_ host: Int, from other: Int) throws {
        try sh(inNamespace(host, ["/usr/sbin/iptables", "-A", "INPUT", "-s", address(other), "-j", "DROP"]))
        try sh(inNamespace(host, ["/usr/sbin/iptables", "-A", "OUTPUT", "-d", address(other), "-j", "DROP"]))
    }

    /// Host `host` loses each packet to or from other hosts with `probability` (the test's own
    /// packets too: its clients see a lossy node).
    public func loss(_ host: Int, probability: Double) throws {
        for chain in ["INPUT", "OUTPUT"] {
            try sh(inNamespace(host, ["/usr/sbin/iptables", "-A", chain, "-m", "statistic", "--mode", "random",
                                      "--probability", String(probability), "-j", "DROP"]))
        }
    }

    /// Every link works again.
    public func heal() throws {
        for host in 0..<hosts { try sh(inNamespace(host, ["/usr/sbin/iptables", "-F"])) }
    }

    /// Deletes the namespaces, links and bridge (the caller stops the processes first).
    public func remove() {
        guard !removed else { return }
        removed = true
        NetworkLab.removeLeftovers(tag: tag, hosts: max(hosts, 16))
    }

    private static func removeLeftovers(tag: String, hosts: Int) {
        for host in 0..<hosts {
            _ = run(["/usr/sbin/ip", "netns", "del", "\(tag)n\(host)"])
            _ = run(["/usr/sbin/ip", "link", "del", "\(tag)v\(host)"])
        }
        _ = run(["/usr/sbin/iptables", "-D", "FORWARD", "-i", "\(tag)br", "-o", "\(tag)br", "-j", "ACCEPT"])
        _ = run(["/usr/sbin/ip", "link", "del", "\(tag)br"])
    }

    private func sh(_ command: [String]) throws {
        if let failure = NetworkLab.run(command) { throw TestClientError("\(command.joined(separator: " ")): \(failure)") }
    }

    /// Runs a command to completion; nil when it exited 0, else its output.
    @discardableResult
    static func run(_ command: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return "\(error)" }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? nil : String(decoding: output, as: UTF8.self)
    }
}
