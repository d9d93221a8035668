import Ring
@testable import Server
import TestSupport

/// A seeded, discrete-event network of simulated nodes that drives the coordinator's pure
/// replication logic (`Topology` placement, `ReplicaDispatch`, `QuorumStateMachine`) with the
/// faults a real network has: delay, message loss, reordering across links (each link stays
/// FIFO, as a TCP connection does), nodes that are down (refused at once), frozen or partitioned
/// (silent: the request times out), and lost connections (everything in flight on the link
/// fails). Time is simulated milliseconds; a failing schedule replays from its seed.
final class SimulatedNetwork {
    /// What a replica answers: `OK` to a write, the stored value (or nil) to a read.
    enum Reply: Equatable, CustomStringConvertible {
        case ok
        case value(Int?)
        /// A multi-key read's values, in the keys' order.
        case values([Int?])

        var description: String {
            switch self {
            case .ok: return "OK"
            case .value(let v): return v.map(String.init) ?? "nil"
            case .values(let vs): return "[" + vs.map { $0.map(String.init) ?? "nil" }.joined(separator: ",") + "]"
            }
        }
    }

    enum Operation {
        case write(key: Int, value: Int)
        case read(key: Int)
        /// One owner set's part of an MGET.
        case readMany(keys: [Int])
    }

    struct SimNode {
        var data: [Int: Int] = [:]
        /// Down: its links are closed, so requests fail at once ("not connected").
        var up = true
        /// Frozen or cut off by a partition: requests and answers vanish (the sender times out).
        var reachable = true
        /// Each message to or from it is lost with this probability (percent).
        var lossPercent: UInt64 = 0
    }

    static let timeout = 1_000
    static let notConnected = "ERR Peer: Peer Node is not connected"
    static let timedOut = "ERR Peer: Peer Node timed out"
    static let lost = "ERR Peer: Peer Node connection lost"

    var random: SplitMix64
    let topology: Topology
    var nodes: [NodePosition: SimNode] = [:]
    private(set) var now = 0
    private var events = EventQueue()
    /// The latest delivery time on each directed link, so later messages never overtake.
    private var linkClock: [LinkKey: Int] = [:]
    /// Requests in flight per destination, so a lost connection can fail them all.
    private var inFlight: [NodePosition: [Int: () -> Void]] = [:]
    private var nextRequest = 0

    private struct LinkKey: Hashable {
        let node: NodePosition
        let toward: Bool
    }

    init(seed: UInt64, layout: [[Int]]) throws {
        random = SplitMix64(seed: seed)
        var all: [Node] = []
        for (d, racks) in layout.enumerated() {
            for (r, count) in racks.enumerated() {
                // Random distinct tokens per rack, so racks split the ring differently.
                var tokens = Set<UInt32>()
                while tokens.count < count { tokens.insert(UInt32(truncatingIfNeeded: random.next())) }
                for (n, token) in tokens.sorted().enumerated() {
                    all.append(Node(host: "10.\(d).\(r).\(n)", port: 8101, rack: "rack\(r)", datacenter: "dc\(d)", token: token))
                }
            }
        }
        // The coordinator sits in the first DC, in a random rack.
        let candidates = all.filter { $0.datacenter == "dc0" }
        let coordinator = candidates[Int(random.next() % UInt64(candidates.count))]
        topology = try Topology(local: coordinator, peers: all.filter { $0 != coordinator })
        for (d, dc) in topology.datacenters.enumerated() {
            for (r, rack) in dc.racks.enumerated() {
                for n in rack.nodes.indices { nodes[NodePosition(datacenter: d, rack: r, index: n)] = SimNode() }
            }
        }
    }

    var localPosition: NodePosition {
        let dc = topology.localDatacenterIndex, rack = topology.localRackIndex
        let index = topology.datacenters[dc].racks[rack].nodes.firstIndex { $0 == topology.local }!
        return NodePosition(datacenter: dc, rack: rack, index: index)
    }

    // MARK: - Events

    func schedule(after delay: Int, _ action: @escaping () -> Void) {
        events.push(time: now + delay, action)
    }

