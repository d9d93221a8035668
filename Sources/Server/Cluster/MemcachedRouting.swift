import Engines
import NIOCore
import Protocol

/// The memcached engine in a cluster: requests go to their replicas as the bytes the client
/// sent, and replies are compared and chosen exactly like RESP replies.
extension Coordinator {
    /// Executes a memcached request on its replicas. Returns the outcome when already decided,
    /// otherwise nil (it then goes to `receiver` as `sequence`). A `noreply` request goes to
    /// the replicas expecting a reply: the caller drops it in the client's place.
    func execute(memcached request: MemcachedRequest, _ context: Context, receiver: any ReplyReceiver,
                 sequence: Int) -> Result<ByteBuffer, EngineError>? {
        var context = context
        if context.version == 0, request.isWrite { context.version = node.clock.next() }
        return route(memcached: request.expectingReply(), context).attach(receiver, sequence: sequence)
    }

    private func route(memcached request: MemcachedRequest, _ context: Context) -> PendingReply {
        switch request.command {
        case .version, .verbosity, .quit, .stats, .mn:
            // Answered by this node's own memcached: stats describe one server.
            return replicate(.memcached(request), isWrite: false, token: nil, context)
        case .flushAll:
            let nodes = everyNode
            return fanOut(.memcached(request), context, to: nodes, into: MemcachedMergedReply(shape: .allOK, parts: nodes.count), isWrite: true)
        case .cas:
            // Each replica keeps its own cas uniques; `gets` answers from the first available
            // owner in rack order, so cas runs there, and what it stored goes to the others as a set.
            let token = tokenizer.token(of: request.keys[0].readableBytesView)
            return CasThenSet(coordinator: self, request: request, token: token, context: context).start()
        case .get, .gets, .gat, .gats:
            return retrieve(request, context)
        case .set, .add, .replace, .append, .prepend, .delete, .incr, .decr, .touch:
            let token = tokenizer.token(of: request.keys[0].readableBytesView)
            return replicate(.memcached(request), isWrite: true, token: token, context)
        case .mg, .ms, .md, .ma, .me:
            return routeMeta(request, context)
        }
    }

    /// A meta command on its key's replicas: ms, md, ma and an mg that touches or creates are
    /// writes. Answers carrying one copy's own metadata (mg's cas, TTL, last access, hit
    /// flags; me's dump) come from one replica (DC_ONE), as gets does. A compare-and-swap by
    /// the C flag is refused: each copy has its own cas unique, so no value could pass on all.
    private func routeMeta(_ request: MemcachedRequest, _ context: Context) -> PendingReply {
        let flags = request.metaFlags
        if request.command != .mg, request.command != .me, flags.contains(where: { $0.hasPrefix("C") }) {
            let refused = PendingReply()
            refused.decide(MemcachedReplies.serverError("ERR Dynomite: meta compare-and-swap (the C flag) needs a single copy of the item; in a cluster use gets and cas"))
            return refused
        }
        let token = tokenizer.token(of: request.keys[0].readableBytesView)
        let perCopy = request.command == .me
            || (request.command == .mg && flags.contains { ["c", "t", "l", "h"].contains($0) })
        return replicate(.memcached(request), isWrite: request.isWrite, token: token, context, level: perCopy ? .dcOne : nil)
    }

    /// A retrieval, split per owner set when its keys live apart. `gets` and `gats` answer from
    /// one replica (DC_ONE): their cas uniques differ from replica to replica, so no two answers
    /// could ever agree. `gat` and `gats` change expiry, so they go to every replica like writes.
    private func retrieve(_ request: MemcachedRequest, _ context: Context) -> PendingReply {
        let isWrite = request.isWrite
        let level: Consistency? = request.command == .gets || request.command == .gats ? .dcOne : nil
        let groups = ownerGroups(request.keys)
        if groups.count == 1 {
            return replicate(.memcached(request), isWrite: isWrite, token: groups[0].token, context, level: level)
        }
        let merged = MemcachedMergedReply(shape: .values(keys: request.keys, positions: groups.map(\.positions)), parts: groups.count)
        for (group, owners) in groups.enumerated() {
            let part = replicate(.memcached(request.retrieval(of: owners.positions.map { request.keys[$0] })), isWrite: isWrite,
                                 token: owners.token, context, level: level)
            if let outcome = part.attach(merged, sequence: group) { merged.receive(outcome, for: group) }
        }
        return merged
    }
}

/// A memcached `cas` in a cluster: tried on the key's owners in rack order (as `gets` reads
/// them) until one answers; when that one stores, the value goes to the other replicas as a
/// `set` with the write consistency, and the client gets STORED once that write is decided.
final class CasThenSet: OneOwnerThenReplicas {
    private let request: MemcachedRequest

    init(coordinator: Coordinator, request: MemcachedRequest, token: UInt32, context: Coordinator.Context) {
        self.request = request
        super.init(coordinator: coordinator, first: .memcached(request), token: token, context: context)
    }

    override func follow(_ reply: ByteBuffer) -> (request: Coordinator.Request, answered: ByteBuffer)? {
        // EXISTS, NOT_FOUND and errors go straight back; only a store is passed on.
        guard reply.readableBytesView.elementsEqual("STORED\r\n".utf8) else { return nil }
        return (.memcached(request.casAsSet()), reply)
    }
}
