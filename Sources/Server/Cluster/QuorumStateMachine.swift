import Engines
import Ring

/// How a request's answers are reduced to one reply.
enum QuorumRule: Equatable {
    /// DC_ONE: the first target's answer; when it fails, the next target's, in order.
    case preferred
    /// ⌊N/2⌋+1 answers of each group; `safe` requires that many identical answers.
    case quorum(safe: Bool)
}

/// How one request's replica answers become one reply (DESIGN.md §5), as a state machine with
/// no I/O: the caller feeds it each replica's answer or failure and performs the action it
/// returns (send the next failover target, or deliver the decided outcome). It is generic over
/// the reply so that the coordinator drives it with reply bytes and the simulated network with
/// plain values; timeouts are the transport's (a timed-out replica arrives as a failure).
///
/// Targets are grouped by datacenter; each group must reach its own decision (only
/// `DC_EACH_SAFE_QUORUM` has more than one), and the reply is the first group's.
struct QuorumStateMachine<Reply: Equatable> {
    typealias Rule = QuorumRule

    /// What the request comes to.
    enum Outcome: Equatable {
        case reply(Reply)
        /// Too few replicas answered (the first failure's words and cause), or (safe quorums)
        /// too few agreed.
        case error(Failure)
    }

    enum Action: Equatable {
        /// Nothing to do until another answer arrives.
        case wait
        /// Send the request to target `index` now (a DC_ONE read's failover).
        case send(Int)
        /// The request is decided; later answers are ignored.
        case decide(Outcome)
    }

    private enum Answer {
        case pending
        /// Not sent yet: a DC_ONE read's failover target, sent when the ones before it fail.
        case unsent
        case answered(Reply, order: Int)
        case failed(Failure)
    }

    /// Dynomite's error when a safe quorum's answers do not agree; counted as a peer failure.
    static var quorumMismatch: Failure { EngineError("ERR Dynomite: Failed to achieve Quorum", cause: .peer) }

    let rule: Rule
    /// `groups[g]` is a range of target indexes.
    let groups: [Range<Int>]
    private var answers: [Answer]
    private var arrivals = 0
    private(set) var isDecided = false

    /// `lazy`: only target 0 is sent at first; the others wait for `.send` (DC_ONE reads).
    init(rule: Rule, groups: [Range<Int>], lazy: Bool = false) {
        self.rule = rule
        self.groups = groups
        let count = groups.last?.upperBound ?? 0
        answers = Array(repeating: .pending, count: count)
        if lazy { for i in 1..<max(count, 1) { answers[i] = .unsent } }
    }

    /// Target `index` answered (`.success`) or could not (`.failure` with the reason).
    mutating func receive(_ answer: Result<Reply, Failure>, from index: Int) -> Action {
        guard !isDecided, index >= 0, index < answers.count else { return .wait }
        switch answer {
        case .success(let reply):
            answers[index] = .answered(reply, order: arrivals)
            arrivals += 1
        case .failure(let failure):
            answers[index] = .failed(failure)
        }
        let action = evaluate()
        if case .decide = action { isDecided = true }
        return action
    }

    /// Why a target gave no answer (its own words, `ERR Peer: Peer Node timed out`, ..., and
    /// its cause for the counters).
    typealias Failure = EngineError

    private mutating func evaluate() -> Action {
        switch rule {
        case .preferred:
            for i in answers.indices {
                switch answers[i] {
                case .answered(let reply, _): return .decide(.reply(reply))
                case .failed: continue
                case .pending: return .wait
                case .unsent:
                    answers[i] = .pending
                    return .send(i)
                }
            }
            return .decide(.error(noAnswer(0..<answers.count, needed: 1)))
        case .quorum(let safe):
            var chosen: Reply?
            for (g, range) in groups.enumerated() {
                switch tally(range, safe: safe) {
                case .waiting: return .wait
                case .failed(let message): return .decide(.error(message))
                case .decided(let reply): if g == 0 { chosen = reply }
                }
            }
            return .decide(.reply(chosen!))
        }
    }

    private enum Tally {
        case waiting
        case decided(Reply)
        case failed(Failure)
    }

