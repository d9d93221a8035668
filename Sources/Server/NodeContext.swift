import Engines
import Logging
import NIOConcurrencyHelpers
import Protocol
import Ring
import Synchronization

/// What every connection of a node shares: config, engine, identity, counters.
public final class NodeContext: Sendable {
    public let config: DynamisConfig
    public let engine: any StorageEngine
    public let tokenizer: KeyTokenizer
    /// Monotonic process start, for uptime.
    let startedAt: ContinuousClock.Instant
    let runID: String
    public let settings: RuntimeSettings
    let nextClientID = Atomic<Int>(1)
    let connectedClients = Atomic<Int>(0)
    let totalConnections = Atomic<Int>(0)
    /// The cluster this node is part of (nil for a node without peers) and its outgoing peer
    /// connections' state. A seed provider may replace both at runtime; each event loop's
    /// coordinator keeps its own copy, so the request path never reads this.
    private let clusterState: NIOLockedValueBox<(cluster: ClusterMap?, status: PeerStatus)>
    public var cluster: ClusterMap? { clusterState.withLockedValue { $0.cluster } }
    public var peerStatus: PeerStatus { clusterState.withLockedValue { $0.status } }
    let loops: Int

    public static let version = "0.1.0"
    /// The Redis version whose command semantics Dynamis implements, reported where clients
    /// look for a Redis version (HELLO, INFO).
    public static let redisCompatibleVersion = "7.0.15"

    /// The node's TLS contexts, when `tls_cert_file` is set.
    let tls: NodeTLS?
    /// Open client connections (CLIENT KILL) and CLIENT PAUSE's state.
    let clients = ClientRegistry()
    let pause = ClientPause()

    /// Stamps the writes this node coordinates (`WriteVersion`).
    let clock: HybridClock
    /// Hinted handoff's hints (nil: off, or a node without peers).
    let hints: HintStore?
    /// `read_repairs` (Dynomite's switch; the admin paths flip it).
    let readRepairs: Synchronization.Atomic<Bool>
    /// Read repairs performed (a winner written back) and stale replicas found by them.
    let readRepairsDone = Synchronization.Atomic<Int>(0)
    let staleReplicasFound = Synchronization.Atomic<Int>(0)
    /// DYNAMIS.APPLY frames that carried one part of a state too large for one (`StateTransfer`).
    let statePartsSent = Synchronization.Atomic<Int>(0)
    /// Stamped writes from peers refused because they arrived after their coordinator's timeout.
    let lateWritesRefused = Synchronization.Atomic<Int>(0)
    /// Anti-entropy's progress and `/repair` requests.
    let repair = RepairStatus()
    /// The membership epoch (joins, decommissions, replacements) and the stream of a change.
    let membership: MembershipStore

    /// The node's name for its write versions' node id: its peer name in a cluster.
    static func name(config: DynamisConfig, cluster: ClusterMap?) -> String { cluster?.local.name ?? "\(config.listen)" }

    /// Convergence figures for `/info` and `/metrics`: hints and read repair.
    var convergence: [(name: String, value: Int)] {
        let counters = hints?.counters ?? HintStore.Counters()
        return [("hints_stored", counters.stored), ("hints_pending", hints?.pending.values.reduce(0, +) ?? 0),
                ("hints_replayed", counters.replayed), ("hints_dropped_window", counters.droppedWindow),
                ("hints_dropped_cap", counters.droppedCap), ("hints_dropped_by_operator", counters.droppedByOperator),
                ("read_repairs", readRepairsDone.load(ordering: .relaxed)),
                ("stale_replicas", staleReplicasFound.load(ordering: .relaxed)),
                ("state_parts_sent", statePartsSent.load(ordering: .relaxed)),
                ("late_writes_refused", lateWritesRefused.load(ordering: .relaxed))] + repair.figures
            + [("topology_epoch", Int(membership.current?.epoch ?? 0)), ("topology_change_running", membership.current?.change == nil ? 0 : 1),
               ("cleanup_ranges_dropped", membership.rangesDropped.load(ordering: .relaxed))]
            + membership.stream.figures
    }

    public init(config: DynamisConfig, engine: any StorageEngine, cluster: ClusterMap? = nil, loops: Int = 1, tls: NodeTLS? = nil,
                clock: HybridClock? = nil, hints: HintStore? = nil, membership: MembershipStore? = nil) {
        self.membership = membership ?? MembershipStore(config: config, file: nil, logger: Logger(label: "dynamis.membership"))
        self.clock = clock ?? HybridClock(nodeID: WriteVersion.nodeID(name: Self.name(config: config, cluster: cluster)))
        self.hints = hints
        self.readRepairs = Atomic(config.readRepairs)
        self.config = config
        self.tls = tls
        self.loops = loops
        clusterState = NIOLockedValueBox((cluster, Self.status(for: cluster, config: config, loops: loops)))
        self.engine = engine
        self.tokenizer = config.tokenizer
        self.settings = RuntimeSettings(config: config)
        self.startedAt = .now
        var generator = SystemRandomNumberGenerator()
        self.runID = (0..<40).map { _ in String("0123456789abcdef".randomElement(using: &generator)!) }.joined()
    }

    static func status(for cluster: ClusterMap?, config: DynamisConfig, loops: Int) -> PeerStatus {
        PeerStatus(expected: (cluster?.peers ?? []).map { peer in
            loops * max(1, peer.datacenter == config.datacenter ? config.localPeerConnections : config.remotePeerConnections)
        })
    }

    /// Installs a new topology (from a seed provider); returns the peer status to link with.
    func install(_ cluster: ClusterMap?) -> PeerStatus {
        let status = Self.status(for: cluster, config: config, loops: loops)
        clusterState.withLockedValue { $0 = (cluster, status) }
        return status
    }

    /// Whether the engine forwards to a backend (and so runs every command the table can route).
    var forwardsCommands: Bool { config.dataStore != .rocksdb }

    /// The commands this node runs, for COMMAND.
    var commands: [CommandSpec] {
        CommandTable.all.filter { spec in
            !spec.isUnsupported && !spec.flags.contains(.peerOnly) && (forwardsCommands || !spec.flags.contains(.forwardable))
        }
    }

    var uptimeSeconds: Int {
        Int((ContinuousClock.now - startedAt).components.seconds)
    }
}
