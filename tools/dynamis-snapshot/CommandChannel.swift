import NIOCore

/// Where commands go: a Dynamis node (or redis-server) over the network, or a stopped
/// node's RocksDB opened in this process. Export and import speak only commands, so both
/// modes share one code path.
protocol CommandChannel: AnyObject {
    /// Sends a batch and returns its replies in order, without waiting for them.
    func send(_ batch: [Command]) -> Pending
    func close()
}

/// The replies of a batch still on their way.
struct Pending {
    let wait: () throws -> [Reply]
}

extension CommandChannel {
    func execute(_ batch: [Command]) throws -> [Reply] { try send(batch).wait() }

    func execute(_ command: Command) throws -> Reply { try execute([command])[0] }
}

/// A failure the tool reports and exits on.
struct ToolError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
