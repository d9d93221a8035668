import Foundation
import Logging
import NIOCore
import NIOHTTP1
import HTTPGet
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

    /// One HTTP exchange, the configured request line (`METHOD URI HTTP/1.x`) sent through
    /// NIOHTTP1's codec (`HTTPGet`).
    private func fetch() -> EventLoopFuture<HTTPGet.Response> {
        let words = request.split(separator: " ")
        let method = words.first.map { HTTPMethod(rawValue: String($0)) } ?? .GET
        let uri = words.count > 1 ? String(words[1]) : "/"
        let version: HTTPVersion = words.count > 2 && words[2] == "HTTP/1.0" ? .http1_0 : .http1_1
        return HTTPGet.fetch(on: eventLoop, host: host, port: port, method: method, uri: uri, version: version)
    }

    private func received(_ response: HTTPGet.Response) {
        guard response.status == 200 else {
            logger.warning("florida_provider: \(host):\(port) answered status \(response.status) '\(response.body.prefix(80))'; keeping the current seeds")
            return
        }
        applier.received(response.body)
    }
}
