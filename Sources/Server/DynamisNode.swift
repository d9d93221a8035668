import Engines
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Protocol
import Ring

/// A running node: its engine, its client listener and its background tasks.
public final class DynamisNode: Sendable {
    public let context: NodeContext
    let group: MultiThreadedEventLoopGroup
    /// The plaintext client listener and the TLS one, whichever are configured.
    let clientChannels: [Channel]
    let adminChannel: Channel
    let peerChannel: Channel?
    let loops: LoopSessions
    let logger: Logger
    let tasks: [RepeatedTask]
    let sweeper: BackgroundSweeper?

    /// Opens the engine and starts listening. Throws on a bad data directory or a busy port.
    public static func start(config: DynamisConfig, logger: Logger) async throws -> DynamisNode {
        for warning in config.warnings { logger.warning("\(warning)") }
        let seedMembership = try ClusterMap.seedMembership(config: config)
        let polled = config.dynSeedProvider != "simple_provider"
        let clustered = seedMembership != nil || polled
        // A node that replicates keeps its clock's reservation and its hints under data_dir,
        // whatever its engine.
        if config.dataStore == .rocksdb || clustered {
            try FileManager.default.createDirectory(atPath: config.dataDirectory, withIntermediateDirectories: true)
        }
        // A RocksDB node's data_dir is its own; nodes in front of redis-server or memcached often
        // share the default one on a host, so their files carry the node's peer port.
        // They carry its address too: Dynomite's tooling gives every node its own loopback
        // address and the same ports, all in one working directory. A name by port alone (what
        // earlier builds wrote) is kept where it already exists, so nothing pending is lost.
        let peerEndpoint = config.dynListen ?? config.listen
        func nodeFile(_ base: String) -> String {
            guard config.dataStore != .rocksdb else { return config.dataDirectory + "/" + base.replacingOccurrences(of: "#", with: "") }
            let legacy = config.dataDirectory + "/" + base.replacingOccurrences(of: "#", with: "-\(peerEndpoint.port)")
            if FileManager.default.fileExists(atPath: legacy) { return legacy }
            return config.dataDirectory + "/" + base.replacingOccurrences(of: "#", with: "-\(peerEndpoint.host)-\(peerEndpoint.port)")
        }
        // The newest membership epoch this node saw (joins, decommissions) outranks dyn_seeds.
        let membership = MembershipStore(config: config, file: clustered ? nodeFile("topology#.json") : nil, logger: logger)
        let cluster = try membership.load(seeds: seedMembership).map { m throws(ConfigError) in try ClusterMap.make(config: config, membership: m) }
        if let cluster, cluster.membership.change?.node.name == cluster.local.name, cluster.membership.change?.kind != .leave {
            logger.notice("membership: this node is \(cluster.membership.change!.kind == .join ? "joining" : "replacing a node"); it owns no tokens until its ranges have streamed to it")
        }
        let clock = HybridClock(nodeID: WriteVersion.nodeID(name: NodeContext.name(config: config, cluster: cluster)),
                                reservationFile: clustered || config.dataStore == .rocksdb ? nodeFile("dynamis#.clock") : nil)
        let engine: any StorageEngine
        switch config.dataStore {
        case .rocksdb:
            let tokenizer = config.tokenizer
            let rocks = try RocksDBEngine(options: config.rocksdb, keyHashIdentity: config.keyHashIdentity, clock: clock) { key in
                tokenizer.token(of: key)
            }
            rocks.tombstoneGrace = Int64(config.tombstoneGrace)
            engine = rocks
        case .redis, .memcached:
            let backend = config.servers[0]
            var options = BackendOptions(host: backend.endpoint.host, port: backend.endpoint.port)
            options.connectionsPerLoop = config.datastoreConnections
            options.timeoutMilliseconds = config.timeoutMilliseconds
            options.retryCapMilliseconds = config.serverRetryTimeout
            options.password = config.datastorePassword
            engine = BackendEngine(kind: config.dataStore == .redis ? .redis : .memcached, options: options, logger: logger)
        }
        let threads = config.ioThreads > 0 ? config.ioThreads : System.coreCount
        let tls: NodeTLS?
        do {
            tls = config.tls.isConfigured ? try NodeTLS(settings: config.tls, logger: logger) : nil
        } catch {
            engine.shutdown()
            throw error
        }
        var hints: HintStore?
        if clustered, config.hintedHandoff {
            do {
                hints = try HintStore(directory: nodeFile("hints#"), window: Int64(config.maxHintWindow),
                                      capPerTarget: config.maxHintsPerTarget, logger: logger)
            } catch {
                engine.shutdown()
                throw ConfigError(key: "data_dir", "cannot open the hint store: \(error.message)")
            }
            if let pending = hints?.pending, !pending.isEmpty {
                logger.notice("hinted handoff: \(pending.values.reduce(0, +)) hint(s) kept from before the restart, for \(pending.keys.sorted().joined(separator: ", "))")
            }
        }
        let context = NodeContext(config: config, engine: engine, cluster: cluster, loops: threads, tls: tls, clock: clock, hints: hints, membership: membership)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let loopSessions = LoopSessions(group: group, engine: engine)
        var peerChannel: Channel?
        // A listener that cannot bind undoes what started before it, in reverse order.
        func abandon(_ opened: [Channel?]) async {
            for channel in opened { try? await channel?.close() }
            await Self.closeOutgoing(loopSessions)
            engine.shutdown()
            try? await group.shutdownGracefully()
        }
        if let cluster {
            for loop in loopSessions.all {
                try await loop.eventLoop.submit {
                    let links = PeerLinks(eventLoop: loop.eventLoop, cluster: cluster, config: config,
                                          status: context.peerStatus, tls: context.tls, logger: logger)
                    loop.coordinator = Coordinator(cluster: cluster, links: links, node: context, loop: loop, logger: logger)
                }.get()
            }
        }
        // A node whose seeds come from a provider listens for peers even before it has any.
        if cluster != nil || polled {
            let listen = config.dynListen!
            do {
                peerChannel = try await ServerBootstrap(group: group)
                    .serverChannelOption(.backlog, value: Int32(config.backlog))
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                    .childChannelOption(.socketOption(.so_keepalive), value: 1)
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            let handler = PeerServerHandler(node: context, loop: loopSessions.session(for: channel.eventLoop),
                                                            channel: channel, logger: logger)
                            // Each incoming link is TLS or plaintext by its first bytes (see PeerTLSSniffer).
                            try channel.pipeline.syncOperations.addHandler(
                                PeerTLSSniffer(tls: tls?.peerListenerContext, logger: logger) { handler.encrypted = $0 })
                            try channel.pipeline.syncOperations.addHandler(handler)
                        }
                    }
                    .bind(host: listen.host, port: listen.port)
                    .get()
            } catch {
                await abandon([])
                throw ConfigError(key: "dyn_listen", "cannot listen on \(listen): \(error)")
            }
        }
        // The admin port comes up first: once clients can connect, the node can be watched.
        let adminChannel: Channel
        do {
            let routes = AdminRoutes(node: context, loops: loopSessions, eventLoop: group.next())
            adminChannel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandler(AdminHTTPHandler(admin: routes))
                    }
                }
                .bind(host: config.statsListen.host, port: config.statsListen.port)
                .get()
        } catch {
            await abandon([peerChannel])
            throw ConfigError(key: "stats_listen", "cannot listen on \(config.statsListen): \(error)")
        }
        /// A client listener; with `secure` its connections start with a TLS handshake.
        func clientListener(port: Int, secure: NIOSSLContext?) async throws -> Channel {
            try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: Int32(config.backlog))
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.socketOption(.so_keepalive), value: 1)
                .childChannelOption(.maxMessagesPerRead, value: 16)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let secure {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: secure))
                        }
                        if config.clientTimeoutSeconds > 0 {
                            // Only with client_timeout set: otherwise no stage sits on the request path.
                            try channel.pipeline.syncOperations.addHandler(
                                IdleStateHandler(readTimeout: .seconds(Int64(config.clientTimeoutSeconds))))
                        }
                        try channel.pipeline.syncOperations.addHandler(
                            ClientConnectionHandler(node: context, loop: loopSessions.session(for: channel.eventLoop),
                                                    channel: channel, logger: logger))
                    }
                }
                .bind(host: config.listen.host, port: port)
                .get()
        }
        // `listen` with port 0 turns the plaintext port off (clients then use tls_port only).
        var channel: Channel?
        if config.listen.port != 0 {
            do {
                channel = try await clientListener(port: config.listen.port, secure: nil)
            } catch {
                await abandon([adminChannel, peerChannel])
                throw ConfigError(key: "listen", "cannot listen on \(config.listen): \(error)")
            }
        }
        var tlsChannel: Channel?
        if let port = config.tls.port, let tls {
            do {
                tlsChannel = try await clientListener(port: port, secure: tls.clientContext)
            } catch {
                await abandon([adminChannel, peerChannel, channel])
                throw ConfigError(key: "tls_port", "cannot listen on \(config.listen.host):\(port): \(error)")
            }
        }
        var tasks: [RepeatedTask] = []
        var sweeper: BackgroundSweeper?
        if let rocks = engine as? RocksDBEngine {
            // Reclaim expired keys' and orphaned elements' space in the background (reads never
            // see them anyway), off the event loops: see BackgroundSweeper.
            let background = BackgroundSweeper(engine: rocks)
            sweeper = background
            tasks.append(group.next().scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) { _ in
                background.tick()
            })
            if rocks.fsyncPolicy == .everysec {
                tasks.append(group.next().scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
                    rocks.syncWAL()
                })
            }
        }
        if let hints, let replayLoop = loopSessions.all.first {
            // Hint replay runs on one loop, through that loop's coordinator.
            let replayer = try await replayLoop.eventLoop.submit {
                NIOLoopBound(HintReplayer(loop: replayLoop, store: hints, node: context, logger: logger), eventLoop: replayLoop.eventLoop)
            }.get()
            tasks.append(replayLoop.eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(200), delay: .milliseconds(200)) { _ in
                replayer.value.tick()
            })
        }
        if clustered, config.dataStore != .memcached, let repairLoop = loopSessions.all.last {
            // Anti-entropy runs on one loop (the last: hint replay has the first), through its coordinator.
            let antiEntropy = try await repairLoop.eventLoop.submit {
                NIOLoopBound(AntiEntropy(loop: repairLoop, node: context, logger: logger), eventLoop: repairLoop.eventLoop)
            }.get()
            tasks.append(repairLoop.eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(200), delay: .milliseconds(200)) { _ in
                antiEntropy.value.tick()
            })
        }
        if clustered, let agentLoop = loopSessions.all.last {
            // Membership gossip, a change's stream and the cleanup after it, on one loop.
            membership.setInstaller { map in ClusterInstall.install(map, node: context, loops: loopSessions, logger: logger) }
            let agent = try await agentLoop.eventLoop.submit {
                NIOLoopBound(MembershipAgent(loop: agentLoop, node: context, logger: logger), eventLoop: agentLoop.eventLoop)
            }.get()
            tasks.append(agentLoop.eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(MembershipAgent.tickMillis)) { _ in
                agent.value.tick()
            })
        }
        if let tls {
            if tls.settings.reloadIntervalSeconds > 0 {
                // New connections pick up a replaced certificate and key from the next check on.
                let interval = TimeAmount.seconds(Int64(tls.settings.reloadIntervalSeconds))
                tasks.append(group.next().scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in tls.reload() })
            }
            if let port = config.tls.port {
                logger.notice("TLS clients on \(config.listen.host):\(port) (client certificates: \(config.tls.authClients.rawValue)); peer links encrypted: \(config.secureServerOption)")
            }
        }
        logger.notice("dynamis \(NodeContext.version) listening on \(config.listen) (engine \(config.dataStore.rawValue), data \(config.dataDirectory), dc \(config.datacenter), rack \(config.rack), token \(config.token))")
        if let cluster {
            logger.notice("peers on \(config.dynListen!): \(cluster.peers.count) peers, \(cluster.topology.datacenters.count) datacenter(s), \(cluster.topology.localReplicationFactor) rack(s) here; consistency read \(config.readConsistency.rawValue), write \(config.writeConsistency.rawValue)")
        }
        switch config.dynSeedProvider {
        case "florida_provider":
            tasks.append(FloridaSeedProvider(node: context, loops: loopSessions, eventLoop: group.next(), logger: logger).start())
        case "dns_provider":
            tasks.append(DNSSeedProvider(node: context, loops: loopSessions, eventLoop: group.next(), logger: logger).start())
        default:
            break
        }
        return DynamisNode(context: context, group: group, clientChannels: [channel, tlsChannel].compactMap { $0 }, adminChannel: adminChannel,
                           peerChannel: peerChannel, loops: loopSessions, logger: logger, tasks: tasks, sweeper: sweeper)
    }

    /// Closes every loop's peer and backend connections for good, on their loops, before the
    /// loops shut down: a connection failing afterwards would try to schedule its reconnect
    /// on a loop that is gone.
    static func closeOutgoing(_ loops: LoopSessions) async {
        for loop in loops.all {
            try? await loop.eventLoop.submit {
                loop.coordinator?.links.closeAll()
                loop.session.close()
            }.get()
        }
    }

    private init(context: NodeContext, group: MultiThreadedEventLoopGroup, clientChannels: [Channel], adminChannel: Channel,
                 peerChannel: Channel?, loops: LoopSessions, logger: Logger, tasks: [RepeatedTask], sweeper: BackgroundSweeper?) {
        self.context = context
        self.group = group
        self.clientChannels = clientChannels
        self.adminChannel = adminChannel
        self.peerChannel = peerChannel
        self.loops = loops
        self.logger = logger
        self.tasks = tasks
        self.sweeper = sweeper
    }

    /// The port actually bound (useful when the config asked for port 0).
    public var clientPort: Int? { clientChannels.first?.localAddress?.port }

    /// Stops accepting, closes connections, then closes the engine cleanly.
    public func stop() async {
        for task in tasks { task.cancel() }
        for channel in clientChannels { try? await channel.close() }
        try? await peerChannel?.close()
        await Self.closeOutgoing(loops)
        try? await adminChannel.close()
        try? await group.shutdownGracefully()
        await sweeper?.shutdown()
        context.engine.shutdown()
        logger.notice("dynamis stopped")
    }
}
