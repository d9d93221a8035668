import Engines
import Foundation
import NIOCore
import Protocol

/// One key's state, read from `source` with DYNAMIS.STATE, applied on `destinations` with
/// DYNAMIS.APPLY: the last step of hinted handoff, read repair and anti-entropy (RocksDB engine).
///
/// A state read with `MAXBYTES` (`StateTransfer.stateRequest`) may come in parts: the first part
/// the caller already read goes to every destination as `PART 0`, then each next part is read
/// from the source (`FROM version cursor`) and sent as `PART i`, the last as `PARTS n`. Parts
/// go one at a time, so no frame and no node holds more than one part in flight; a destination
/// that answers `:0` (it holds a newer version) or fails is sent nothing more. `deliver` gets
/// each destination's final answer (its index in `destinations`): the last APPLY's reply, or
/// the failure that ended its transfer.
final class StateTransfer: ReplyReceiver {
    private let coordinator: Coordinator
    private let key: ByteBuffer
    private let source: Target
    private let destinations: [Target]
    private let client: Int
    private let deliver: (Int, Result<ByteBuffer, EngineError>) -> Void
    private var state: VersionedState
    private var part = 0
    private var live: [Bool]
    private var awaiting = 0

    private static let stateSpec = CommandTable.lookup("dynamis.state")!
    /// How the receiving node's passing refusals begin: its staging full or a part missing
    /// (`Versions.swift`), or its node state.
    static let retryLater = "ERR Dynomite: "
    private static let applySpec = CommandTable.lookup("dynamis.apply")!

    /// `DYNAMIS.STATE key MAXBYTES n`: the first (or only) part of `key`'s state, n being the
    /// node's `state_chunk_size`.
    static func stateRequest(key: ByteBuffer, chunk: Int) -> Coordinator.Request {
        .resp(stateSpec, [ByteBuffer(string: "dynamis.state"), key, ByteBuffer(string: "MAXBYTES"), ByteBuffer(string: String(chunk))])
    }

    /// `DYNAMIS.APPLY key version expire-at [payload [PART i | PARTS n]]` (no payload: a tombstone).
    static func applyRequest(key: ByteBuffer, version: UInt64, expireAt: Int, payload: ByteBuffer?,
                             part: (word: String, number: Int)? = nil) -> Coordinator.Request {
        var args = [ByteBuffer(string: "dynamis.apply"), key, ByteBuffer(string: String(version)), ByteBuffer(string: String(max(expireAt, 0)))]
        if let payload { args.append(payload) }
        if let part, payload != nil { args += [ByteBuffer(string: part.word), ByteBuffer(string: String(part.number))] }
        return .resp(applySpec, args)
    }

    /// `first` is the source's reply to `stateRequest`; `client` the connection id the frames are
    /// sent for (the caller's maintenance client).
    init(coordinator: Coordinator, key: ByteBuffer, first: VersionedState, from source: Target, to destinations: [Target],
         client: Int, deliver: @escaping (Int, Result<ByteBuffer, EngineError>) -> Void) {
        self.coordinator = coordinator
        self.key = key
        self.state = first
        self.source = source
        self.destinations = destinations
        self.client = client
        self.deliver = deliver
        self.live = Array(repeating: true, count: destinations.count)
    }

    /// Bytes one APPLY of the current part carries (for pacing and counters).
    var partBytes: Int { key.readableBytes + (state.payload?.readableBytes ?? 0) }

    func start() { sendPart() }

    private func sendPart() {
        let more = state.cursor != nil
        let numbering: (String, Int)? = more ? ("PART", part) : part > 0 ? ("PARTS", part + 1) : nil
        if more || part > 0 { coordinator.node.statePartsSent.add(1, ordering: .relaxed) }
        let request = Self.applyRequest(key: key, version: state.version, expireAt: state.expireAt, payload: state.payload, part: numbering)
        // Stamped now, like any write: a frozen node refuses it if it arrives late.
        let context = Coordinator.Context(client: client, resp3: false, read: .dcOne, write: .dcOne, version: coordinator.node.clock.next())
        let targets = destinations.indices.filter { live[$0] }
        awaiting = targets.count
        for i in targets {
            coordinator.send(to: destinations[i], .request, request, context, isWrite: true, receiver: self, index: i)
        }
    }

    func receive(_ reply: Result<ByteBuffer, EngineError>, for index: Int) {
        if index == destinations.count { return nextPart(reply) }
        guard index < destinations.count, live[index] else { return }
        var reply = reply
        // A destination that cannot take parts now (its staging full, a part lost) is a failure
        // to retry later, not a refusal of the state: a hint stays, a repair counts an error.
        if case .success(let bytes) = reply, let text = RESPToken(bytes).errorText, text.hasPrefix(Self.retryLater) {
            reply = .failure(EngineError(text))
        }
        if state.cursor == nil {
            // The last (or only) part: its answer is the destination's.
            live[index] = false
            deliver(index, reply)
        } else if case .success(let bytes) = reply, RESPToken(bytes).integer == 1 {
            // Kept; the next part follows.
        } else {
            live[index] = false
            deliver(index, reply)
        }
        awaiting -= 1
        guard awaiting == 0, state.cursor != nil, live.contains(true) else { return }
        let context = Coordinator.Context(client: client, resp3: false, read: .dcOne, write: .dcOne)
        let request: Coordinator.Request = .resp(Self.stateSpec, [
            ByteBuffer(string: "dynamis.state"), key, ByteBuffer(string: "MAXBYTES"), ByteBuffer(string: String(coordinator.node.config.stateChunkSize)),
            ByteBuffer(string: "FROM"), ByteBuffer(string: String(state.version)), state.cursor!,
        ])
        coordinator.send(to: source, .request, request, context, isWrite: false, receiver: self, index: destinations.count)
    }

    /// The source's next part; a failure (the key changed meanwhile, the source went away) ends
    /// every destination's transfer with it.
    private func nextPart(_ reply: Result<ByteBuffer, EngineError>) {
        guard case .success(let bytes) = reply, let parts = MergedReply.elements(bytes),
              let next = VersionedState(parts), next.version == state.version, next.payload != nil else {
            // The source's trouble, not the destinations': a failure (a hint is kept, a repair retried).
            let why: String
            switch reply {
            case .failure(let error): why = error.message
            case .success(let bytes): why = String(buffer: bytes).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let failure: Result<ByteBuffer, EngineError> = .failure(EngineError("the next part of the state could not be read: \(why)"))
            for i in destinations.indices where live[i] {
                live[i] = false
                deliver(i, failure)
            }
            return
        }
        state = next
        part += 1
        sendPart()
    }
}
