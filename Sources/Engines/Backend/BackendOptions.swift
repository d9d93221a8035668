/// Where a forwarding engine's backend is and how to treat it.
public struct BackendOptions: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// Connections per event loop (`datastore_connections`).
    public var connectionsPerLoop = 1
    /// Each request's bound (`timeout`, ms).
    public var timeoutMilliseconds = 5000
    /// Cap on the reconnect backoff (`server_retry_timeout`, ms).
    public var retryCapMilliseconds = 10_000
    /// Sent with AUTH on every new connection (`datastore_password`).
    public var password: String?
    /// Requests in flight on one connection before new ones fail fast.
    public var maxInFlight = 100_000
    /// Switch every connection to RESP3 (HELLO 3) before any request: the pool of RESP3 clients.
    public var resp3 = false

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}
