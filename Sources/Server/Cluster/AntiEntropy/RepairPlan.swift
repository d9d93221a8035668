import Protocol
import Ring

/// What one anti-entropy pass compares, and how two copies' answers turn into transfers: pure
/// functions of the topology and the replies, tested without sockets.
enum RepairPlanning {
    /// One comparison: this node's tokens `range`, which node `peer` (by name) also holds.
    struct Task: Equatable {
        let peer: String
        let range: ClosedRange<UInt32>
    }

    /// Every range this node owns, intersected with each owner of the same tokens in every
    /// other rack of every DC (racks of different sizes give several intersections), limited
    /// to `within`. Each pair of replicas is compared from both ends: every node runs its own
    /// passes, and a pass moves newer states both ways.
    static func tasks(_ topology: Topology, within: ClosedRange<UInt32> = 0...UInt32.max) -> [Task] {
        let local = topology.local
        let rack = topology.localDatacenter.racks[topology.localRackIndex]
        guard let index = rack.nodes.firstIndex(where: { $0.name == local.name }) else { return [] }
        let mine = rack.ranges(ownedBy: index, rule: topology.ownership).compactMap { intersect($0, within) }
        var tasks: [Task] = []
        for (d, datacenter) in topology.datacenters.enumerated() {
            for (r, other) in datacenter.racks.enumerated() where !(d == topology.localDatacenterIndex && r == topology.localRackIndex) {
                for (j, node) in other.nodes.enumerated() {
                    for theirs in other.ranges(ownedBy: j, rule: topology.ownership) {
                        for range in mine {
                            if let both = intersect(range, theirs) { tasks.append(Task(peer: node.name, range: both)) }
                        }
                    }
                }
            }
        }
        return tasks.sorted { ($0.range.lowerBound, $0.peer) < ($1.range.lowerBound, $1.peer) }
    }

    static func intersect(_ a: ClosedRange<UInt32>, _ b: ClosedRange<UInt32>) -> ClosedRange<UInt32>? {
        let low = max(a.lowerBound, b.lowerBound)
        let high = min(a.upperBound, b.upperBound)
        return low <= high ? low...high : nil
    }

    /// `range` cut into DYNAMIS.DIGEST requests of at most `segments` segments each.
    static func digestChunks(_ range: ClosedRange<UInt32>, segments: Int) -> [ClosedRange<UInt32>] {
        var chunks: [ClosedRange<UInt32>] = []
        var start = range.lowerBound
        while true {
            let lastSegment = min(TokenSegments.of(start) + segments - 1, TokenSegments.of(range.upperBound))
            let end = min(TokenSegments.tokens(of: lastSegment).upperBound, range.upperBound)
            chunks.append(start...end)
            if end == range.upperBound { return chunks }
            start = end + 1
        }
    }

    /// The token ranges of the buckets (of `bits` top bits) whose digests differ, each cut to
    /// `chunk`. Digests are 8-byte big-endian values, one per bucket from `chunk`'s first.
    static func differingBuckets(_ chunk: ClosedRange<UInt32>, bits: Int = TokenSegments.bits, local: [UInt8], remote: [UInt8]) -> [ClosedRange<UInt32>]? {
        let first = TokenSegments.bucket(of: chunk.lowerBound, bits: bits)
        let count = TokenSegments.bucket(of: chunk.upperBound, bits: bits) - first + 1
        guard local.count == count * 8, remote.count == count * 8 else { return nil }
        var differing: [ClosedRange<UInt32>] = []
        for i in 0..<count where local[(i * 8)..<(i * 8 + 8)] != remote[(i * 8)..<(i * 8 + 8)] {
            if let cut = intersect(TokenSegments.tokens(ofBucket: first + i, bits: bits), chunk) { differing.append(cut) }
        }
        return differing
    }

    /// Which keys move, and which way: the copy with the newer version (or the only copy)
    /// sends its state to the other. Equal versions are left alone: a version names one write.
    static func transfers(local: [[UInt8]: UInt64], remote: [[UInt8]: UInt64]) -> (pull: [[UInt8]], push: [[UInt8]]) {
        var pull: [[UInt8]] = []
        var push: [[UInt8]] = []
        for (key, version) in local where (remote[key] ?? 0) < version { push.append(key) }
        for (key, version) in remote where (local[key] ?? 0) < version { pull.append(key) }
        return (pull.sorted { $0.lexicographicallyPrecedes($1) }, push.sorted { $0.lexicographicallyPrecedes($1) })
    }
}

/// Paces state transfers to `rate` bytes per second (`anti_entropy_throttle`,
/// `stream_throughput`): a token bucket holding at most `burst` bytes (10 ms worth), spent
/// when a transfer starts (by the mean transfer so far: its size is known only once the state
/// has been read) and corrected when it ends. Starting transfers one bucket at a time keeps a
/// pass from queueing clients' requests behind a burst. Pure: time comes in.
struct TransferPacer {
    let rate: Int
    private(set) var allowance: Double
    private var last: Int64
    private(set) var meanBytes: Double = 256
    private var samples = 0

    init(rate: Int, now: Int64) {
        self.rate = max(rate, 1)
        self.last = now
        self.allowance = 0
        self.allowance = burst
    }

    var burst: Double { max(Double(rate) / 100, 1024) }

    /// Adds what `rate` gave since the last call.
    mutating func refill(now: Int64) {
        guard now > last else { return }
        allowance = min(burst, allowance + Double(now - last) * Double(rate) / 1000)
        last = now
    }

    /// Takes one transfer's share if the bucket has any; false: wait `delay` first.
    mutating func start() -> Bool {
        guard allowance > 0 else { return false }
        allowance -= meanBytes
        return true
    }

    /// A transfer moved `bytes`: the bucket pays the difference from what `start` took.
    mutating func finished(bytes: Int) {
        allowance += meanBytes - Double(bytes)
        samples += 1
        meanBytes += (Double(bytes) - meanBytes) / Double(min(samples, 100))
    }

    /// Milliseconds until the bucket holds something again.
    var delay: Int64 { allowance > 0 ? 0 : max(1, Int64((-allowance * 1000 / Double(rate)).rounded(.up))) }
}
