/// The cluster's membership at one epoch (DESIGN.md §5b): the nodes that own tokens, and at
/// most one change in flight (a node joining, leaving, or replacing a dead one). Every node keeps
/// the newest epoch it has seen and acts on nothing older; a change moves the cluster through
/// two epochs: the one that proposes it (writes go to the old owner *and* the new one, reads to
/// the old) and the one that finishes it (the new owner serves). Pure: no I/O, tested alone.
public struct Membership: Sendable, Equatable, Codable {
    /// One node as the membership records it.
    public struct Member: Sendable, Hashable, Codable {
        public var host: String
        public var port: Int
        public var rack: String
        public var datacenter: String
        public var token: UInt32

        public init(host: String, port: Int, rack: String, datacenter: String, token: UInt32) {
            self.host = host
            self.port = port
            self.rack = rack
            self.datacenter = datacenter
            self.token = token
        }

        public init(_ node: Node) {
            self.init(host: node.host, port: node.port, rack: node.rack, datacenter: node.datacenter, token: node.token)
        }

        public var node: Node { Node(host: host, port: port, rack: rack, datacenter: datacenter, token: token) }
        public var name: String { "\(host):\(port)" }
    }

    /// What a change does.
    public enum Kind: String, Sendable, Codable {
        case join, leave, replace
    }

    /// The change in flight.
    public struct Change: Sendable, Equatable, Codable {
        public var kind: Kind
        /// The joining, leaving or replacing node.
        public var node: Member
        /// `replace`: the name of the dead node whose token `node` takes over.
        public var replaces: String?

        public init(kind: Kind, node: Member, replaces: String? = nil) {
            self.kind = kind
            self.node = node
            self.replaces = replaces
        }

        public var description: String {
            switch kind {
            case .join: return "join of \(node.name) (\(node.datacenter)/\(node.rack) token \(node.token))"
            case .leave: return "decommission of \(node.name)"
            case .replace: return "replacement of \(replaces ?? "?") by \(node.name)"
            }
        }
    }

    /// Why a change was refused (each a message an operator can act on).
    public enum Refusal: Error, Equatable, CustomStringConvertible {
        case changeRunning(epoch: UInt64, change: String)
        case unknownRack(datacenter: String, rack: String)
        case tokenTaken(token: UInt32, by: String)
        case nameTaken(String)
        case unknownNode(String)
        case lastInRack(String)

        public var description: String {
            switch self {
            case .changeRunning(let epoch, let change):
                return "a topology change is already running (epoch \(epoch): \(change)); wait for it to finish"
            case .unknownRack(let dc, let rack):
                return "no rack '\(rack)' in datacenter '\(dc)': a node joins an existing rack (every rack is a full copy of the data)"
            case .tokenTaken(let token, let by): return "token \(token) is already used in that rack by \(by)"
            case .nameTaken(let name): return "\(name) is already a member of the cluster"
            case .unknownNode(let name): return "no member named \(name)"
            case .lastInRack(let name):
                return "\(name) is the last node of its rack; removing it would remove one full copy of the data"
            }
        }
    }

    public var epoch: UInt64
    /// The nodes that own tokens (and serve reads) at this epoch.
    public var members: [Member]
    public var change: Change?

    public init(epoch: UInt64, members: [Member], change: Change? = nil) {
        self.epoch = epoch
        self.members = members
        self.change = change
    }

    /// The members once the change is done.
    public var after: [Member] {
        guard let change else { return members }
        switch change.kind {
        case .join: return members + [change.node]
        case .leave: return members.filter { $0.name != change.node.name }
        case .replace: return members.filter { $0.name != change.replaces } + [change.node]
        }
    }

    /// Every node a node must talk to at this epoch: the members and the changing node.
    public var everyone: [Member] {
        guard let change, !members.contains(where: { $0.name == change.node.name }) else { return members }
        return members + [change.node]
    }