    /// Runs events until none is left.
    func runUntilIdle() {
        while let (time, action) = events.pop() {
            now = max(now, time)
            action()
        }
    }

    private func delay() -> Int { Int(random.next() % 40) + 1 }

    /// Whether a message to or from `node` gets through.
    private func delivered(_ node: NodePosition) -> Bool {
        guard let state = nodes[node], state.reachable else { return false }
        return !random.chance(state.lossPercent)
    }

    /// The delivery time of a message sent now on a FIFO link.
    private func deliveryTime(_ node: NodePosition, toward: Bool) -> Int {
        let key = LinkKey(node: node, toward: toward)
        let time = max(now + delay(), linkClock[key] ?? 0)
        linkClock[key] = time
        return time
    }

    /// Sends `operation` to `node` and reports its outcome exactly once through `settle`: the
    /// node's reply, or the failure a real peer link reports (refused, timed out, lost). The
    /// coordinator's own node runs the operation at once, as the local engine does.
    func send(_ operation: Operation, to node: NodePosition, settle: @escaping (Result<Reply, QuorumStateMachine<Reply>.Failure>) -> Void) {
        if node == localPosition {
            let reply = apply(operation, at: node)
            schedule(after: 0) { settle(.success(reply)) }
            return
        }
        guard nodes[node]!.up else {
            schedule(after: 0) { settle(.failure(.init(Self.notConnected))) }
            return
        }
        let id = nextRequest
        nextRequest += 1
        var settled = false
        let once: (Result<Reply, QuorumStateMachine<Reply>.Failure>) -> Void = { [unowned self] result in
            guard !settled else { return }
            settled = true
            inFlight[node]?[id] = nil
            settle(result)
        }
        inFlight[node, default: [:]][id] = { once(.failure(.init(Self.lost))) }
        schedule(after: Self.timeout) { once(.failure(.init(Self.timedOut))) }
        guard delivered(node) else { return }
        let arrival = deliveryTime(node, toward: true)
        events.push(time: arrival) { [unowned self] in
            guard let state = nodes[node], state.up, state.reachable else { return }
            let reply = apply(operation, at: node)
            guard delivered(node) else { return }
            let back = deliveryTime(node, toward: false)
            events.push(time: back) { once(.success(reply)) }
        }
    }

    /// The replica runs the operation on its own data.
    func apply(_ operation: Operation, at node: NodePosition) -> Reply {
        switch operation {
        case .write(let key, let value):
            // Values grow with each write, so a value is also its write's version: a replica
            // keeps the newest (last writer wins), as versioned writes do.
            nodes[node]!.data[key] = max(nodes[node]!.data[key] ?? 0, value)
            return .ok
        case .read(let key):
            return .value(nodes[node]!.data[key])
        case .readMany(let keys):
            return .values(keys.map { nodes[node]!.data[$0] })
        }
    }

    /// The node's links drop: whatever is in flight to it fails now ("connection lost").
    func dropConnection(to node: NodePosition) {
        let pending = inFlight[node] ?? [:]
        inFlight[node] = [:]
        for fail in pending.values { fail() }
    }
}

/// A min-heap of timed actions; ties run in the order they were scheduled.
struct EventQueue {
    private var heap: [(time: Int, order: Int, action: () -> Void)] = []
    private var order = 0

    mutating func push(time: Int, _ action: @escaping () -> Void) {
        heap.append((time, order, action))
        order += 1
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.less(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (Int, () -> Void)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var smallest = i
            if l < heap.count, Self.less(heap[l], heap[smallest]) { smallest = l }
            if r < heap.count, Self.less(heap[r], heap[smallest]) { smallest = r }
            if smallest == i { break }
            heap.swapAt(i, smallest)
            i = smallest
        }
        return (top.time, top.action)
    }

    private static func less(_ a: (time: Int, order: Int, action: () -> Void), _ b: (time: Int, order: Int, action: () -> Void)) -> Bool {
        a.time < b.time || (a.time == b.time && a.order < b.order)
    }
}
