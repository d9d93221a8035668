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
    }

    /// The exposition text, given the loops' current totals.
    func render(totals: LoopCounters) -> String {
        exported.withLockedValue { last in
            reads.increment(by: Int64(totals.readRequests - last.readRequests))
            writes.increment(by: Int64(totals.writeRequests - last.writeRequests))
            others.increment(by: Int64(totals.otherRequests - last.otherRequests))
            refusedByState.increment(by: Int64(totals.refusedByState - last.refusedByState))
            connectionsOpened.increment(by: Int64(totals.connectionsOpened - last.connectionsOpened))
            last = totals
        }
        connections.set(Int64(node.connectedClients.load(ordering: .relaxed)))
        uptime.set(Int64(node.uptimeSeconds))
        let current = node.settings.state
        for (state, gauge) in stateGauges { gauge.set(Int64(state == current ? 1 : 0)) }
        for statistic in node.engine.statistics() { engineGauges[statistic.name]?.set(to: statistic.value) }
        return registry.emitToString()
    }
}