    /// The next epoch with `change` in flight, or why it cannot start.
    public func proposing(_ change: Change) throws(Refusal) -> Membership {
        if let running = self.change { throw .changeRunning(epoch: epoch, change: running.description) }
        var change = change
        switch change.kind {
        case .join:
            guard !members.contains(where: { $0.name == change.node.name }) else { throw .nameTaken(change.node.name) }
            let rack = members.filter { $0.datacenter == change.node.datacenter && $0.rack == change.node.rack }
            guard !rack.isEmpty else { throw .unknownRack(datacenter: change.node.datacenter, rack: change.node.rack) }
            if let holder = rack.first(where: { $0.token == change.node.token }) { throw .tokenTaken(token: change.node.token, by: holder.name) }
        case .leave:
            guard let member = members.first(where: { $0.name == change.node.name }) else { throw .unknownNode(change.node.name) }
            guard members.contains(where: { $0.datacenter == member.datacenter && $0.rack == member.rack && $0.name != member.name }) else {
                throw .lastInRack(member.name)
            }
            change.node = member
        case .replace:
            guard let dead = change.replaces, let member = members.first(where: { $0.name == dead }) else {
                throw .unknownNode(change.replaces ?? "")
            }
            guard !members.contains(where: { $0.name == change.node.name }) else { throw .nameTaken(change.node.name) }
            change.node.rack = member.rack
            change.node.datacenter = member.datacenter
            change.node.token = member.token
        }
        return Membership(epoch: epoch + 1, members: members, change: change)
    }

    /// The epoch that finishes the change in flight: the new owners serve.
    public func finished() -> Membership {
        Membership(epoch: epoch + 1, members: after, change: nil)
    }

    /// The epoch that abandons the change in flight: the members stay as they are (a joining
    /// node that never came, a replacement that cannot finish).
    public func aborted() -> Membership {
        Membership(epoch: epoch + 1, members: members, change: nil)
    }

    // MARK: Ranges

    /// The token ranges `name` owns in its rack, among `nodes` (empty when it is not one of them).
    public static func ranges(of name: String, among nodes: [Member], ownership: TokenOwnership) -> [ClosedRange<UInt32>] {
        guard let me = nodes.first(where: { $0.name == name }) else { return [] }
        let rackNodes = nodes.filter { $0.datacenter == me.datacenter && $0.rack == me.rack }.map(\.node)
        guard let ring = try? RackRing(name: me.rack, nodes: rackNodes),
              let index = ring.nodes.firstIndex(where: { $0.name == name }) else { return [] }
        return ring.ranges(ownedBy: index, rule: ownership)
    }

    /// One piece of a range a node gains in the change, with where its data is now.
    public struct Gain: Sendable, Equatable {
        public let range: ClosedRange<UInt32>
        /// The piece's owner in the same rack before the change (nil: that node is the one
        /// being replaced, so the data comes from the other racks).
        public let source: String?
    }

    /// What `name` gains in the change in flight: the tokens it owns after and not before,
    /// split by their owner before (the node to stream them from).
    public func gains(of name: String, ownership: TokenOwnership) -> [Gain] {
        guard let change else { return [] }
        let gained = Self.subtract(Self.ranges(of: name, among: after, ownership: ownership),
                                   Self.ranges(of: name, among: members, ownership: ownership))
        var pieces: [Gain] = []
        let rackMembers = members.filter { $0.datacenter == change.node.datacenter && $0.rack == change.node.rack }
        for range in gained {
            for owner in rackMembers {
                for owned in Self.ranges(of: owner.name, among: members, ownership: ownership) {
                    guard let piece = Self.intersect(range, owned) else { continue }
                    let dead = change.kind == .replace && owner.name == change.replaces
                    pieces.append(Gain(range: piece, source: dead ? nil : owner.name))
                }
            }
        }
        return pieces.sorted { $0.range.lowerBound < $1.range.lowerBound }
    }

    /// The node that gains tokens in the change in flight (one token per node: exactly one).
    public func gainingNode(ownership: TokenOwnership) -> String? {
        guard change != nil else { return nil }
        return after.first { !gains(of: $0.name, ownership: ownership).isEmpty }?.name
    }

    static func intersect(_ a: ClosedRange<UInt32>, _ b: ClosedRange<UInt32>) -> ClosedRange<UInt32>? {
        let low = max(a.lowerBound, b.lowerBound)
        let high = min(a.upperBound, b.upperBound)
        return low <= high ? low...high : nil
    }

    /// The tokens in `a` and not in `b`.
    public static func subtract(_ a: [ClosedRange<UInt32>], _ b: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var result = a
        for cut in b {
            result = result.flatMap { range -> [ClosedRange<UInt32>] in
                guard Self.intersect(range, cut) != nil else { return [range] }
                var left: [ClosedRange<UInt32>] = []
                if range.lowerBound < cut.lowerBound { left.append(range.lowerBound...(cut.lowerBound - 1)) }
                if range.upperBound > cut.upperBound { left.append((cut.upperBound + 1)...range.upperBound) }
                return left
            }
        }
        return result
    }

    /// The tokens outside `ranges` (what a node drops after a change: everything it no longer owns).
    public static func complement(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        subtract([0...UInt32.max], ranges)
    }
}
