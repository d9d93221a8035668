import NIOConcurrencyHelpers
import Prometheus
import Ring

/// `/metrics` in the Prometheus text format (swift-prometheus). The request path keeps its
/// counters per event loop; a scrape sums them and moves the Prometheus counters by what
/// changed since the previous scrape, so counting costs requests nothing shared.
final class NodeMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let reads: Counter
    private let writes: Counter
    private let others: Counter
    private let refusedByState: Counter
    private let connectionsOpened: Counter
    private let connections: Gauge
    private let uptime: Gauge
    private let stateGauges: [(NodeState, Gauge)]
    private let engineGauges: [String: Gauge]
    private let errorCounters: [Counter]
    private let disconnectCounters: [Counter]
    private let exported = NIOLockedValueBox(LoopCounters())
    private let node: NodeContext

    init(node: NodeContext) {
        self.node = node
        func named(_ name: String, _ unit: String = "", _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "dynamis", metricName: name, unitName: unit, helpText: help)
        }
        let requests = named("client_requests", "total", "Client requests, by class (read, write, or answered by the connection itself).")
        reads = registry.makeCounter(descriptor: requests, labels: [("class", "read")])
        writes = registry.makeCounter(descriptor: requests, labels: [("class", "write")])
        others = registry.makeCounter(descriptor: requests, labels: [("class", "other")])
        refusedByState = registry.makeCounter(descriptor: named("client_refused", "total", "Client requests refused, by cause."),
                                              labels: [("cause", "node_state")])
        connectionsOpened = registry.makeCounter(descriptor: named("client_connections_opened", "total", "Client connections accepted."))
        connections = registry.makeGauge(descriptor: named("client_connections", "", "Open client connections."))
        uptime = registry.makeGauge(descriptor: named("uptime", "seconds", "Seconds since the node started."))
        let state = named("node_state", "", "1 for the node's current state (NORMAL, STANDBY, WRITES_ONLY, RESUMING).")
        let registry = self.registry
        stateGauges = NodeState.allCases.map { ($0, registry.makeGauge(descriptor: state, labels: [("state", $0.name)])) }
        var engineGauges: [String: Gauge] = [:]
        for statistic in node.engine.statistics() {
            engineGauges[statistic.name] = registry.makeGauge(descriptor: named(statistic.name, "", statistic.help))
        }
        self.engineGauges = engineGauges
        let errors = named("client_errors", "total", "Error replies a client got instead of its answer, by cause.")
        errorCounters = ErrorCause.allCases.map { registry.makeCounter(descriptor: errors, labels: [("cause", $0.label)]) }
        let closed = named("client_disconnections", "total",
                           "Client connections the node closed itself, by cause (maxclients, output_buffer_limit, idle_timeout, query_buffer_limit).")
        disconnectCounters = DisconnectCause.allCases.map { registry.makeCounter(descriptor: closed, labels: [("cause", $0.label)]) }
    }

    /// The exposition text, given the loops' current totals.
    func render(totals: LoopCounters) -> String {
        exported.withLockedValue { last in
            reads.increment(by: Int64(totals.readRequests - last.readRequests))
            writes.increment(by: Int64(totals.writeRequests - last.writeRequests))
            others.increment(by: Int64(totals.otherRequests - last.otherRequests))
            refusedByState.increment(by: Int64(totals.refusedByState - last.refusedByState))
            connectionsOpened.increment(by: Int64(totals.connectionsOpened - last.connectionsOpened))
            for (i, counter) in errorCounters.enumerated() { counter.increment(by: Int64(totals.errors[i] - last.errors[i])) }
            for (i, counter) in disconnectCounters.enumerated() { counter.increment(by: Int64(totals.disconnects[i] - last.disconnects[i])) }
            last = totals
        }
        connections.set(Int64(node.connectedClients.load(ordering: .relaxed)))
        uptime.set(Int64(node.uptimeSeconds))
        let current = node.settings.state
        for (state, gauge) in stateGauges { gauge.set(Int64(state == current ? 1 : 0)) }
        for statistic in node.engine.statistics() { engineGauges[statistic.name]?.set(to: statistic.value) }
        return registry.emitToString() + Self.histogramText(totals) + peerText(totals) + convergenceText()
    }

    static let outcomes: [(String, @Sendable (PeerCounters) -> Int)] = [
        ("sent", { $0.sent }), ("answered", { $0.answered }), ("refused", { $0.refused }),
        ("timed_out", { $0.timedOut }), ("lost", { $0.lost }), ("not_sent", { $0.notSent }),
    ]

    /// The peers' series, written here because a seed provider can change the set of peers at
    /// runtime (the registry's series are fixed at startup). Request counters restart when a
    /// new topology replaces the links, which Prometheus reads as a counter reset.
    private func peerText(_ totals: LoopCounters) -> String {
        let cluster = node.cluster
        let status = node.peerStatus
        guard let peers = cluster?.peers, !peers.isEmpty else { return "" }
        var text = "# HELP dynamis_peer_up 1 when every connection to the peer is established (after authentication).\n# TYPE dynamis_peer_up gauge\n"
        func labels(_ peer: Node) -> String { "peer=\"\(peer.name)\",dc=\"\(peer.datacenter)\",rack=\"\(peer.rack)\"" }
        for (i, peer) in peers.enumerated() { text += "dynamis_peer_up{\(labels(peer))} \(status.isConnected(i) ? 1 : 0)\n" }
        text += "# HELP dynamis_peer_connections Established connections to the peer, all event loops together.\n# TYPE dynamis_peer_connections gauge\n"
        for (i, peer) in peers.enumerated() { text += "dynamis_peer_connections{\(labels(peer))} \(status.connections(i))\n" }
        text += "# HELP dynamis_peer_requests_total Requests sent to (or meant for) each peer, by outcome.\n# TYPE dynamis_peer_requests_total counter\n"
        for (i, peer) in peers.enumerated() where i < totals.peers.count {
            for (outcome, value) in Self.outcomes { text += "dynamis_peer_requests_total{\(labels(peer)),outcome=\"\(outcome)\"} \(value(totals.peers[i]))\n" }
        }
        return text
    }

    /// Hinted handoff and read repair (written here: pending hints are labelled by target,
    /// and targets come and go with the topology).
    private func convergenceText() -> String {
        let figures = Dictionary(uniqueKeysWithValues: node.convergence.map { ($0.name, $0.value) })
        var text = "# HELP dynamis_hints_stored_total Hints recorded for replicas that did not acknowledge a write (one per key and miss).\n# TYPE dynamis_hints_stored_total counter\n"
        text += "dynamis_hints_stored_total \(figures["hints_stored"] ?? 0)\n"
        text += "# HELP dynamis_hints_pending Distinct keys whose state is still to be sent to a target.\n# TYPE dynamis_hints_pending gauge\n"
        for (target, count) in (node.hints?.pending ?? [:]).sorted(by: { $0.key < $1.key }) {
            text += "dynamis_hints_pending{target=\"\(target)\"} \(count)\n"
        }
        text += "# HELP dynamis_hints_replayed_total Hinted keys whose state reached their target.\n# TYPE dynamis_hints_replayed_total counter\n"
        text += "dynamis_hints_replayed_total \(figures["hints_replayed"] ?? 0)\n"
        text += "# HELP dynamis_hints_dropped_total Hints dropped, by reason (window: max_hint_window passed; cap: max_hints_per_target; operator: /hints/drop).\n# TYPE dynamis_hints_dropped_total counter\n"
        text += "dynamis_hints_dropped_total{reason=\"window\"} \(figures["hints_dropped_window"] ?? 0)\n"
        text += "dynamis_hints_dropped_total{reason=\"cap\"} \(figures["hints_dropped_cap"] ?? 0)\n"
        text += "dynamis_hints_dropped_total{reason=\"operator\"} \(figures["hints_dropped_by_operator"] ?? 0)\n"
        text += "# HELP dynamis_read_repairs_total Quorum reads whose replicas disagreed and were repaired with the newest state.\n# TYPE dynamis_read_repairs_total counter\n"
        text += "dynamis_read_repairs_total \(figures["read_repairs"] ?? 0)\n"
        text += "# HELP dynamis_stale_replicas_total Replicas found holding an older state by read repair.\n# TYPE dynamis_stale_replicas_total counter\n"
        text += "dynamis_stale_replicas_total \(figures["stale_replicas"] ?? 0)\n"
        text += "# HELP dynamis_state_parts_sent_total State transfers' APPLY frames that carried one part of a collection larger than state_chunk_size.\n# TYPE dynamis_state_parts_sent_total counter\n"
        text += "dynamis_state_parts_sent_total \(figures["state_parts_sent"] ?? 0)\n"
        text += "# HELP dynamis_late_writes_refused_total Writes from a peer refused because they arrived after the coordinator's timeout (a hint carries their key instead).\n# TYPE dynamis_late_writes_refused_total counter\n"
        text += "dynamis_late_writes_refused_total \(figures["late_writes_refused"] ?? 0)\n"
        text += Self.passText("repair", "an anti-entropy pass", figures, counters: [
            ("passes", "Anti-entropy passes finished."),
            ("segments_compared", "Token segments whose digests were compared with another replica."),
            ("segments_differing", "Compared segments whose digests differed."),
            ("keys_compared", "Keys listed in differing segments, both copies counted."),
            ("keys_pulled", "Keys whose newer state was fetched from another replica."),
            ("keys_pushed", "Keys whose newer state was sent to another replica."),
            ("transfer_errors", "Key states that could not be read or written during repair."),
            ("keys_ambiguous", "Keys the copies disagree on with no majority (Redis engine), left alone."),
            ("bytes_exchanged", "Request and reply bytes exchanged with other replicas by repair.")])
        text += Self.gauge("topology_epoch", "The newest membership epoch this node has.", figures)
        text += Self.gauge("topology_change_running", "Whether a membership change (join, leave, replace) is in flight.", figures)
        text += Self.passText("stream", "a stream of the ranges a membership change gives this node", figures, counters: [
            ("keys_pulled", "Keys streamed to this node for ranges it gains."),
            ("bytes_exchanged", "Request and reply bytes exchanged by streams."),
            ("transfer_errors", "Key states a stream could not read or write.")])
        text += "# HELP dynamis_cleanup_ranges_dropped_total Token ranges dropped after membership changes.\n# TYPE dynamis_cleanup_ranges_dropped_total counter\n"
        text += "dynamis_cleanup_ranges_dropped_total \(figures["cleanup_ranges_dropped"] ?? 0)\n"
        return text
    }

    static func gauge(_ name: String, _ help: String, _ figures: [String: Int]) -> String {
        "# HELP dynamis_\(name) \(help)\n# TYPE dynamis_\(name) gauge\ndynamis_\(name) \(figures[name] ?? 0)\n"
    }

    /// A pass's figures (anti-entropy's `repair_*`, a membership stream's `stream_*`): whether one
    /// runs, its ranges by state, and its counters.
    static func passText(_ prefix: String, _ what: String, _ figures: [String: Int], counters: [(String, String)]) -> String {
        var text = gauge("\(prefix)_running", "Whether \(what) is running\(prefix == "repair" ? " or asked for" : "").", figures)
        text += "# HELP dynamis_\(prefix)_ranges Ranges of the current or last pass of \(what), by state.\n# TYPE dynamis_\(prefix)_ranges gauge\n"
        for state in ["total", "done", "failed"] {
            text += "dynamis_\(prefix)_ranges{state=\"\(state)\"} \(figures["\(prefix)_ranges_\(state)"] ?? 0)\n"
        }
        for (name, help) in counters {
            text += "# HELP dynamis_\(prefix)_\(name)_total \(help)\n# TYPE dynamis_\(prefix)_\(name)_total counter\n"
            text += "dynamis_\(prefix)_\(name)_total \(figures["\(prefix)_\(name)"] ?? 0)\n"
        }
        return text
    }

    /// Request latency as a Prometheus histogram. The loops keep pre-bucketed counts, which
    /// swift-prometheus's histograms cannot take (they record one observation at a time), so
    /// these lines are written here, in the same exposition format.
    static func histogramText(_ totals: LoopCounters) -> String {
        let name = "dynamis_client_request_duration_seconds"
        var text = "# HELP \(name) From reading a request to writing its reply, by class.\n# TYPE \(name) histogram\n"
        for (label, histogram) in [("read", totals.readLatency), ("write", totals.writeLatency)] {
            var cumulative = 0
            for (i, bound) in LatencyHistogram.bounds.enumerated() {
                cumulative += histogram.counts[i]
                text += "\(name)_bucket{class=\"\(label)\",le=\"\(Double(bound) / 1_000_000)\"} \(cumulative)\n"
            }
            text += "\(name)_bucket{class=\"\(label)\",le=\"+Inf\"} \(histogram.count)\n"
            text += "\(name)_sum{class=\"\(label)\"} \(Double(histogram.sum) / 1_000_000)\n"
            text += "\(name)_count{class=\"\(label)\"} \(histogram.count)\n"
        }
        let sizes = "dynamis_client_request_payload_bytes"
        text += "# HELP \(sizes) Request payload sizes: the command's argument bytes.\n# TYPE \(sizes) histogram\n"
        var cumulative = 0
        for (i, bound) in SizeHistogram.bounds.enumerated() {
            cumulative += totals.payloadSizes.counts[i]
            text += "\(sizes)_bucket{le=\"\(bound)\"} \(cumulative)\n"
        }
        text += "\(sizes)_bucket{le=\"+Inf\"} \(totals.payloadSizes.count)\n"
        text += "\(sizes)_sum \(totals.payloadSizes.sum)\n\(sizes)_count \(totals.payloadSizes.count)\n"
        return text
    }
}
