import NIOConcurrencyHelpers
import Prometheus

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
    private let peerUp: [Gauge]
    private let peerConnections: [Gauge]
    /// Per peer, one counter per outcome, in `PeerMetrics.outcomes` order.
    private let peerRequests: [[Counter]]
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
        let up = named("peer_up", "", "1 when every connection to the peer is established (after authentication).")
        let connections = named("peer_connections", "", "Established connections to the peer, all event loops together.")
        let peers = node.cluster?.peers ?? []
        peerUp = peers.map { registry.makeGauge(descriptor: up, labels: [("peer", $0.name), ("dc", $0.datacenter), ("rack", $0.rack)]) }
        peerConnections = peers.map { registry.makeGauge(descriptor: connections, labels: [("peer", $0.name), ("dc", $0.datacenter), ("rack", $0.rack)]) }
        let peerRequestsName = named("peer_requests", "total", "Requests sent to (or meant for) each peer, by outcome.")
        peerRequests = peers.map { peer in
            Self.outcomes.map { outcome in
                registry.makeCounter(descriptor: peerRequestsName, labels: [("peer", peer.name), ("dc", peer.datacenter),
                                                                    ("rack", peer.rack), ("outcome", outcome.0)])
            }
        }
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
            for (peer, counters) in peerRequests.enumerated() where peer < totals.peers.count {
                let now = totals.peers[peer], before = peer < last.peers.count ? last.peers[peer] : PeerCounters()
                for (i, outcome) in Self.outcomes.enumerated() { counters[i].increment(by: Int64(outcome.1(now) - outcome.1(before))) }
            }
            last = totals
        }
        connections.set(Int64(node.connectedClients.load(ordering: .relaxed)))
        uptime.set(Int64(node.uptimeSeconds))
        let current = node.settings.state
        for (state, gauge) in stateGauges { gauge.set(Int64(state == current ? 1 : 0)) }
        for statistic in node.engine.statistics() { engineGauges[statistic.name]?.set(to: statistic.value) }
        for i in peerUp.indices {
            peerUp[i].set(Int64(node.peerStatus.isConnected(i) ? 1 : 0))
            peerConnections[i].set(Int64(node.peerStatus.connections(i)))
        }
        return registry.emitToString() + Self.histogramText(totals)
    }

    static let outcomes: [(String, @Sendable (PeerCounters) -> Int)] = [
        ("sent", { $0.sent }), ("answered", { $0.answered }), ("refused", { $0.refused }),
        ("timed_out", { $0.timedOut }), ("lost", { $0.lost }), ("not_sent", { $0.notSent }),
    ]

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
