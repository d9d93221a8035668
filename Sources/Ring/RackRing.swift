/// One rack's token ring: every node of the rack with its token, sorted. A rack holds a full
/// copy of the data, split across its nodes.
public struct RackRing: Sendable, Equatable {
    public let name: String
    /// Sorted by token; tokens are distinct.
    public let nodes: [Node]

    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        case empty(rack: String)
        case duplicateToken(rack: String, token: UInt32, nodes: [String])

        public var description: String {
            switch self {
            case .empty(let rack): return "rack '\(rack)' has no nodes"
            case .duplicateToken(let rack, let token, let nodes):
                return "rack '\(rack)': nodes \(nodes.joined(separator: " and ")) share token \(token); tokens in a rack must differ"
            }
        }
    }

    public init(name: String, nodes: [Node]) throws(Error) {
        guard !nodes.isEmpty else { throw .empty(rack: name) }
        let sorted = nodes.sorted { $0.token < $1.token }
        for i in 1..<max(sorted.count, 1) where sorted[i].token == sorted[i - 1].token {
            throw .duplicateToken(rack: name, token: sorted[i].token, nodes: [sorted[i - 1].name, sorted[i].name])
        }
        self.name = name
        self.nodes = sorted
    }

    /// Index into `nodes` of the owner of `token`.
    @inlinable
    public func ownerIndex(of token: UInt32, rule: TokenOwnership) -> Int {
        // First index whose token is greater than (rangeStart) or not less than (rangeEnd) `token`.
        var low = 0
        var high = nodes.count
        while low < high {
            let mid = (low + high) / 2
            let t = nodes[mid].token
            let goRight = rule == .rangeStart ? t <= token : t < token
            if goRight { low = mid + 1 } else { high = mid }
        }
        switch rule {
        case .rangeStart:
            // The last node whose token is <= `token`; below the smallest token wraps to the largest.
            return low == 0 ? nodes.count - 1 : low - 1
        case .rangeEnd:
            // The first node whose token is >= `token`; above the largest wraps to the smallest.
            return low == nodes.count ? 0 : low
        }
    }

    @inlinable
    public func owner(of token: UInt32, rule: TokenOwnership) -> Node {
        nodes[ownerIndex(of: token, rule: rule)]
    }

    /// The token ranges a node owns (one range, or two where it wraps past 2^32 − 1).
    public func ranges(ownedBy index: Int, rule: TokenOwnership) -> [ClosedRange<UInt32>] {
        let count = nodes.count
        if count == 1 { return [0...UInt32.max] }
        let own = nodes[index].token
        switch rule {
        case .rangeStart:
            if index == count - 1 {
                // From the largest token to the top, then wrapping below the smallest.
                var result: [ClosedRange<UInt32>] = [own...UInt32.max]
                if nodes[0].token > 0 { result.append(0...(nodes[0].token - 1)) }
                return result
            }
            return [own...(nodes[index + 1].token - 1)]
        case .rangeEnd:
            if index == 0 {
                var result: [ClosedRange<UInt32>] = [0...own]
                let last = nodes[count - 1].token
                if last < UInt32.max { result.append((last + 1)...UInt32.max) }
                return result
            }
            return [(nodes[index - 1].token + 1)...own]
        }
    }
}
