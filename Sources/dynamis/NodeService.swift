import Logging
import Server
import ServiceLifecycle

/// The running node as a swift-service-lifecycle service: it serves until the group's graceful
/// shutdown, then stops accepting, closes connections and peer links and closes the engine,
/// within a bound (past it, the run fails and the process exits 1).
struct NodeService: Service {
    let node: DynamisNode
    let boundSeconds: Int
    let logger: Logger

    struct ShutdownTooSlow: Error, CustomStringConvertible {
        let seconds: Int
        var description: String { "shutdown took longer than \(seconds) s; exiting anyway" }
    }

    func run() async throws {
        // Returns at graceful shutdown; a cancelled group (an error elsewhere) also stops the node.
        try? await gracefulShutdown()
        let node = self.node
        let stopped = await withTaskGroup(of: Bool.self) { group in
            group.addTask { await node.stop(); return true }
            group.addTask { try? await Task.sleep(for: .seconds(boundSeconds)); return false }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        if !stopped { throw ShutdownTooSlow(seconds: boundSeconds) }
    }
}
