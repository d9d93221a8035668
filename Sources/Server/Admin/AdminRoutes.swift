import Engines
import Foundation
import NIOCore
import NIOHTTP1
import Ring

/// What each admin path does. Paths and replies follow Dynomite's REST interface, except that
/// unknown paths are 404 (Dynomite answers them OK) and action paths refuse other methods (405).
final class AdminRoutes: Sendable {
    let node: NodeContext
    let loops: LoopSessions
    let eventLoop: EventLoop
    let metrics: NodeMetrics

    init(node: NodeContext, loops: LoopSessions, eventLoop: EventLoop) {
        self.node = node
        self.loops = loops
        self.eventLoop = eventLoop
        self.metrics = NodeMetrics(node: node)
    }

    static let help = """
        Dynamis admin paths:
        /info                              node statistics (Dynomite's JSON layout)
        /metrics                           Prometheus text format
        /ping                              OK
        /help                              this list
        /cluster_describe                  datacenters, racks and nodes with their tokens
        /get_consistency                   read and write consistency levels
        /set_consistency/<read|write>/<l>  dc_one, dc_quorum, dc_safe_quorum, dc_each_safe_quorum
        /state/<standby|writes_only|resuming|normal|get_state>
        /get_timeout_factor, /set_timeout_factor/<1-10>
        /loglevelup, /logleveldown, /setloglevel/<0-11>
        /peer/<up|down|reset>/<name|all>
        /backup?dir=<absolute path>        RocksDB checkpoint of this node into a new directory
        /read_repairs/<enable|disable>     read repair on quorum reads (text contains ENABLED/DISABLED)
        /hints                             pending hints per target, and the hint counters (JSON)
        /hints/drop, /hints/drop/<name>    drops every pending hint, or one target's
        /repair[?start=<token>&end=<token>] starts anti-entropy over this node's ranges (or a part); answers at once
        /repair/status                     the repair counters (JSON; also in /info and /metrics)
        /topology                          membership epoch, members, the change in flight, stream progress (JSON)
        /topology/join/<host:port:rack:dc:token>   starts a node's join (the node runs with auto_bootstrap: true)
        /topology/leave/<host:port>        starts a member's decommission (its ranges stream to their next owners)
        /topology/replace/<dead host:port>/<new host:port>  a new node takes a dead member's token, filled from the other racks
        /topology/verify                   this node's keys inside and outside the tokens it owns (JSON)
        /topology/abort                    abandons the change in flight (the members stay as they are)

        """

    /// Paths that only read; everything else changes the node and, with `requirepass` set,
    /// needs `Authorization: Bearer <requirepass>`.
    static let readOnly: Set<String> = ["info", "metrics", "ping", "help", "cluster_describe", "get_consistency", "get_timeout_factor"]

    /// `/hints` only reads; `/hints/drop` changes the node.
    static func isReadOnly(_ parts: [String]) -> Bool {
        guard let first = parts.first else { return true }
        if first == "hints" { return parts.count == 1 }
        if first == "state" { return parts.count == 2 && parts[1] == "get_state" }
        if first == "repair" { return parts.count == 2 && parts[1] == "status" }
        if first == "topology" { return parts.count == 1 || (parts.count == 2 && parts[1] == "verify") }
        return readOnly.contains(first)
    }

