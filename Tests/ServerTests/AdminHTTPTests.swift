import Foundation
import TestSupport
import Testing

/// The admin port: Dynomite's paths, with real values.
@Suite(.timeLimit(.minutes(2)))
struct AdminHTTPTests {
    @Test func infoIsDynomitesJSONAndCountersMove() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let client = try node.client()
        for i in 0..<5 { #expect(try client.command("SET", "k\(i)", "v") == .simple("OK")) }
        for i in 0..<3 { _ = try client.command("GET", "k\(i)") }
        let (status, body) = try httpRequest(port: node.adminPort, path: "/info")
        #expect(status == 200)
        let json = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        #expect(json?["service"] as? String == "dynamis")
        #expect(json?["rack"] as? String == "localrack")
        #expect(json?["dc"] as? String == "localdc")
        #expect(json?["uptime"] is Int)
        let pool = json?["dyn_o_mite"] as? [String: Any]
        #expect(pool?["client_write_requests"] as? Int == 5)
        #expect(pool?["client_read_requests"] as? Int == 3)
        #expect(pool?["client_connections"] as? Int == 1)
        #expect(pool?["peer_requests"] as? Int == 0)
        // Every field Dynomite 0.8 emits (shared/reference/dynomite.md §7), at its level.
        let header = ["service", "source", "version", "uptime", "timestamp", "rack", "dc", "latency_max", "latency_999th",
                      "latency_99th", "latency_95th", "latency_mean", "payload_size_max", "payload_size_999th", "payload_size_99th",
                      "payload_size_95th", "payload_size_mean", "average_cross_region_rtt", "99_cross_region_rtt",
                      "average_cross_zone_latency", "99_cross_zone_latency", "average_server_latency", "99_server_latency",
                      "average_cross_region_queue_wait", "99_cross_region_queue_wait", "average_cross_zone_queue_wait",
                      "99_cross_zone_queue_wait", "average_server_queue_wait", "99_server_queue_wait", "client_out_queue_99",
                      "server_in_queue_99", "server_out_queue_99", "dnode_client_out_queue_99", "peer_in_queue_99", "peer_out_queue_99",
                      "remote_peer_out_queue_99", "remote_peer_in_queue_99", "alloc_msgs", "free_msgs", "alloc_mbufs", "free_mbufs",
                      "dyn_memory"]
        let poolFields = ["client_eof", "client_err", "client_connections", "client_read_requests", "client_write_requests",
                          "client_dropped_requests", "client_non_quorum_w_responses", "client_non_quorum_r_responses", "server_ejects",
                          "dnode_client_eof", "dnode_client_err", "dnode_client_connections", "dnode_client_in_queue",
                          "dnode_client_in_queue_bytes", "dnode_client_out_queue", "dnode_client_out_queue_bytes", "peer_dropped_requests",
                          "peer_timedout_requests", "remote_peer_dropped_requests", "remote_peer_timedout_requests",
                          "remote_peer_failover_requests", "peer_eof", "peer_err", "peer_timedout", "remote_peer_timedout",
                          "peer_connections", "peer_forward_error", "peer_requests", "peer_request_bytes", "peer_responses",
                          "peer_response_bytes", "peer_ejected_at", "peer_ejects", "peer_in_queue", "remote_peer_in_queue",
                          "peer_in_queue_bytes", "remote_peer_in_queue_bytes", "peer_out_queue", "remote_peer_out_queue",
                          "peer_out_queue_bytes", "remote_peer_out_queue_bytes", "peer_mismatch_requests", "forward_error", "fragments",
                          "stats_count"]
        let datastoreFields = ["server_eof", "server_err", "server_timedout", "server_ejected_at", "server_dropped_requests",
                               "server_timedout_requests", "read_requests", "read_request_bytes", "write_requests", "write_request_bytes",
                               "read_responses", "read_response_bytes", "write_responses", "write_response_bytes", "in_queue",
                               "in_queue_bytes", "out_queue", "out_queue_bytes", "redis_req_get", "redis_req_set", "redis_req_del",
                               "redis_req_incr_decr", "redis_req_keys", "redis_req_mget", "redis_req_scan", "redis_req_sort",
                               "redis_req_lreqm", "redis_req_sunion", "redis_req_ping", "redis_req_lists", "redis_req_sets",
                               "redis_req_hashes", "redis_req_sortedsets", "redis_req_other"]
        let datastore = pool?.values.compactMap { $0 as? [String: Any] }.first
        let missingHeader = header.filter { json?[$0] == nil }
        let missingPool = poolFields.filter { pool?[$0] == nil }
        let missingDatastore = datastoreFields.filter { datastore?[$0] == nil }
        #expect(missingHeader.isEmpty)
        #expect(missingPool.isEmpty)
        #expect(missingDatastore.isEmpty)
        // The per-command counters count what the datastore ran.
        #expect(datastore?["redis_req_set"] as? Int == 5)
        #expect(datastore?["redis_req_get"] as? Int == 3)
        #expect(datastore?["write_request_bytes"] as? Int == 5 * ("SET".count + "k0".count + "v".count))
    }

