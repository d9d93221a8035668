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

/// Makes a cluster map the node's topology at once: each event loop gets new peer links and a
/// new coordinator; the old links close after their requests have had time to finish.
enum ClusterInstall {
    static func install(_ map: ClusterMap?, node: NodeContext, loops: LoopSessions, logger: Logger) {
        let status = node.install(map)
        let config = node.config
        let grace = TimeAmount.milliseconds(Int64(2 * config.timeoutMilliseconds))
        for loop in loops.all {
            loop.eventLoop.execute { [node, logger] in
                let old = loop.coordinator?.links
                if let map {
                    let links = PeerLinks(eventLoop: loop.eventLoop, cluster: map, config: config, status: status, tls: node.tls, logger: logger)
                    loop.coordinator = Coordinator(cluster: map, links: links, node: node, loop: loop, logger: logger)
                } else {
                    loop.coordinator = nil
                }
                // Requests already sent on the old links get their answers (or time out) first.
                if let old { loop.eventLoop.scheduleTask(in: grace) { old.closeAll() } }
            }
        }
    }
}
