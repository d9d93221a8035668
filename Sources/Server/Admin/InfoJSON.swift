import Foundation
import Protocol

/// `/info` in Dynomite's layout: a flat header, then an object keyed by the pool name with the
/// pool counters, holding an object keyed by the datastore name with the datastore counters.
/// Latencies come from the loops' histograms (bucket bounds, so percentiles are upper
/// estimates); counters Dynamis does not keep (payload sizes, queue depths, cross-zone RTTs)
/// are present and zero, so dashboards built for Dynomite keep working.
enum InfoJSON {
    static func make(node: NodeContext, counters: LoopCounters) -> [String: Any] {
        let config = node.config
        var info: [String: Any] = [
            "service": "dynamis",
            "source": ProcessInfo.processInfo.hostName,
            "version": NodeContext.version,
            "uptime": node.uptimeSeconds,
            "timestamp": Int(Date().timeIntervalSince1970),
            "rack": config.rack,
            "dc": config.datacenter,
            "state": node.settings.state.name,
        ]
        // Dynomite reports latencies in microseconds over reads and writes together.
        let latency = counters.readLatency + counters.writeLatency
        info["latency_max"] = latency.maximum
        info["latency_999th"] = latency.quantile(0.999)
        info["latency_99th"] = latency.quantile(0.99)
        info["latency_95th"] = latency.quantile(0.95)
        info["latency_mean"] = latency.mean
        let sizes = counters.payloadSizes
        info["payload_size_max"] = sizes.maximum
        info["payload_size_999th"] = sizes.quantile(0.999)
        info["payload_size_99th"] = sizes.quantile(0.99)
        info["payload_size_95th"] = sizes.quantile(0.95)
        info["payload_size_mean"] = sizes.mean
        for name in ["average_cross_region_rtt", "99_cross_region_rtt", "average_cross_zone_latency", "99_cross_zone_latency",
                     "average_server_latency", "99_server_latency", "client_out_queue_99", "server_in_queue_99",
                     "server_out_queue_99", "dnode_client_out_queue_99", "peer_in_queue_99", "peer_out_queue_99",
                     "remote_peer_out_queue_99", "remote_peer_in_queue_99", "alloc_msgs", "free_msgs", "alloc_mbufs",
                     "free_mbufs", "dyn_memory", "average_cross_region_queue_wait", "99_cross_region_queue_wait",
                     "average_cross_zone_queue_wait", "99_cross_zone_queue_wait", "average_server_queue_wait",
                     "99_server_queue_wait"] {
            info[name] = 0
        }
        // Convergence (Dynamis): hinted handoff and read repair.
        for (name, value) in node.convergence { info[name] = value }
        info["read_repairs_enabled"] = node.readRepairs.load(ordering: .relaxed)
        var pool: [String: Any] = [
            "client_eof": counters.connectionsClosed,
            "client_err": 0,
            "client_connections": node.connectedClients.load(ordering: .relaxed),
            "client_read_requests": counters.readRequests,
            "client_write_requests": counters.writeRequests,
            "client_dropped_requests": counters.refusedByState,
            "client_non_quorum_w_responses": 0,
            "client_non_quorum_r_responses": 0,
            "server_ejects": 0,
            "forward_error": 0,
            "fragments": 0,
            "stats_count": 1,
        ]
        for name in ["dnode_client_eof", "dnode_client_err", "dnode_client_connections", "dnode_client_in_queue",
                     "dnode_client_in_queue_bytes", "dnode_client_out_queue", "dnode_client_out_queue_bytes",
                     "peer_dropped_requests", "peer_timedout_requests", "remote_peer_dropped_requests",
                     "remote_peer_timedout_requests", "remote_peer_failover_requests", "peer_eof", "peer_err",
                     "peer_timedout", "remote_peer_timedout", "peer_connections", "peer_forward_error", "peer_requests",
                     "peer_request_bytes", "peer_responses", "peer_response_bytes", "peer_ejected_at", "peer_ejects",
                     "peer_in_queue", "remote_peer_in_queue", "peer_in_queue_bytes", "remote_peer_in_queue_bytes",
                     "peer_out_queue", "remote_peer_out_queue", "peer_out_queue_bytes", "remote_peer_out_queue_bytes",
                     "peer_mismatch_requests"] {
            pool[name] = 0
        }
        // Peer request counters, same-DC and remote-DC peers apart as in Dynomite.
        let local = config.datacenter
        for (i, peer) in (node.cluster?.peers ?? []).enumerated() where i < counters.peers.count {
            let c = counters.peers[i]
            let prefix = peer.datacenter == local ? "peer_" : "remote_peer_"
            pool["peer_requests", default: 0] = (pool["peer_requests"] as? Int ?? 0) + c.sent
            pool["peer_responses", default: 0] = (pool["peer_responses"] as? Int ?? 0) + c.answered + c.refused
            pool[prefix + "timedout_requests"] = (pool[prefix + "timedout_requests"] as? Int ?? 0) + c.timedOut
            pool[prefix + "dropped_requests"] = (pool[prefix + "dropped_requests"] as? Int ?? 0) + c.lost + c.notSent
        }
        pool["peer_connections"] = (node.cluster?.peers ?? []).indices.reduce(0) { $0 + node.peerStatus.connections($1) }
        var datastore: [String: Any] = [
            "read_requests": counters.readRequests,
            "write_requests": counters.writeRequests,
            "read_request_bytes": counters.readRequestBytes,
            "write_request_bytes": counters.writeRequestBytes,
            // Every request the datastore ran got its response.
            "read_responses": counters.readRequests,
            "write_responses": counters.writeRequests,
            "server_eof": 0, "server_err": 0, "server_timedout": 0, "server_ejected_at": 0,
            "server_dropped_requests": 0, "server_timedout_requests": 0,
        ]
        // Not measured: response bytes and queue depths (replies go straight to their connection).
        for name in ["read_response_bytes", "write_response_bytes", "in_queue", "in_queue_bytes", "out_queue", "out_queue_bytes"] {
            datastore[name] = 0
        }
        for statsClass in DatastoreStatsClass.allCases {
            datastore[statsClass.field] = counters.datastoreRequests[statsClass.rawValue]
        }
        pool[datastoreName(config)] = datastore
        info[config.poolName] = pool
        return info
    }

    /// Dynomite names the datastore `host:port` (just `host` on port 11211); the embedded
    /// engine is named by its directory.
    static func datastoreName(_ config: DynamisConfig) -> String {
        guard let backend = config.servers.first, config.dataStore != .rocksdb else { return "rocksdb:" + config.dataDirectory }
        return backend.endpoint.port == 11211 ? backend.endpoint.host : "\(backend.endpoint.host):\(backend.endpoint.port)"
    }
}
