import NIOCore

/// The life of an outgoing connection that is retried with capped exponential backoff (to a
/// backend or to a peer): what it accepts, and how long to wait before the next attempt. Only
/// used on its connection's event loop.
public struct LinkState {
    public enum Phase {
        case connecting
        case ready(Channel)
        case down
        case closed
    }

    public private(set) var phase = Phase.down
    public private(set) var everConnected = false
    private var backoff = LinkState.firstBackoff
    private let cap: TimeAmount
    static let firstBackoff = TimeAmount.milliseconds(100)

    public init(retryCapMilliseconds: Int) {
        cap = .milliseconds(Int64(retryCapMilliseconds))
    }

    /// Requests are taken while connected, and during the very first connect (so a node that
    /// starts just before its target answers does not fail its first requests; they wait within
    /// their timeout). After a loss the target is known to be down: requests fail at once.
    public var acceptsRequests: Bool {
        switch phase {
        case .ready: return true
        case .connecting: return !everConnected
        case .down, .closed: return false
        }
    }

    public var channel: Channel? {
        if case .ready(let channel) = phase { return channel }
        return nil
    }

    public var isClosed: Bool {
        if case .closed = phase { return true }
        return false
    }

    /// True when an attempt should start now (the link is down, not connecting or closed).
    public mutating func startConnecting() -> Bool {
        guard case .down = phase else { return false }
        phase = .connecting
        return true
    }

    /// The connection came up. False when the link was closed meanwhile: close the channel.
    public mutating func connected(_ channel: Channel) -> Bool {
        guard !isClosed else { return false }
        backoff = Self.firstBackoff
        everConnected = true
        phase = .ready(channel)
        return true
    }

    /// An attempt failed or the connection was lost: the delay before the next attempt, or nil
    /// when the link is closed for good.
    public mutating func failed() -> TimeAmount? {
        guard !isClosed else { return nil }
        phase = .down
        let delay = backoff
        backoff = min(backoff * 2, cap)
        return delay
    }

    /// True while no attempt has failed since the last success (the first failure is worth a log line).
    public var isFirstFailure: Bool { backoff == Self.firstBackoff }

    /// Closes for good; returns the channel that was up, if any.
    public mutating func close() -> Channel? {
        let channel = self.channel
        phase = .closed
        return channel
    }
}
