import Foundation
import Logging
import NIOCore
import NIOPosix
import Ring

/// Dynomite's `florida_provider`: an HTTP GET polled every `seeds_check_interval` for the seed
/// list, which `SeedListApplier` turns into the topology. This is how Dynomite-manager
/// replaces a node.
final class FloridaSeedProvider: Sendable {
    private let node: NodeContext
    private let loops: LoopSessions
    private let eventLoop: EventLoop
    private let logger: Logger
    private let host: String
    private let port: Int
    private let request: String
    private let applier: SeedListApplier

    init(node: NodeContext, loops: LoopSessions, eventLoop: EventLoop, logger: Logger) {
        self.node = node
        self.loops = loops
        self.eventLoop = eventLoop
        self.logger = logger
        applier = SeedListApplier(provider: "florida_provider", node: node, loops: loops, logger: logger)
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
        applier.received(String(body))
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
