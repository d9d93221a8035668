/// A Dynamis node as the ring sees it: where it listens for peers, where it sits, its token.
public struct Node: Sendable, Hashable, CustomStringConvertible {
    /// `host:port` of the peer listener; unique in the cluster.
    public let name: String
    public let host: String
    public let port: Int
    public let rack: String
    public let datacenter: String
    public let token: UInt32

    public init(host: String, port: Int, rack: String, datacenter: String, token: UInt32) {
        self.name = "\(host):\(port)"
        self.host = host
        self.port = port
        self.rack = rack
        self.datacenter = datacenter
        self.token = token
    }

    public var description: String { "\(name) (\(datacenter)/\(rack) token \(token))" }
}
