import Engines
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Ring
import Synchronization

/// The newest membership epoch this node has seen (DESIGN.md §5b), kept in `data_dir` so a
/// restarted node resumes where it was (a joining node goes on streaming, a finished change
/// stays finished), and handed to every event loop as a new `ClusterMap` when it changes.
/// Only a newer epoch replaces the current one; a change is proposed only when none is running.
public final class MembershipStore: Sendable {
    private struct State {
        var membership: Membership?
        /// When the current epoch was installed (ms), for the cleanup delay.
        var installedAt: Int64 = 0
    }

    private let state = NIOLockedValueBox(State())
    /// Where the epoch is kept (nil: not persisted, e.g. a node without peers).
    private let file: String?
    /// Builds and installs the map of an epoch on every loop (set once the loops exist).
    private let installer = NIOLockedValueBox<(@Sendable (ClusterMap) -> Void)?>(nil)
    private let logger: Logger
    private let config: DynamisConfig
    /// The stream of the ranges a change gives this node: progress for `/topology`, `/info`, `/metrics`.
    let stream = RepairStatus(prefix: "stream")
    /// Token ranges dropped by cleanup after changes.
    let rangesDropped = Atomic<Int>(0)

    init(config: DynamisConfig, file: String?, logger: Logger) {
        self.config = config
        self.file = file
        self.logger = logger
    }

    /// Epoch 0 from the config, unless `data_dir` holds a newer epoch from an earlier run.
    func load(seeds: Membership?) -> Membership? {
        var loaded = seeds
        if let file, let data = FileManager.default.contents(atPath: file) {
            do {
                let stored = try JSONDecoder().decode(Membership.self, from: data)
                if seeds == nil || stored.epoch > 0 {
                    loaded = stored
                    logger.notice("membership: epoch \(stored.epoch) from \(file) (\(stored.members.count) members\(stored.change.map { ", \($0.description) in flight" } ?? "")) replaces dyn_seeds")
                }
            } catch {
                logger.error("membership: \(file) is not readable (\(error)); starting from dyn_seeds")
            }
        }
        state.withLockedValue { $0 = State(membership: loaded, installedAt: WallClock.nowMillis()) }
        return loaded
    }

    /// A seed provider's new list, while no change has ever been made (epoch 0).
    func adoptSeeds(_ seeds: Membership) {
        let taken: Bool = state.withLockedValue { state in
            guard (state.membership?.epoch ?? 0) == 0 else { return false }
            state.membership = seeds
            return true
        }
        if taken, let file { try? FileManager.default.removeItem(atPath: file) }
    }

    func setInstaller(_ install: @escaping @Sendable (ClusterMap) -> Void) {
        installer.withLockedValue { $0 = install }
    }

    var current: Membership? { state.withLockedValue { $0.membership } }
    var installedAt: Int64 { state.withLockedValue { $0.installedAt } }

    /// Starts `change`: the next epoch, kept, installed here, then spread by the agent's gossip.
    func propose(_ change: Membership.Change) throws(MembershipRefusal) -> Membership {
        let outcome: Result<Membership, MembershipRefusal> = state.withLockedValue { state in
            guard let current = state.membership else { return .failure(.noCluster) }
            let next: Membership
            do throws(Membership.Refusal) {
                next = try current.proposing(change)
            } catch {
                return .failure(.refused(error))
            }
            // Build the map before committing: a change that gives no valid ring is refused.
            do throws(ConfigError) {
                _ = try ClusterMap.make(config: config, membership: next)
            } catch {
                return .failure(.invalid(error.message))
            }
            state.membership = next
            state.installedAt = WallClock.nowMillis()
            return .success(next)
        }
        let next = try outcome.get()
        persist(next)
        logger.notice("membership: epoch \(next.epoch): \(next.change!.description) started here")
        install(next)
        return next
    }

    /// Abandons the change in flight (`/topology/abort`): the next epoch, members unchanged.
    func abort() -> Membership? {
        advance(when: { $0.change != nil }, to: { $0.aborted() }) { next in
            "membership: epoch \(next.epoch): the change in flight was abandoned by the operator; the members are unchanged"
        }
    }

