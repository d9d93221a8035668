import Engines
import Logging
import NIOCore
import Protocol
import Ring

/// Where the coordinator sends a request: this node's own engine (no network), or a peer by
/// its index in the cluster map's `peers` (which is also its link's index in `PeerLinks`).
enum Target: Hashable, Sendable, CustomStringConvertible {
    case local
    case peer(Int)

    var description: String {
        switch self {
        case .local: "local"
        case .peer(let index): "peer \(index)"
        }
    }
}

/// Routes one event loop's requests to their replicas: key → data token → the owner in each
/// rack (DESIGN.md §5), each owner being this node's own engine (no network) or a peer link.
/// The consistency level says how many answers a reply waits for; replies are compared by
/// content. Runs on its loop only, like the connections it serves.
final class Coordinator {
    typealias Consistency = DynamisConfig.Consistency

    let cluster: ClusterMap
    let links: PeerLinks
    let node: NodeContext
    unowned let loop: LoopSession
    let tokenizer: KeyTokenizer
    private let topology: Topology
    /// `targets[dc][rack][i]`: the target of the i-th node (token order) of that rack.
    private let targets: [[[Target]]]
    /// While a membership change is in flight in this DC: the changed rack's ring once it is
    /// done, its place in `topology`, and the target of each of its nodes. Writes also go to a
    /// token's owner in that ring when it differs (the pending owner).
    private let pending: (datacenter: Int, rack: Int, ring: RackRing)?
    private let pendingTargets: [Target]
    private let allocator = ByteBufferAllocator()
    let logger: Logger
    /// The client id of this coordinator's own requests (read repair): one peer connection, in order.
    let maintenanceClient: Int
    /// How quorum reads whose replicas disagree are repaired: by version (RocksDB engine), by the
    /// majority's state (Redis engine), or not at all (memcached).
    let readRepair: ReadRepairKind?
    enum ReadRepairKind { case versions, majority }

    init(cluster: ClusterMap, links: PeerLinks, node: NodeContext, loop: LoopSession, logger: Logger) {
        self.cluster = cluster
        self.links = links
        self.node = node
        self.loop = loop
        self.logger = logger
        self.tokenizer = node.tokenizer
        self.maintenanceClient = node.nextClientID.add(1, ordering: .relaxed).oldValue
        switch node.config.dataStore {
        case .rocksdb: readRepair = .versions
        case .redis: readRepair = .majority
        case .memcached: readRepair = nil
        }
        self.topology = cluster.topology
        self.targets = cluster.topology.datacenters.map { dc in
            dc.racks.map { rack in
                rack.nodes.map { n in n.name == cluster.local.name ? Target.local : .peer(cluster.peerIndex[n.name]!) }
            }
        }
        if let pending = cluster.pending, pending.datacenter == cluster.topology.localDatacenterIndex {
            self.pending = pending
            self.pendingTargets = pending.ring.nodes.map { n in n.name == cluster.local.name ? Target.local : .peer(cluster.peerIndex[n.name]!) }
        } else {
            self.pending = nil
            self.pendingTargets = []
        }
    }

    /// What goes to a replica: a RESP command, or a memcached request as its client sent it.
    enum Request {
        case resp(CommandSpec, [ByteBuffer])
        case memcached(MemcachedRequest)

        var name: String {
            switch self {
            case .resp(let spec, _): return String(describing: spec.name)
            case .memcached(let request): return request.command.rawValue
            }
        }
    }

    /// What one client request carries besides its arguments.
    struct Context {
        let client: Int
        let resp3: Bool
        let read: Consistency
        let write: Consistency
        /// Sent by a coordinator in another DC: replicate within this DC only.
        var forwarded = false
        /// The write's version (`WriteVersion`): stamped once by the coordinator that took the
        /// client's request, carried to every replica (0 for reads).
        var version: UInt64 = 0
    }

    /// Where a node of the topology is reached: this node's engine, or its peer link.
    @inline(__always)
    func target(_ position: NodePosition) -> Target {
        targets[position.datacenter][position.rack][position.index]
    }

    // MARK: - Entry point

    /// Executes a command on its replicas. Returns the outcome (the reply, or the failure that
    /// left it unanswered) when it is already decided, otherwise nil: it then goes to
    /// `receiver` as `sequence`.
    func execute(_ spec: CommandSpec, _ args: [ByteBuffer], _ context: Context,
                 receiver: any ReplyReceiver, sequence: Int) -> Result<ByteBuffer, EngineError>? {
        var context = context
        if context.version == 0, spec.flags.contains(.write) { context.version = node.clock.next() }
        if spec.relativeExpiry != .none, !context.forwarded,
           let (absolute, rewritten) = AbsoluteExpiry.rewrite(spec, args, now: WallClock.nowMillis()) {
            return route(absolute, rewritten, context).attach(receiver, sequence: sequence)
        }
        let pending = route(spec, args, context)
        return pending.attach(receiver, sequence: sequence)
    }

