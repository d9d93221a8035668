import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Ring

/// What a seed provider (Florida, DNS) does with a fetched seed list: parse it
/// (`host:port:rack:dc:token` entries separated by `|` or newlines) and, when it changed and
/// forms a valid cluster, make it the node's topology at once. Each event loop gets new peer
/// links and a new coordinator; the old links close after their requests have had time to finish.
final class SeedListApplier: Sendable {
    private let provider: String
    private let node: NodeContext
    private let loops: LoopSessions
    private let logger: Logger
    private let lastBody = NIOLockedValueBox<String?>(nil)

    init(provider: String, node: NodeContext, loops: LoopSessions, logger: Logger) {
        self.provider = provider
        self.node = node
        self.loops = loops
        self.logger = logger
    }

    func received(_ body: String) {
        let changed = lastBody.withLockedValue { last -> Bool in
            defer { last = body }
            return last != body
        }
        guard changed else { return }
        var seeds: [DynamisConfig.Seed] = []
        for entry in body.split(whereSeparator: { $0 == "|" || $0.isNewline }) {
            let trimmed = entry.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            do {
                seeds.append(try ConfigLoader.parseSeed(trimmed, key: provider))
            } catch {
                logger.error("\(provider): \(error); keeping the current seeds")
                return
            }
        }
        apply(seeds)
    }

    private func apply(_ seeds: [DynamisConfig.Seed]) {
        let map: ClusterMap?
        do {
            map = try ClusterMap.make(config: node.config, seeds: seeds)
        } catch {
            logger.error("\(provider): the new seeds do not form a valid cluster (\(error)); keeping the current seeds")
            return
        }
        let describe = { (m: ClusterMap?) in Set((m?.peers ?? []).map { "\($0.name) \($0.datacenter)/\($0.rack) \($0.token)" }) }
        let before = describe(node.cluster), after = describe(map)
        guard before != after else { return }
        if let epoch = node.membership.current?.epoch, epoch > 0 {
            logger.warning("\(provider): the seed list changed, but the topology is at membership epoch \(epoch) (changed through /topology); ignoring the seed list")
            return
        }
        if let map { node.membership.adoptSeeds(map.membership) }
        logger.notice("\(provider): topology changed to \(after.count) peers (added \(after.subtracting(before).sorted()), removed \(before.subtracting(after).sorted()))")
        ClusterInstall.install(map, node: node, loops: loops, logger: logger)
    }
}

/// Makes a cluster map the node's topology: each event loop gets new peer links and a new
/// coordinator; the old links close after their requests have had time to finish. A loop
/// switches once its new links to every peer its old links reached are ready (at most
/// `readyWait`), so requests never meet links still connecting: a membership change does not
/// fail the writes taken while it installs.
enum ClusterInstall {
    static let readyWait = 100
    static let readyPoll = TimeAmount.milliseconds(20)

    static func install(_ map: ClusterMap?, node: NodeContext, loops: LoopSessions, logger: Logger) {
        let status = node.install(map)
        let config = node.config
        let grace = TimeAmount.milliseconds(Int64(2 * config.timeoutMilliseconds))
        for loop in loops.all {
            loop.eventLoop.execute { [node, logger] in
                loop.clusterGeneration += 1
                let generation = loop.clusterGeneration
                let oldCoordinator = loop.coordinator
                let old = oldCoordinator?.links
                guard let map else {
                    loop.coordinator = nil
                    if let old { loop.eventLoop.scheduleTask(in: grace) { old.closeAll() } }
                    return
                }
                let links = PeerLinks(eventLoop: loop.eventLoop, cluster: map, config: config, status: status, tls: node.tls, logger: logger)
                // The peers the old links reached: wait for the new links to them.
                let awaited = map.peers.indices.filter { index in
                    guard let old, let before = oldCoordinator?.cluster.peerIndex[map.peers[index].name] else { return false }
                    return old.isReady(before)
                }
                LinkSwap(loop: loop, generation: generation, map: map, links: links, awaited: awaited,
                         node: node, grace: grace, logger: logger).check()
            }
        }
    }
}

/// One loop's switch to new links, once they are ready (or `readyWait` polls passed).
private final class LinkSwap {
    let loop: LoopSession
    let generation: Int
    let map: ClusterMap
    let links: PeerLinks
    let awaited: [Int]
    let node: NodeContext
    let grace: TimeAmount
    let logger: Logger
    var polls = 0

    init(loop: LoopSession, generation: Int, map: ClusterMap, links: PeerLinks, awaited: [Int],
         node: NodeContext, grace: TimeAmount, logger: Logger) {
        self.loop = loop
        self.generation = generation
        self.map = map
        self.links = links
        self.awaited = awaited
        self.node = node
        self.grace = grace
        self.logger = logger
    }

    func check() {
        if polls < ClusterInstall.readyWait, !awaited.allSatisfy({ links.isReady($0) }) {
            polls += 1
            let bound = NIOLoopBound(self, eventLoop: loop.eventLoop)
            loop.eventLoop.scheduleTask(in: ClusterInstall.readyPoll) { bound.value.check() }
            return
        }
        // A newer install started meanwhile: it replaces the map, these links are not used.
        guard loop.clusterGeneration == generation else {
            links.closeAll()
            return
        }
        let replaced = loop.coordinator?.links
        loop.coordinator = Coordinator(cluster: map, links: links, node: node, loop: loop, logger: logger)
        // Requests already sent on the old links get their answers (or time out) first.
        if let replaced { loop.eventLoop.scheduleTask(in: grace) { replaced.closeAll() } }
    }
}
