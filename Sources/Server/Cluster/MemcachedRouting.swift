import Engines
import NIOCore
import Protocol

/// The memcached engine in a cluster: requests go to their replicas as the bytes the client
/// sent, and replies are compared and chosen exactly like RESP replies.
extension Coordinator {
    /// Executes a memcached request on its replicas. Returns the reply when already decided,
    /// otherwise nil (the reply then goes to `receiver` as `sequence`). A `noreply` request
    /// goes to the replicas expecting a reply: the caller drops it in the client's place.
    func execute(memcached request: MemcachedRequest, _ context: Context, receiver: any ReplyReceiver, sequence: Int) -> ByteBuffer? {
        route(memcached: request.expectingReply(), context).attach(receiver, sequence: sequence)
    }

    private func route(memcached request: MemcachedRequest, _ context: Context) -> PendingReply {
        switch request.command {
        case .version, .verbosity, .quit:
            return replicate(.memcached(request), isWrite: false, token: nil, context)
        case .flushAll:
            let nodes = everyNode
            return fanOut(.memcached(request), context, to: nodes, into: MemcachedMergedReply(shape: .allOK, parts: nodes.count), isWrite: true)
        case .cas:
            return decided(error: "ERR cas is not supported in a cluster: every replica assigns its own cas unique, so one replica's unique means nothing to the others")
        case .get, .gets, .gat, .gats:
            return retrieve(request, context)
        case .set, .add, .replace, .append, .prepend, .delete, .incr, .decr, .touch:
            let token = tokenizer.token(of: request.keys[0].readableBytesView)
            return replicate(.memcached(request), isWrite: true, token: token, context)
        }
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
            if let bytes = part.attach(merged, sequence: group) { merged.receive(.success(bytes), for: group) }
        }
        return merged
    }
}