    private func tally(_ range: Range<Int>, safe: Bool) -> Tally {
        let needed = range.count / 2 + 1
        var pending = 0
        var successes = 0
        // The most common answer, ties going to the earliest arrival.
        var best: (reply: Reply, count: Int, order: Int)?
        for i in range {
            switch answers[i] {
            case .pending, .unsent: pending += 1
            case .failed: break
            case .answered(let reply, let order):
                successes += 1
                var count = 0
                for j in range {
                    if case .answered(let other, _) = answers[j], other == reply { count += 1 }
                }
                if best == nil || count > best!.count || (count == best!.count && order < best!.order) {
                    best = (reply, count, order)
                }
            }
        }
        if let best, best.count >= needed { return .decided(best.reply) }
        if successes + pending < needed { return .failed(noAnswer(range, needed: needed)) }
        if pending > 0 {
            // A safe quorum that can no longer be reached is decided now.
            if safe, (best?.count ?? 0) + pending < needed { return .failed(Self.quorumMismatch) }
            return .waiting
        }
        // Enough answers, but no quorum of them agree.
        return safe ? .failed(Self.quorumMismatch) : .decided(best!.reply)
    }

    /// Too few replicas answered: the first failure's own words, and how short the quorum fell.
    private func noAnswer(_ range: Range<Int>, needed: Int) -> Failure {
        var first = EngineError("ERR Peer: Peer Node is not connected", cause: .peer)
        var failed = 0
        for i in range {
            if case .failed(let failure) = answers[i] {
                if failed == 0 { first = failure }
                failed += 1
            }
        }
        if range.count == 1 { return first }
        return EngineError("\(first.message) (\(range.count - failed) of \(range.count) replicas answered, \(needed) needed)",
                           cause: first.cause)
    }
}

/// Which replicas a single-key request goes to and how their answers are collected, from the
/// consistency level: a pure function of the replica placement (`Topology`) and the level.
struct ReplicaDispatch: Equatable {
    /// The targets, in the order the collector numbers them.
    let targets: [NodePosition]
    let groups: [Range<Int>]
    let rule: QuorumRule
    /// Only target 0 is sent at first (DC_ONE reads fail over one rack at a time).
    let lazy: Bool
    /// Remote datacenters that get a copy of a write, each as its candidates in order.
    let remoteCopies: [[NodePosition]]

    typealias Consistency = DynamisConfig.Consistency

    /// `forwarded`: a write sent by another DC's coordinator, replicated within this DC at DC_ONE.
    init(token: UInt32, topology: Topology, level: Consistency, isWrite: Bool, forwarded: Bool) {
        let level = forwarded ? .dcOne : level
        if level == .dcEachSafeQuorum {
            // Every rack of every DC, each DC its own safe quorum; the local DC's answer is the reply.
            var all = topology.localReplicas(of: token)
            var groups = [0..<all.count]
            for dc in topology.datacenters.indices where dc != topology.localDatacenterIndex {
                let start = all.count
                all += topology.replicas(of: token, datacenter: dc)
                groups.append(start..<all.count)
            }
            self.init(targets: all, groups: groups, rule: .quorum(safe: true), lazy: false, remoteCopies: [])
            return
        }
        let local = topology.localReplicas(of: token)
        var remote: [[NodePosition]] = []
        if isWrite, !forwarded {
            for dc in topology.datacenters.indices where dc != topology.localDatacenterIndex {
                remote.append(topology.remoteCandidates(of: token, datacenter: dc))
            }
        }
        self.init(targets: local, groups: [0..<local.count], rule: level == .dcOne ? .preferred : .quorum(safe: level != .dcQuorum),
                  lazy: !isWrite && level == .dcOne, remoteCopies: remote)
    }

    private init(targets: [NodePosition], groups: [Range<Int>], rule: QuorumRule, lazy: Bool,
                 remoteCopies: [[NodePosition]]) {
        self.targets = targets
        self.groups = groups
        self.rule = rule
        self.lazy = lazy
        self.remoteCopies = remoteCopies
    }

    /// A collector for this dispatch's answers.
    func machine<Reply: Equatable>(_: Reply.Type = Reply.self) -> QuorumStateMachine<Reply> {
        QuorumStateMachine(rule: rule, groups: groups, lazy: lazy)
    }
}
