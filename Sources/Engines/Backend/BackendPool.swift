import Logging
import NIOCore

/// One event loop's connections to a backend. A client is pinned to one connection (its id
/// modulo the pool size), so its pipelined requests reach the backend, and run, in order.
final class BackendPool<Wire: BackendWire> {
    private let connections: [BackendConnection<Wire>]

    init(eventLoop: EventLoop, options: BackendOptions, logger: Logger) {
        connections = (0..<max(1, options.connectionsPerLoop)).map { _ in
            BackendConnection<Wire>(eventLoop: eventLoop, options: options, logger: logger)
        }
    }

    deinit { close() }

    /// Closes every connection for good (closing twice is harmless).
    func close() {
        for connection in connections { connection.close() }
    }

    func connection(for client: Int) -> BackendConnection<Wire> {
        connections[client % connections.count]
    }

    var hasUnflushedRequests: Bool { connections.contains { $0.hasUnflushedRequests } }

    /// Writes every connection's queued requests (once per loop pass).
    func flush() {
        for connection in connections { connection.flush() }
    }
}