    /// Finishes the change of `epoch` (this node streamed what it gains): the next epoch.
    func finish(epoch: UInt64) -> Membership? {
        advance(when: { $0.epoch == epoch && $0.change != nil }, to: { $0.finished() }) { next in
            "membership: epoch \(next.epoch): the change of epoch \(epoch) is finished; \(next.members.count) members own the ring"
        }
    }

    /// Moves to the epoch `step` makes of the current one, if `when` holds for it: kept,
    /// logged and installed.
    private func advance(when: (Membership) -> Bool, to step: (Membership) -> Membership,
                         log: (Membership) -> String) -> Membership? {
        let next: Membership? = state.withLockedValue { state in
            guard let current = state.membership, when(current) else { return nil }
            let next = step(current)
            state.membership = next
            state.installedAt = WallClock.nowMillis()
            return next
        }
        guard let next else { return nil }
        persist(next)
        logger.notice("\(log(next))")
        install(next)
        return next
    }

    /// Takes `offered` if it is newer than this node's epoch (from a peer); true when taken.
    @discardableResult
    func offer(_ offered: Membership, from peer: String) -> Bool {
        var conflict: String?
        let taken: Bool = state.withLockedValue { state in
            if let current = state.membership, offered.epoch <= current.epoch {
                // Two changes proposed on two nodes at once share an epoch: every node keeps the
                // same one of them (the smaller encoding), so the cluster never splits over it.
                guard offered.epoch == current.epoch, offered != current, offered.epoch > 0,
                      Self.encode(offered) < Self.encode(current) else { return false }
                conflict = current.change?.description ?? "no change"
            }
            // A map that cannot be built here (this node's rack is gone) is not taken.
            guard (try? ClusterMap.make(config: config, membership: offered)) != nil else { return false }
            state.membership = offered
            state.installedAt = WallClock.nowMillis()
            return true
        }
        guard taken else { return false }
        if let conflict {
            logger.warning("membership: two changes were proposed at epoch \(offered.epoch) at once; keeping \(offered.change?.description ?? "no change") from \(peer), dropping \(conflict)")
        }
        persist(offered)
        logger.notice("membership: epoch \(offered.epoch) from \(peer): \(offered.change.map { "\($0.description) in flight" } ?? "no change in flight"), \(offered.members.count) members")
        install(offered)
        return true
    }

    private func install(_ membership: Membership) {
        guard let map = try? ClusterMap.make(config: config, membership: membership) else { return }
        installer.withLockedValue { $0 }?(map)
    }

    private func persist(_ membership: Membership) {
        guard let file else { return }
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let data = try encoder.encode(membership)
            // Written whole and renamed: a crash leaves the old epoch or the new, never half.
            let temporary = file + ".tmp"
            try data.write(to: URL(fileURLWithPath: temporary))
            _ = rename(temporary, file)
        } catch {
            logger.error("membership: cannot keep epoch \(membership.epoch) in \(file): \(error)")
        }
    }

    /// DYNAMIS.TOPOLOGY [membership-json] from a peer: takes its epoch if newer, answers with
    /// this node's (newest) epoch as a one-element array, so both ends learn the newer one.
    func answer(_ args: [ByteBuffer], from peer: String) -> ByteBuffer {
        if args.count == 2, let offered = Self.decode(args[1].readableBytesView) {
            offer(offered, from: peer.split(separator: " ").first.map(String.init) ?? peer)
        }
        guard let current else { return PendingReply.errorBytes("ERR this node has no membership") }
        var out = ByteBuffer()
        let text = Self.encode(current)
        out.writeString("*1\r\n$\(text.utf8.count)\r\n\(text)\r\n")
        return out
    }

    /// The membership as JSON (the peer exchange and `/topology`).
    static func encode(_ membership: Membership) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(membership)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    static func decode(_ text: some Sequence<UInt8>) -> Membership? {
        try? JSONDecoder().decode(Membership.self, from: Data(text))
    }
}

/// Why `/topology/...` refused a change.
enum MembershipRefusal: Error, CustomStringConvertible {
    case noCluster
    case refused(Membership.Refusal)
    case invalid(String)

    var description: String {
        switch self {
        case .noCluster: return "this node has no peers: there is no cluster to change"
        case .refused(let refusal): return refusal.description
        case .invalid(let why): return "the change gives no valid ring: \(why)"
        }
    }
}