    /// Runs the command as its row's `route` says (the row decides, never the command's id).
    private func route(_ spec: CommandSpec, _ args: [ByteBuffer], _ context: Context) -> PendingReply {
        let rack = localRackNodes
        switch spec.route {
        case .refused(let reason):
            return decided(error: "ERR '\(spec.name)' is not supported in a cluster: \(reason)")
        case .everyNode(let merge):
            let nodes = everyNode
            return fanOut(.resp(spec, args), context, to: nodes, into: MergedReply(merge, parts: nodes.count), isWrite: spec.flags.contains(.write))
        case .localRack(let merge):
            return fanOut(.resp(spec, args), context, to: rack, into: MergedReply(merge, parts: rack.count), isWrite: spec.flags.contains(.write))
        case .rackScan:
            return scan(spec, args, context, rack: rack)
        case .oneRackNode:
            let collector = ResponseCollector(rule: .preferred, groups: [0..<1])
            send(to: rack.randomElement()!, .request, .resp(spec, args), context, isWrite: false, receiver: collector, index: 0)
            return collector
        case .scriptCache where args.count >= 2:
            // Scripts live in each backend's cache: LOAD and FLUSH reach every node, so EVALSHA
            // finds the script on whichever node owns its keys; EXISTS answers for all of them.
            let nodes = everyNode
            let sub = args[1].lowercasedText
            if sub == "load" { return fanOut(.resp(spec, args), context, to: nodes, into: MergedReply(shape: .identical, parts: nodes.count), isWrite: true) }
            if sub == "flush" { return fanOut(.resp(spec, args), context, to: nodes, into: MergedReply(shape: .allOK, parts: nodes.count), isWrite: true) }
            if sub == "exists" { return fanOut(.resp(spec, args), context, to: nodes, into: MergedReply(shape: .everywhere, parts: nodes.count), isWrite: false) }
        default:
            break
        }
        guard let keys = ClusterKeys.indexes(spec, args), !keys.isEmpty else {
            // No keys (or malformed ones): this node's engine answers, with Redis's error if any.
            return replicate(.resp(spec, args), isWrite: spec.flags.contains(.write), token: nil, context)
        }
        let token = tokenizer.token(of: args[keys[0]].readableBytesView)
        switch spec.route {
        case .ownerThenReplicas where !context.forwarded:
            return SetPop(coordinator: self, spec: spec, args: args, token: token, context: context).start()
        case .anyReplica:
            // Each replica picks its own: one answer is the reply, there is nothing to agree on.
            return replicate(.resp(spec, args), isWrite: false, token: token, context, level: .dcOne)
        case .splitByKey(let merge) where keys.count > 1:
            return split(spec, args, keys: keys, merge: merge, context)
        default:
            break
        }
        if keys.count == 1 { return replicate(.resp(spec, args), isWrite: spec.flags.contains(.write), token: token, context) }
        if ownerGroups(keys.lazy.map { args[$0] }).count > 1 {
            return decided(error: "CROSSSLOT Keys in request don't hash to the same slot: '\(spec.name)' needs all its keys on one owner; put the shared part of the keys in a hash tag ({...})")
        }
        return replicate(.resp(spec, args), isWrite: spec.flags.contains(.write), token: token, context)
    }

    /// A RESP request's reply decided by the coordinator alone: Redis's error for a request it
    /// refuses (memcached requests are refused in memcached's words, in `MemcachedRouting`).
    func decided(error: String) -> PendingReply {
        let reply = PendingReply()
        reply.decide(PendingReply.errorBytes(error))
        return reply
    }

    // MARK: - One owner set