    @Test func actionPaths() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let port = node.adminPort
        #expect(try httpRequest(port: port, path: "/ping") == (200, "OK\r\n"))
        #expect(try httpRequest(port: port, path: "/help").body.contains("/set_consistency"))
        #expect(try httpRequest(port: port, path: "/get_consistency").body == "Read Consistency: DC_ONE\r\nWrite Consistency: DC_ONE\r\n")
        #expect(try httpRequest(port: port, path: "/set_consistency/read/dc_quorum").status == 200)
        #expect(try httpRequest(port: port, path: "/set_consistency/write/DC_SAFE_QUORUM").status == 200)
        #expect(try httpRequest(port: port, path: "/get_consistency").body == "Read Consistency: DC_QUORUM\r\nWrite Consistency: DC_SAFE_QUORUM\r\n")
        #expect(try httpRequest(port: port, path: "/set_consistency/read/everything").status == 400)
        #expect(try httpRequest(port: port, path: "/set_timeout_factor/50").status == 200)
        #expect(try httpRequest(port: port, path: "/get_timeout_factor").body == "Timeout factor: 10\r\n")
        #expect(try httpRequest(port: port, path: "/setloglevel/7").status == 200)
        #expect(try httpRequest(port: port, path: "/loglevelup").status == 200)
        #expect(try httpRequest(port: port, path: "/peer/reset/all").status == 200)
        #expect(try httpRequest(port: port, path: "/peer/down/10.0.0.9:8101").status == 404)
        let describe = try httpRequest(port: port, path: "/cluster_describe")
        let json = try JSONSerialization.jsonObject(with: Data(describe.body.utf8)) as? [String: Any]
        let dcs = json?["dcs"] as? [[String: Any]]
        #expect(dcs?.first?["name"] as? String == "localdc")
        // Dynomite answers unknown paths OK; Dynamis says 404. Actions refuse other methods.
        #expect(try httpRequest(port: port, path: "/no/such/path").status == 404)
        #expect(try httpRequest(port: port, method: "POST", path: "/state/standby").status == 405)
        #expect(try httpRequest(port: port, path: "/state/get_state").body == "State: NORMAL\r\n")
        // INFO over RESP shows the runtime values too.
        guard case .bulk(let info?) = try node.client().command("INFO", "dynamis") else { Issue.record("INFO"); return }
        #expect(String(decoding: info, as: UTF8.self).contains("read_consistency:DC_QUORUM"))
    }

    /// `/metrics` is Prometheus text: every sample line is `name{labels} value`, every metric
    /// has HELP and TYPE, and the counters follow the traffic between scrapes.
    @Test func metricsAreParseablePrometheusText() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        func scrape() throws -> [String: Double] {
            let (status, body) = try httpRequest(port: node.adminPort, path: "/metrics")
            #expect(status == 200)
            var samples: [String: Double] = [:]
            var typed = Set<String>()
            for line in body.split(separator: "\n") {
                if line.hasPrefix("# TYPE ") { typed.insert(String(line.split(separator: " ")[2])); continue }
                if line.hasPrefix("#") { continue }
                guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                    Issue.record("not a sample line: \(line)")
                    continue
                }
                let series = String(line[..<space])
                var name = String(series.prefix { $0 != "{" })
                for suffix in ["_bucket", "_sum", "_count"] where !typed.contains(name) && name.hasSuffix(suffix) {
                    name = String(name.dropLast(suffix.count))  // a histogram's series
                }
                #expect(typed.contains(name), "\(name) has no TYPE line")
                samples[series] = value
            }
            return samples
        }
        let before = try scrape()
        let client = try node.client()
        for i in 0..<7 { _ = try client.command("SET", "m\(i)", "v") }
        for i in 0..<4 { _ = try client.command("GET", "m\(i)") }
        #expect(try httpRequest(port: node.adminPort, path: "/state/writes_only").status == 200)
        _ = try client.command("GET", "m1")
        _ = try client.command("NOSUCHCOMMAND")
        let after = try scrape()
        let writes = "dynamis_client_requests_total{class=\"write\"}"
        let reads = "dynamis_client_requests_total{class=\"read\"}"
        #expect((after[writes] ?? 0) - (before[writes] ?? 0) == 7)
        #expect((after[reads] ?? 0) - (before[reads] ?? 0) == 5)
        #expect(after["dynamis_client_refused_total{cause=\"node_state\"}"] == 1)
        #expect(after["dynamis_node_state{state=\"WRITES_ONLY\"}"] == 1)
        #expect(after["dynamis_node_state{state=\"NORMAL\"}"] == 0)
        #expect(after["dynamis_client_connections"] == 1)
        #expect(after["dynamis_rocksdb_estimated_keys"] != nil)
        #expect(after["dynamis_client_errors_total{cause=\"unknown_command\"}"] == 1)
        #expect(after["dynamis_client_errors_total{cause=\"node_state\"}"] == 1)
        #expect(after["dynamis_client_errors_total{cause=\"storage\"}"] == 0)
        // Latency histograms: every request counted once, buckets cumulative up to +Inf.
        let duration = "dynamis_client_request_duration_seconds"
        for (label, expected) in [("write", 7.0), ("read", 5.0)] {
            let count = (after["\(duration)_count{class=\"\(label)\"}"] ?? 0) - (before["\(duration)_count{class=\"\(label)\"}"] ?? 0)
            #expect(count == expected, "\(label)")
            let buckets = after.filter { $0.key.hasPrefix("\(duration)_bucket{class=\"\(label)\",") }
            #expect(buckets.count == 16)
            let ordered = buckets.sorted { a, b in
                func bound(_ key: String) -> Double { Double(key.split(separator: "\"")[3]) ?? .infinity }
                return bound(a.key) < bound(b.key)
            }.map(\.value)
            #expect(ordered == ordered.sorted(), "buckets must be cumulative")
            #expect(ordered.last == after["\(duration)_count{class=\"\(label)\"}"])
            #expect((after["\(duration)_sum{class=\"\(label)\"}"] ?? 0) > 0)
        }
        // /info's Dynomite latency fields now carry the histogram's values.
        let info = try JSONSerialization.jsonObject(with: Data(try httpRequest(port: node.adminPort, path: "/info").body.utf8)) as? [String: Any]
        #expect((info?["latency_max"] as? Int ?? 0) > 0)
        #expect((info?["latency_99th"] as? Int ?? 0) >= (info?["latency_95th"] as? Int ?? 0))
        // Payload sizes: 7 SETs of "mN" + "v" and 5 GETs of "mN" (argument bytes, name included).
        let payloads = "dynamis_client_request_payload_bytes"
        #expect((after["\(payloads)_count"] ?? 0) - (before["\(payloads)_count"] ?? 0) == 12)
        #expect((after["\(payloads)_sum"] ?? 0) - (before["\(payloads)_sum"] ?? 0) == Double(7 * (3 + 2 + 1) + 5 * (3 + 2)))
        #expect(info?["payload_size_max"] as? Int == 6)
    }

    /// STANDBY serves nothing, WRITES_ONLY (and RESUMING) only writes, NORMAL everything.
    @Test func nodeStatesChangeWhatIsServed() throws {
        let node = try DynamisProcess()
        defer { node.remove() }
        let client = try node.client()
        let refused = RESPValue.error("ERR Dynomite: Dynomite's current state does not allow this request")
        #expect(try client.command("SET", "a", "1") == .simple("OK"))
        #expect(try httpRequest(port: node.adminPort, path: "/state/standby").status == 200)
        #expect(try client.command("GET", "a") == refused)
        #expect(try client.command("SET", "a", "2") == refused)
        #expect(try client.command("PING") == .simple("PONG"))  // the connection itself still answers
        #expect(try httpRequest(port: node.adminPort, path: "/state/writes_only").status == 200)
        #expect(try client.command("GET", "a") == refused)
        #expect(try client.command("SET", "a", "3") == .simple("OK"))
        #expect(try httpRequest(port: node.adminPort, path: "/state/resuming").status == 200)
        #expect(try client.command("EXISTS", "a") == refused)
        #expect(try httpRequest(port: node.adminPort, path: "/state/get_state").body == "State: RESUMING\r\n")
        #expect(try httpRequest(port: node.adminPort, path: "/state/normal").status == 200)
        #expect(try client.command("GET", "a") == .bulk(Array("3".utf8)))
        let pool = try JSONSerialization.jsonObject(with: Data(httpRequest(port: node.adminPort, path: "/info").body.utf8)) as? [String: Any]
        #expect((pool?["dyn_o_mite"] as? [String: Any])?["client_dropped_requests"] as? Int == 4)
    }
}
