import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Ring

/// Dynomite's `florida_provider`: an HTTP GET polled every `seeds_check_interval` for the seed
/// list (`host:port:rack:dc:token|...`, or one per line). A changed list becomes the node's
/// topology at once: each event loop gets new peer links and a new coordinator, and the old
/// links close after their requests have had time to finish. This is how Dynomite-manager
/// replaces a node.
final class FloridaSeedProvider: Sendable {
    private let node: NodeContext
    private let loops: LoopSessions
    private let eventLoop: EventLoop
    private let logger: Logger
    private let host: String
    private let port: Int
    private let request: String
    private let lastBody = NIOLockedValueBox<String?>(nil)

    init(node: NodeContext, loops: LoopSessions, eventLoop: EventLoop, logger: Logger) {
        self.node = node
        self.loops = loops
        self.eventLoop = eventLoop
        self.logger = logger
        let environment = ProcessInfo.processInfo.environment
        let config = node.config
        host = config.floridaHost ?? environment["DYNOMITE_FLORIDA_IP"] ?? "127.0.0.1"
        port = config.floridaPort ?? environment["DYNOMITE_FLORIDA_PORT"].flatMap(Int.init) ?? 8080
        request = config.floridaRequest ?? environment["DYNOMITE_FLORIDA_REQUEST"] ?? "GET /REST/v1/admin/get_seeds HTTP/1.0"
    }

    func start() -> RepeatedTask {
        logger.notice("florida_provider: polling http://\(host):\(port) every \(node.config.seedsCheckInterval) ms")
        return eventLoop.scheduleRepeatedAsyncTask(initialDelay: .zero, delay: .milliseconds(Int64(node.config.seedsCheckInterval))) { _ in
            self.fetch().map { self.received($0) }.recover { error in
                self.logger.warning("florida_provider: cannot fetch seeds from \(self.host):\(self.port): \(error)")
            }
        }
    }

    /// One HTTP exchange; the server closes the connection after the reply (HTTP/1.0).
    private func fetch() -> EventLoopFuture<ByteBuffer> {
        let done = eventLoop.makePromise(of: ByteBuffer.self)
        let request = "\(self.request)\r\nHost: \(host)\r\nConnection: close\r\n\r\n"
        ClientBootstrap(group: eventLoop)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ReplyCollector(done))
                }
            }
            .connect(host: host, port: port)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    channel.writeAndFlush(ByteBuffer(string: request), promise: nil)
                    // A server that never closes does not hold the poller forever.
                    channel.eventLoop.scheduleTask(in: .seconds(10)) { channel.close(promise: nil) }
                case .failure(let error):
                    done.fail(error)
                }
            }
        return done.futureResult
    }

    private func received(_ response: ByteBuffer) {
        let text = String(buffer: response)
        // Dynomite v0.8 requires an "HTTP/1.1 200" status line; 1.0 servers are accepted too.
        guard let statusLine = text.split(separator: "\n", maxSplits: 1).first,
              statusLine.hasPrefix("HTTP/1."), statusLine.split(separator: " ").dropFirst().first == "200" else {
            logger.warning("florida_provider: \(host):\(port) answered '\(text.prefix(80))'; keeping the current seeds")
            return
        }
        let body: Substring
        if let range = text.range(of: "\r\n\r\n") { body = text[range.upperBound...] } else if let range = text.range(of: "\n\n") {
            body = text[range.upperBound...]
        } else {
            body = ""
        }
        let changed = lastBody.withLockedValue { last -> Bool in
            defer { last = String(body) }
            return last != String(body)
        }
        guard changed else { return }
        var seeds: [DynamisConfig.Seed] = []
        for entry in body.split(whereSeparator: { $0 == "|" || $0.isNewline }) {
            let trimmed = entry.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            do {
                seeds.append(try ConfigLoader.parseSeed(trimmed, key: "florida_provider"))
            } catch {
                logger.error("florida_provider: \(error); keeping the current seeds")
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
            logger.error("florida_provider: the new seeds do not form a valid cluster (\(error)); keeping the current seeds")
            return
        }
        let describe = { (m: ClusterMap?) in Set((m?.peers ?? []).map { "\($0.name) \($0.datacenter)/\($0.rack) \($0.token)" }) }
        let before = describe(node.cluster), after = describe(map)
        guard before != after else { return }
        logger.notice("florida_provider: topology changed to \(after.count) peers (added \(after.subtracting(before).sorted()), removed \(before.subtracting(after).sorted()))")
        let status = node.install(map)
        let config = node.config
        let grace = TimeAmount.milliseconds(Int64(2 * config.timeoutMilliseconds))
        for loop in loops.all {
            loop.eventLoop.execute { [node, logger] in
                let old = loop.coordinator?.links
                if let map {
                    let links = PeerLinks(eventLoop: loop.eventLoop, cluster: map, config: config, status: status, logger: logger)
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

/// Collects an HTTP response until the server closes the connection.
private final class ReplyCollector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private var collected = ByteBuffer()
    private let done: EventLoopPromise<ByteBuffer>

    init(_ done: EventLoopPromise<ByteBuffer>) { self.done = done }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        collected.writeBuffer(&buffer)
    }

    func channelInactive(context: ChannelHandlerContext) { done.succeed(collected) }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        done.fail(error)
        context.close(promise: nil)
    }
}