    /// Sends a command to the owners of `token` as the consistency level (or `level`, when
    /// the command dictates its own) says: placement is the topology's (`Ring`), the choice of
    /// targets and rule `ReplicaDispatch`'s, the collection `QuorumStateMachine`'s. A nil token
    /// (keyless commands) runs on this node alone. `answered` is a local owner whose answer is
    /// already known (it is not sent the command).
    func replicate(_ request: Request, isWrite: Bool, token: UInt32?, _ context: Context,
                   level forced: Consistency? = nil, answered: (target: Target, reply: ByteBuffer)? = nil,
                   keyWise: Bool? = nil) -> PendingReply {
        guard let token else {
            let collector = ResponseCollector(rule: .preferred, groups: [0..<1])
            send(to: Target.local, .request, request, context, isWrite: isWrite, receiver: collector, index: 0)
            return collector
        }
        let dispatch = ReplicaDispatch(token: token, topology: topology, level: forced ?? (isWrite ? context.write : context.read),
                                       isWrite: isWrite, forwarded: context.forwarded)
        let collector = ResponseCollector(dispatch)
        if isWrite {
            if node.hints != nil { collector.origin = (self, request, dispatch.targets, context, .hintMisses) }
        } else if let readRepair, case .quorum = dispatch.rule, case .resp(let spec, let args) = request, spec.firstKey == 1,
                  args.count > 1, !spec.flags.contains(.nondeterministicOutput), node.readRepairs.load(ordering: .relaxed) {
            if spec.lastKey == 1 || (spec.lastKey == -1 && args.count == 2) {
                collector.origin = (self, request, dispatch.targets, context,
                                    readRepair == .versions ? .repairReads(key: args[1]) : .repairByMajority(key: args[1]))
            } else if let keyWise {
                collector.origin = (self, request, dispatch.targets, context, .repairEachKey(elementwise: keyWise))
            }
        }
        if dispatch.lazy {
            // A DC_ONE read asks the next rack's owner only when the ones before it failed.
            let targets = dispatch.targets
            // Strong: a coordinator replaced by a new membership epoch lives until its requests end.
            collector.sendLater = { [self, unowned collector] i in
                self.send(to: self.target(targets[i]), .request, request, context, isWrite: false, receiver: collector, index: i)
            }
            send(to: target(targets[0]), .request, request, context, isWrite: false, receiver: collector, index: 0)
            return collector
        }
        for (i, position) in dispatch.targets.enumerated() {
            let destination = target(position)
            if let answered, destination == answered.target {
                collector.receive(.success(answered.reply), for: i)
            } else {
                send(to: destination, .request, request, context, isWrite: isWrite, receiver: collector, index: i)
            }
        }
        for candidates in dispatch.remoteCopies {
            RemoteCopy(coordinator: self, request: request, context: context, candidates: candidates.map(target)).next()
        }
        if isWrite, let pending { copyToPendingOwner(request, token: token, context, pending) }
        return collector
    }

    /// A write's copy to the token's pending owner (a joining node, a leaving node's
    /// successor, a replacement), when it differs from the owner the write went to. Its answer
    /// is not waited for: the range's stream and catch-up bring the node what it misses, and
    /// a copy it did not take leaves a hint.
    private func copyToPendingOwner(_ request: Request, token: UInt32, _ context: Context,
                                    _ pending: (datacenter: Int, rack: Int, ring: RackRing)) {
        let future = pendingTargets[pending.ring.ownerIndex(of: token, rule: topology.ownership)]
        guard future != target(topology.owner(of: token, datacenter: pending.datacenter, rack: pending.rack)) else { return }
        send(to: future, .request, request, context, isWrite: true, receiver: PendingCopy(coordinator: self, request: request, target: future), index: 0)
    }

    /// Whether node `name` keeps a copy of `token` at this epoch: its owner in some rack, or its
    /// pending owner while a change is in flight.
    func holdsCopy(_ name: String, token: UInt32) -> Bool {
        for dc in topology.datacenters.indices {
            for rack in topology.datacenters[dc].racks.indices where topology.node(at: topology.owner(of: token, datacenter: dc, rack: rack)).name == name {
                return true
            }
        }
        if let pending = cluster.pending, pending.ring.owner(of: token, rule: topology.ownership).name == name { return true }
        return false
    }

    /// The owners of `token` in this node's DC: its own rack's first, then the others in rack order.
    func localOwners(_ token: UInt32) -> [Target] {
        topology.localReplicas(of: token).map(target)
    }

    /// Sends to one target; an immediate failure is reported to `receiver` at once.
    func send(to target: Target, _ kind: PeerFrame.Kind, _ request: Request, _ context: Context,
              isWrite: Bool, receiver: any ReplyReceiver, index: Int) {
        guard case .peer(let peer) = target else {
            return executeLocally(request, context, isWrite: isWrite, receiver: receiver, index: index)
        }
        var flags: PeerFrame.Flags = []
        if context.resp3 { flags.insert(.resp3) }
        if isWrite { flags.insert(.write) }
        let connection = links.connection(to: peer, client: context.client)
        let error: EngineError?
        switch request {
        case .resp(_, let args):
            error = connection.send(kind, flags: flags, stamp: context.version, args[...], receiver: receiver, sequence: index)
        case .memcached(let memcached):
            flags.insert(.memcached)
            error = connection.send(kind, flags: flags, stamp: context.version, raw: memcached.raw, receiver: receiver, sequence: index)
        }
        if let error { receiver.receive(.failure(error), for: index) }
    }

