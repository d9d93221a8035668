/// The INFO command's text, in Redis's section format.
struct InfoReport {
    let node: NodeContext
    let state: ClientState

    static let defaultSections = ["server", "clients", "memory", "persistence", "stats", "keyspace", "dynamis"]

    func render(sections requested: [String]) -> String {
        var sections = requested.isEmpty || requested.contains("default") || requested.contains("all")
            || requested.contains("everything") ? Self.defaultSections : requested
        sections = sections.filter { Self.defaultSections.contains($0) }
        var out = ""
        for section in Self.defaultSections where sections.contains(section) {
            if !out.isEmpty { out += "\r\n" }
            out += lines(section).joined(separator: "\r\n") + "\r\n"
        }
        return out
    }

    private var peerCount: Int { node.cluster?.peers.count ?? 0 }

    /// Peers every one of whose connections from this node is up.
    private var connectedPeers: Int {
        (0..<peerCount).filter { node.peerStatus.isConnected($0) }.count
    }

    private func lines(_ section: String) -> [String] {
        let config = node.config
        switch section {
        case "server":
            return ["# Server",
                    "redis_version:\(NodeContext.redisCompatibleVersion)",
                    "dynamis_version:\(NodeContext.version)",
                    "redis_mode:standalone",
                    "os:Linux",
                    "arch_bits:64",
                    "process_id:\(ProcessID.current)",
                    "run_id:\(node.runID)",
                    "tcp_port:\(config.listen.port)",
                    "uptime_in_seconds:\(node.uptimeSeconds)",
                    "uptime_in_days:\(node.uptimeSeconds / 86400)",
                    "executable:dynamis"]
        case "clients":
            return ["# Clients",
                    "connected_clients:\(node.connectedClients.load(ordering: .relaxed))",
                    "blocked_clients:\(node.engine.blockedClients)"]
        case "memory":
            return ["# Memory", "maxmemory:0", "maxmemory_policy:noeviction"]
        case "persistence":
            return ["# Persistence",
                    "loading:0",
                    "aof_enabled:0",
                    "storage_engine:\(config.dataStore.rawValue)",
                    "rocksdb_fsync:\(config.rocksdb.fsync.rawValue)",
                    "rocksdb_data_dir:\(config.dataDirectory)"]
        case "stats":
            return ["# Stats", "total_connections_received:\(node.totalConnections.load(ordering: .relaxed))"]
        case "keyspace":
            return ["# Keyspace"] + node.engine.keyspaceInfo()
        case "dynamis":
            return ["# Dynamis",
                    "datacenter:\(config.datacenter)",
                    "rack:\(config.rack)",
                    "token:\(config.token)",
                    "hash:\(config.keyHashIdentity)",
                    "token_range:\(config.tokenOwnership.rawValue)",
                    "state:\(node.settings.state.name)",
                    "read_consistency:\(node.settings.readConsistency.rawValue)",
                    "write_consistency:\(node.settings.writeConsistency.rawValue)",
                    "connection_consistency:\(state.consistency?.rawValue ?? "node")",
                    "peers:\(peerCount)",
                    "peers_connected:\(connectedPeers)"]
        default:
            return []
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

enum ProcessID {
    static var current: Int32 { getpid() }
}