    func respond(method: HTTPMethod, uri: String, authorization: String? = nil) -> EventLoopFuture<AdminResponse> {
        let path = uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? uri
        let parts = path.split(separator: "/").map(String.init)
        guard let first = parts.first ?? Optional("info") else { return eventLoop.makeSucceededFuture(notFound(path)) }
        if method != .GET {
            return eventLoop.makeSucceededFuture(AdminResponse(status: .methodNotAllowed, body: "only GET is allowed\n"))
        }
        let isAction = !Self.isReadOnly(parts)
        if isAction, let password = node.config.requirePass, !Self.bearerMatches(authorization, password) {
            var response = AdminResponse(status: .unauthorized, body: "this path changes the node: send Authorization: Bearer <requirepass>\n")
            response.contentType = "text/plain"
            return eventLoop.makeSucceededFuture(response)
        }
        let settings = node.settings
        switch (first, parts.count) {
        case ("info", 1):
            return loops.totals().map { AdminResponse.json(InfoJSON.make(node: self.node, counters: $0)) }
        case ("metrics", 1):
            return loops.totals().map {
                AdminResponse(contentType: "text/plain; version=0.0.4", body: self.metrics.render(totals: $0))
            }
        case ("ping", 1):
            return ok()
        case ("help", 1):
            return eventLoop.makeSucceededFuture(.text(Self.help))
        case ("cluster_describe", 1):
            return eventLoop.makeSucceededFuture(.json(clusterDescription()))
        case ("get_consistency", 1):
            return eventLoop.makeSucceededFuture(.text("Read Consistency: \(settings.readConsistency.rawValue)\r\nWrite Consistency: \(settings.writeConsistency.rawValue)\r\n"))
        case ("set_consistency", 3):
            guard let level = DynamisConfig.Consistency(rawValue: parts[2].uppercased()) else {
                return badRequest("unknown consistency '\(parts[2])'; allowed: dc_one, dc_quorum, dc_safe_quorum, dc_each_safe_quorum")
            }
            switch parts[1] {
            case "read": settings.readConsistency = level
            case "write": settings.writeConsistency = level
            default: return badRequest("use /set_consistency/read/<level> or /set_consistency/write/<level>")
            }
            return ok()
        case ("state", 2):
            if parts[1] == "get_state" { return eventLoop.makeSucceededFuture(.text("State: \(settings.state.name)\r\n")) }
            guard let state = NodeState(path: parts[1]) else {
                return badRequest("unknown state '\(parts[1])'; allowed: standby, writes_only, resuming, normal, get_state")
            }
            settings.state = state
            return ok()
        case ("get_timeout_factor", 1):
            return eventLoop.makeSucceededFuture(.text("Timeout factor: \(settings.timeoutFactor.load(ordering: .relaxed))\r\n"))
        case ("set_timeout_factor", 2):
            guard let factor = Int(parts[1]) else { return badRequest("the timeout factor is a number from 1 to 10") }
            settings.timeoutFactor.store(min(10, max(1, factor)), ordering: .relaxed)
            return ok()
        case ("loglevelup", 1), ("logleveldown", 1), ("setloglevel", 2):
            let current = RuntimeLog.verbosity.load(ordering: .relaxed)
            let wanted: Int
            switch first {
            case "loglevelup": wanted = current + 1
            case "logleveldown": wanted = current - 1
            default:
                guard let level = Int(parts[1]) else { return badRequest("the log level is a number from 0 to 11") }
                wanted = level
            }
            RuntimeLog.verbosity.store(min(11, max(0, wanted)), ordering: .relaxed)
            return ok()
        case ("read_repairs", 2):
            switch parts[1] {
            case "enable": node.readRepairs.store(true, ordering: .relaxed)
            case "disable": node.readRepairs.store(false, ordering: .relaxed)
            default: return badRequest("use /read_repairs/enable or /read_repairs/disable")
            }
            let on = node.readRepairs.load(ordering: .relaxed)
            return eventLoop.makeSucceededFuture(.text("Read Repairs: \(on ? "ENABLED" : "DISABLED")\r\n"))
        case ("hints", 1):
            let counters = node.hints?.counters ?? HintStore.Counters()
            let body: [String: Any] = [
                "enabled": node.hints != nil,
                "pending": node.hints?.pending ?? [:],
                "stored": counters.stored, "replayed": counters.replayed,
                "dropped": ["window": counters.droppedWindow, "cap": counters.droppedCap, "operator": counters.droppedByOperator],
            ]
            return eventLoop.makeSucceededFuture(.json(body))
        case ("hints", 2), ("hints", 3):
            guard parts[1] == "drop" else { return badRequest("use /hints/drop or /hints/drop/<target>") }
            let dropped = node.hints?.drop(target: parts.count == 3 ? parts[2] : nil) ?? 0
            return eventLoop.makeSucceededFuture(.text("Dropped \(dropped) hint(s)\r\n"))
        case ("repair", 1):
            return repair(query: uri.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init) ?? "")
        case ("repair", 2) where parts[1] == "status":
            return eventLoop.makeSucceededFuture(.json(Dictionary(uniqueKeysWithValues: node.repair.figures.map { ($0.name, $0.value as Any) })))
        case ("topology", _):
            return topology(Array(parts.dropFirst()))
        case ("backup", 1):
            return backup(query: uri.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init) ?? "")
        case ("peer", 3):
            guard ["up", "down", "reset"].contains(parts[1]) else { return badRequest("use /peer/<up|down|reset>/<name|all>") }
            // A single node has no peers; `all` is trivially done, a name is unknown.
            return parts[2] == "all" ? ok() : eventLoop.makeSucceededFuture(AdminResponse(status: .notFound, body: "no peer named '\(parts[2])'\n"))
        default:
            return eventLoop.makeSucceededFuture(notFound(path))
        }
    }

    /// Asks the anti-entropy loop to compare and repair this node's ranges within the tokens
    /// asked for (all by default), and answers at once; progress is in `/repair/status`.
    private func repair(query: String) -> EventLoopFuture<AdminResponse> {
        guard node.cluster != nil else { return badRequest("this node has no peers: there is nothing to compare it with") }
        guard node.config.dataStore != .memcached else {
            return badRequest("anti-entropy lists each copy's keys, which memcached cannot do; memcached clusters converge by read repair")
        }
        var start: UInt32 = 0
        var end = UInt32.max
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, kv[0] == "start" || kv[0] == "end", let token = UInt32(kv[1]) else {
                return badRequest("use /repair or /repair?start=<token>&end=<token> (tokens 0 to 4294967295)")
            }
            if kv[0] == "start" { start = token } else { end = token }
        }
        guard start <= end else { return badRequest("start must not be above end") }
        node.repair.request(start...end)
        return eventLoop.makeSucceededFuture(.text("Repair of tokens \(start)-\(end) requested\r\n"))
    }

    /// `/topology` and its actions (DESIGN.md §5b): a change is proposed here, spreads to every
    /// node by gossip, and finishes when the node that gains tokens has streamed them.
    private func topology(_ parts: [String]) -> EventLoopFuture<AdminResponse> {
        let store = node.membership
        guard let membership = store.current, let cluster = node.cluster else {
            return badRequest("this node has no peers: there is no cluster membership")
        }
        let ownership = cluster.topology.ownership
        func member(_ name: String) -> Membership.Member? {
            let pieces = name.split(separator: ":")
            guard pieces.count == 2, let port = Int(pieces[1]), (1...65535).contains(port) else { return nil }
            return Membership.Member(host: String(pieces[0]), port: port, rack: "", datacenter: "", token: 0)
        }
        func propose(_ change: Membership.Change) -> EventLoopFuture<AdminResponse> {
            do {
                let next = try store.propose(change)
                return eventLoop.makeSucceededFuture(.text("\(next.change!.description) started at epoch \(next.epoch)\r\n"))
            } catch {
                if case .refused(.changeRunning) = error {
                    return eventLoop.makeSucceededFuture(AdminResponse(status: .conflict, body: error.description + "\n"))
                }
                return badRequest(error.description)
            }
        }
        switch (parts.first, parts.count) {
        case (nil, _):
            let me = cluster.local.name
            var body: [String: Any] = [
                "epoch": Int(membership.epoch),
                "local": me,
                "member": membership.members.contains { $0.name == me },
                "members": membership.members.map(Self.describe),
                "owned": Membership.ranges(of: me, among: membership.members, ownership: ownership).map { [Int($0.lowerBound), Int($0.upperBound)] },
            ]
            if let change = membership.change {
                var described: [String: Any] = ["kind": change.kind.rawValue, "node": Self.describe(change.node), "description": change.description]
                if let replaces = change.replaces { described["replaces"] = replaces }
                if let gaining = membership.gainingNode(ownership: ownership) { described["gaining"] = gaining }
                body["change"] = described
            } else {
                body["change"] = NSNull()
            }
            for (name, value) in store.stream.figures { body[name] = value }
            return eventLoop.makeSucceededFuture(.json(body))
        case ("verify", 1):
            let owned = Membership.ranges(of: cluster.local.name, among: membership.members, ownership: ownership)
            guard let rocks = node.engine as? RocksDBEngine else {
                guard node.config.dataStore == .redis else {
                    return badRequest("/topology/verify counts keys; memcached cannot list its keys")
                }
                return verifyBackend(epoch: membership.epoch, changeRunning: membership.change != nil, owned: owned)
            }
            let promise = eventLoop.makePromise(of: AdminResponse.self)
            DispatchQueue.global().async {
                let counts = rocks.keyCounts(owned: owned)
                promise.succeed(.json(["epoch": Int(membership.epoch), "change_running": membership.change != nil,
                                       "owned_keys": counts.owned, "foreign_keys": counts.foreign]))
            }
            return promise.futureResult
        case ("join", 2):
            guard let seed = try? ConfigLoader.parseSeed(parts[1], key: "join") else {
                return badRequest("use /topology/join/<host:port:rack:dc:token>, as in dyn_seeds")
            }
            return propose(.init(kind: .join, node: .init(host: seed.endpoint.host, port: seed.endpoint.port, rack: seed.rack,
                                                          datacenter: seed.datacenter, token: seed.token)))
        case ("abort", 1):
            guard let next = store.abort() else { return badRequest("no topology change is running") }
            return eventLoop.makeSucceededFuture(.text("change abandoned at epoch \(next.epoch)\r\n"))
        case ("leave", 2):
            guard let leaving = member(parts[1]) else { return badRequest("use /topology/leave/<host:port> (the node's dyn_listen)") }
            return propose(.init(kind: .leave, node: leaving))
        case ("replace", 3):
            guard let replacement = member(parts[2]), member(parts[1]) != nil else {
                return badRequest("use /topology/replace/<dead host:port>/<new host:port>")
            }
            return propose(.init(kind: .replace, node: replacement, replaces: parts[1]))
        default:
            return eventLoop.makeSucceededFuture(notFound("/topology/" + parts.joined(separator: "/")))
        }
    }

    /// `/topology/verify` on the Redis engine: a SCAN of this node's backend on one loop.
    private func verifyBackend(epoch: UInt64, changeRunning: Bool, owned: [ClosedRange<UInt32>]) -> EventLoopFuture<AdminResponse> {
        let promise = eventLoop.makePromise(of: AdminResponse.self)
        let loop = loops.all.last!
        loop.eventLoop.execute {
            guard let coordinator = loop.coordinator else { return promise.succeed(AdminResponse(status: .serviceUnavailable, body: "no cluster map yet\n")) }
            var inside = 0
            var outside = 0
            let tokenizer = coordinator.tokenizer
            BackendKeyWalk(coordinator: coordinator, target: Target.local, ranges: [0...UInt32.max], clientID: coordinator.maintenanceClient,
                           page: { keys, more in
                               for key in keys {
                                   let token = tokenizer.token(of: key.readableBytesView)
                                   if owned.contains(where: { $0.contains(token) }) { inside += 1 } else { outside += 1 }
                               }
                               more()
                           },
                           done: { failure in
                               if let failure { return promise.succeed(AdminResponse(status: .internalServerError, body: failure + "\n")) }
                               promise.succeed(.json(["epoch": Int(epoch), "change_running": changeRunning, "owned_keys": inside, "foreign_keys": outside]))
                           }).start()
        }
        return promise.futureResult
    }

    private static func describe(_ member: Membership.Member) -> [String: Any] {
        ["name": member.name, "host": member.host, "port": member.port, "rack": member.rack,
         "datacenter": member.datacenter, "token": Int(member.token)]
    }

    /// Makes a checkpoint off the event loop (it flushes memtables and links or copies files).
    private func backup(query: String) -> EventLoopFuture<AdminResponse> {
        var directory: String?
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
            if kv.count == 2, kv[0] == "dir" { directory = kv[1].replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
        }
        guard let directory, directory.hasPrefix("/") else {
            return badRequest("use /backup?dir=<absolute path of a directory that does not exist yet>")
        }
        if FileManager.default.fileExists(atPath: directory) {
            return badRequest("'\(directory)' already exists; a checkpoint needs a new directory")
        }
        let engine = node.engine
        let promise = eventLoop.makePromise(of: AdminResponse.self)
        let started = Date()
        DispatchQueue.global().async {
            do {
                try engine.checkpoint(into: directory)
                let seconds = Date().timeIntervalSince(started)
                promise.succeed(.json(["checkpoint": directory, "seconds": (seconds * 1000).rounded() / 1000]))
            } catch {
                var response = AdminResponse(status: .internalServerError, body: "\(error)\n")
                response.contentType = "text/plain"
                promise.succeed(response)
            }
        }
        return promise.futureResult
    }

    /// Constant-time comparison of `Bearer <token>` with the password.
    static func bearerMatches(_ header: String?, _ password: String) -> Bool {
        guard let header, header.hasPrefix("Bearer ") else { return false }
        return ConstantTime.equals(header.utf8.dropFirst("Bearer ".count), password)
    }

    private func ok() -> EventLoopFuture<AdminResponse> { eventLoop.makeSucceededFuture(.text("OK\r\n")) }

    private func badRequest(_ message: String) -> EventLoopFuture<AdminResponse> {
        eventLoop.makeSucceededFuture(AdminResponse(status: .badRequest, body: message + "\n"))
    }

    private func notFound(_ path: String) -> AdminResponse {
        AdminResponse(status: .notFound, body: "no admin path '\(path)'; see /help\n")
    }

    /// Dynomite's `{"dcs":[{"name":..,"racks":[{"name":..,"servers":[...]}]}]}` shape.
    /// Dynomite's shape (dcs → racks → servers), from the topology, with each peer's link state.
    private func clusterDescription() -> [String: Any] {
        let config = node.config
        guard let cluster = node.cluster else {
            let server: [String: Any] = ["name": config.dynListen?.description ?? config.listen.description,
                                         "host": config.dynListen?.host ?? config.listen.host,
                                         "port": config.dynListen?.port ?? 8101, "token": Int(config.token), "state": "NORMAL"]
            return ["dcs": [["name": config.datacenter, "racks": [["name": config.rack, "servers": [server]]]] as [String: Any]]]
        }
        return ["epoch": Int(cluster.membership.epoch), "dcs": cluster.topology.datacenters.map { dc in
            ["name": dc.name, "racks": dc.racks.map { rack in
                ["name": rack.name, "servers": rack.nodes.map { n -> [String: Any] in
                    let up = n.name == cluster.local.name || node.peerStatus.isConnected(cluster.peerIndex[n.name]!)
                    return ["name": n.name, "host": n.host, "port": n.port, "token": Int(n.token),
                            "local": n.name == cluster.local.name, "state": up ? "NORMAL" : "DOWN"]
                }] as [String: Any]
            }] as [String: Any]
        }]
    }
}