    /// This node's own engine, if the node's state lets the request reach it.
    func executeLocally(_ request: Request, _ context: Context, isWrite: Bool,
                        receiver: any ReplyReceiver, index: Int) {
        if let refusal = Admission.check(node.settings.state, isWrite: isWrite) {
            loop.counters.refusedByState += 1
            return receiver.receive(.failure(EngineError(refusal.text, cause: .nodeState)), for: index)
        }
        var reply = ReplyWriter(buffer: allocator.buffer(capacity: 64), resp3: context.resp3)
        let origin = RequestOrigin(client: context.client, receiver: receiver, sequence: index)
        let execution: Execution
        let session = loop.session
        session.version = isWrite ? context.version : 0
        switch request {
        case .resp(let spec, let args):
            loop.counters.countDatastore(spec, args)
            execution = session.execute(spec, args, origin: origin, reply: &reply)
        case .memcached(let memcached): execution = session.execute(memcached: memcached, origin: origin, reply: &reply)
        }
        session.version = 0
        if execution.isLater || session.hasPendingWrites { loop.commitSoon() }
        switch execution {
        case .answered: receiver.receive(.success(reply.buffer), for: index)
        case .later: break
        case .failed(let error): receiver.receive(.failure(error), for: index)
        }
    }

    // MARK: - Multi-key commands

    /// MGET, MSET, DEL, UNLINK, EXISTS, TOUCH: one sub-command per owner set, each replicated
    /// with the request's consistency, merged back in key order.
    private func split(_ spec: CommandSpec, _ args: [ByteBuffer], keys: [Int], merge: ReplyMerge, _ context: Context) -> PendingReply {
        // MSET's keys come with their values (key step 2).
        let pairs = spec.keyStep == 2
        let isWrite = spec.flags.contains(.write)
        // A read's owner set answers for several keys: if its replicas disagree, each key is read
        // again on its own and repaired (`rereadEachKey`).
        let keyWise: Bool? = isWrite ? nil : merge == .elements
        let groups = ownerGroups(keys.lazy.map { args[$0] })
        if groups.count == 1 { return replicate(.resp(spec, args), isWrite: isWrite, token: groups[0].token, context, keyWise: keyWise) }
        let positions = groups.map(\.positions)
        let groupArgs = positions.map { group in
            var part = [args[0]]
            for position in group {
                part.append(args[keys[position]])
                if pairs { part.append(args[keys[position] + 1]) }
            }
            return part
        }
        let groupToken = groups.map(\.token)
        let merged = merge == .elements ? MergedReply(shape: .elements(positions: positions, total: keys.count), parts: groupArgs.count)
            : MergedReply(merge, parts: groupArgs.count)
        for group in groupArgs.indices {
            let part = replicate(.resp(spec, groupArgs[group]), isWrite: isWrite, token: groupToken[group], context, keyWise: keyWise)
            if let outcome = part.attach(merged, sequence: group) { merged.receive(outcome, for: group) }
        }
        return merged
    }

    /// A multi-key read (MGET, EXISTS) of one owner set whose replicas disagreed, sent again as
    /// one read per key: each of those has its own read repair, which answers with the key's
    /// newest state and writes it to the stale replicas. Merged as the request was
    /// (`elementwise`: one element per key, else the sum).
    func rereadEachKey(_ request: Request, _ context: Context, elementwise: Bool) -> PendingReply {
        guard case .resp(let spec, let args) = request, let keys = ClusterKeys.indexes(spec, args), !keys.isEmpty else {
            return decided(error: "ERR Dynomite: the read could not be split by key")
        }
        let shape: MergedReply.Shape = elementwise ? .elements(positions: keys.indices.map { [$0] }, total: keys.count) : .sum
        let merged = MergedReply(shape: shape, parts: keys.count)
        for (part, index) in keys.enumerated() {
            let key = args[index]
            let sub = replicate(.resp(spec, [args[0], key]), isWrite: false, token: tokenizer.token(of: key.readableBytesView), context)
            if let outcome = sub.attach(merged, sequence: part) { merged.receive(outcome, for: part) }
        }
        return merged
    }

    /// Keys grouped by their owners in every rack of every DC (`Topology.ownerGroups`).
    func ownerGroups(_ keys: some Sequence<ByteBuffer>) -> [(token: UInt32, positions: [Int])] {
        let tokenizer = self.tokenizer
        return topology.ownerGroups(keys.lazy.map { tokenizer.token(of: $0.readableBytesView) })
    }

    // MARK: - Keyspace-wide commands

    /// This node and every peer, in every DC.
    var everyNode: [Target] { [.local] + cluster.peers.indices.map(Target.peer) }

    /// The local rack's nodes: one full copy of the data.
    var localRackNodes: [Target] { targets[topology.localDatacenterIndex][topology.localRackIndex] }

    /// Sends one request to each of `nodes`; `merged` joins their answers (part i is node i's).
    func fanOut(_ request: Request, _ context: Context, to nodes: [Target], into merged: PendingReply, isWrite: Bool) -> PendingReply {
        for (i, target) in nodes.enumerated() {
            send(to: target, .request, request, context, isWrite: isWrite, receiver: merged, index: i)
        }
        return merged
    }

    /// SCAN over the local rack's nodes one after another. The cluster cursor carries the node
    /// (low 8 bits) and that node's own cursor (the rest), so it needs no server-side state.
    private func scan(_ spec: CommandSpec, _ args: [ByteBuffer], _ context: Context, rack: [Target]) -> PendingReply {
        guard let cursor = UInt64(args[1].text), rack.count <= 256, Int(cursor & 0xFF) < rack.count else {
            return decided(error: "ERR invalid cursor")
        }
        let nodeIndex = Int(cursor & 0xFF)
        var nodeArgs = args
        nodeArgs[1] = ByteBuffer(string: String(cursor >> 8))
        let reply = ScanReply(node: nodeIndex, nodes: rack.count)
        send(to: rack[nodeIndex], .request, .resp(spec, nodeArgs), context, isWrite: false, receiver: reply, index: 0)
        return reply
    }
}

/// A write's copy to a remote DC, moving to the next candidate when one cannot take it.
private final class RemoteCopy: ReplyReceiver {
    private let coordinator: Coordinator
    private let request: Coordinator.Request
    private let context: Coordinator.Context
    private let candidates: [Target]
    private var tried = 0

    init(coordinator: Coordinator, request: Coordinator.Request, context: Coordinator.Context, candidates: [Target]) {
        self.coordinator = coordinator
        self.request = request
        self.context = context
        self.candidates = candidates
    }

    func next() {
        guard tried < candidates.count else {
            coordinator.logger.warning("no node of a remote datacenter took a '\(request.name)' write; hinting its owner there")
            if let first = candidates.first { coordinator.missed(request, target: first) }
            return
        }
        let target = candidates[tried]
        tried += 1
        coordinator.send(to: target, .forwarded, request, context, isWrite: true, receiver: self, index: tried - 1)
    }

    func receive(_ reply: Result<ByteBuffer, EngineError>, for sequence: Int) {
        if case .failure = reply, sequence == tried - 1 { next() }
    }
}

/// A write's copy to a pending owner: a failure leaves a hint for it.
private final class PendingCopy: ReplyReceiver {
    private let coordinator: Coordinator
    private let request: Coordinator.Request
    private let target: Target

    init(coordinator: Coordinator, request: Coordinator.Request, target: Target) {
        self.coordinator = coordinator
        self.request = request
        self.target = target
    }

    func receive(_ reply: Result<ByteBuffer, EngineError>, for sequence: Int) {
        if case .failure = reply { coordinator.missed(request, target: target) }
    }
}

/// One node's SCAN page, with its cursor rewritten into the cluster cursor.
private final class ScanReply: PendingReply {
    private let node: Int
    private let nodes: Int

    init(node: Int, nodes: Int) {
        self.node = node
        self.nodes = nodes
    }

    override func receive(_ reply: Result<ByteBuffer, EngineError>, for sequence: Int) {
        switch reply {
        case .failure(let error):
            decide(.failure(error))
        case .success(let bytes):
            guard let parts = MergedReply.elements(bytes), parts.count == 2, let inner = RESPToken(parts[0]).bulkText.flatMap({ UInt64($0) }) else {
                return decide(bytes)  // an error reply passes through
            }
            var next: UInt64 = 0
            if inner != 0 {
                guard inner < (1 << 56) else { return decide(Self.errorBytes("ERR Dynomite: a node's SCAN cursor is too large to combine")) }
                next = inner << 8 | UInt64(node)
            } else if node + 1 < nodes {
                next = UInt64(node + 1)
            }
            var out = ByteBuffer()
            out.writeStaticString("*2\r\n")
            let text = String(next)
            out.writeString("$\(text.utf8.count)\r\n\(text)\r\n")
            var rest = parts[1]
            out.writeBuffer(&rest)
            decide(out)
        }
    }
}
