import NIOCore
import Engines
import Protocol

#if canImport(Glibc)
import Glibc
#endif

/// Commands the connection answers itself, never an engine.
extension ClientConnectionHandler {
    func executeConnectionCommand(_ spec: CommandSpec, _ args: [ByteBuffer]) {
        switch spec.id {
        case .ping:
            if args.count > 2 { return replyWriter.error("ERR wrong number of arguments for 'ping' command") }
            if args.count == 2 { replyWriter.bulk(args[1]) } else { replyWriter.simple("PONG") }
        case .echo:
            replyWriter.bulk(args[1])
        case .quit:
            replyWriter.ok()
            closeAfterReply()
        case .select:
            guard let db = args[1].redisIntegerValue else {
                return replyWriter.error("ERR value is not an integer or out of range")
            }
            if db == 0 { replyWriter.ok() } else { replyWriter.error("ERR DB index is out of range") }
        case .hello:
            hello(args)
        case .auth:
            auth(args)
        case .client:
            clientCommand(args)
        case .command:
            commandCommand(args)
        case .info:
            replyWriter.verbatim(InfoReport(node: node, state: state).render(sections: args.dropFirst().map { $0.lowercasedText }))
        case .time:
            var ts = timespec()
            clock_gettime(CLOCK_REALTIME, &ts)
            replyWriter.arrayHeader(2)
            replyWriter.bulk(String(ts.tv_sec))
            replyWriter.bulk(String(ts.tv_nsec / 1000))
        case .config:
            configCommand(args)
        case .dynoConnConsistency:
            guard let level = DynamisConfig.Consistency(rawValue: args[1].text.uppercased()) else {
                return replyWriter.error("ERR unknown consistency level '\(args[1].text)'; allowed: DC_ONE, DC_QUORUM, DC_SAFE_QUORUM, DC_EACH_SAFE_QUORUM")
            }
            state.consistency = level
            replyWriter.ok()
        case .refused:
            replyWriter.error(Admission.Refusal.unsupported(spec.text).text)
        default:
            replyWriter.error("ERR unknown command '\(spec.name)'")
        }
    }

    /// AUTH password, or AUTH default password (the only user).
    private func auth(_ args: [ByteBuffer]) {
        guard args.count <= 3 else { return replyWriter.error("ERR syntax error") }
        guard node.config.requirePass != nil else {
            return replyWriter.error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
        }
        if checkCredentials(user: args.count == 3 ? args[1] : nil, password: args[args.count - 1]) {
            authenticated()
            replyWriter.ok()
        } else {
            replyWriter.error("WRONGPASS invalid username-password pair or user is disabled.")
        }
    }

    /// The user must be `default` (or absent) and the password `requirepass`, compared in
    /// constant time.
    func checkCredentials(user: ByteBuffer?, password: ByteBuffer) -> Bool {
        guard let expected = node.config.requirePass else { return true }
        if let user, user.text != "default" { return false }
        return ConstantTime.equals(password.readableBytesView, expected)
    }

    /// HELLO [protover [AUTH user pass] [SETNAME name]]
    private func hello(_ args: [ByteBuffer]) {
        var version = replyWriter.resp3 ? 3 : 2
        var index = 1
        if args.count > 1 {
            guard let requested = args[1].redisIntegerValue else {
                return replyWriter.error("ERR Protocol version is not an integer or out of range")
            }
            guard requested == 2 || requested == 3 else {
                return replyWriter.error("NOPROTO unsupported protocol version")
            }
            version = requested
            index = 2
        }
        var newName: String?
        var credentials: (ByteBuffer, ByteBuffer)?
        while index < args.count {
            let option = args[index].lowercasedText
            if option == "auth", index + 2 < args.count {
                credentials = (args[index + 1], args[index + 2])
                index += 3
            } else if option == "setname", index + 1 < args.count {
                guard let name = validClientName(args[index + 1]) else { return }
                newName = name
                index += 2
            } else {
                return replyWriter.error("ERR Syntax error in HELLO option '\(args[index].text)'")
            }
        }
        if let (user, password) = credentials {
            guard checkCredentials(user: user, password: password) else {
                return replyWriter.error("WRONGPASS invalid username-password pair or user is disabled.")
            }
            authenticated()
        }
        guard state.authenticated else {
            return replyWriter.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
        }
        if let newName { state.name = newName.isEmpty ? nil : newName }
        replyWriter.resp3 = version == 3
        replyWriter.mapHeader(7)
        replyWriter.bulk("server"); replyWriter.bulk("redis")
        replyWriter.bulk("version"); replyWriter.bulk(NodeContext.redisCompatibleVersion)
        replyWriter.bulk("proto"); replyWriter.integer(version)
        replyWriter.bulk("id"); replyWriter.integer(state.id)
        replyWriter.bulk("mode"); replyWriter.bulk("standalone")
        replyWriter.bulk("role"); replyWriter.bulk("master")
        replyWriter.bulk("modules"); replyWriter.arrayHeader(0)
    }

    /// Redis refuses names with spaces, newlines or other special characters.
    func validClientName(_ name: ByteBuffer) -> String? {
        for byte in name.readableBytesView where byte < 33 || byte > 126 {
            replyWriter.error("ERR Client names cannot contain spaces, newlines or special characters.")
            return nil
        }
        return name.text
    }

    private func clientCommand(_ args: [ByteBuffer]) {
        let sub = args[1].lowercasedText
        func arity(_ ok: Bool) -> Bool {
            if !ok { replyWriter.error("ERR wrong number of arguments for 'client|\(sub)' command") }
            return ok
        }
        switch sub {
        case "id":
            guard arity(args.count == 2) else { return }
            replyWriter.integer(state.id)
        case "setname":
            guard arity(args.count == 3), let name = validClientName(args[2]) else { return }
            state.name = name.isEmpty ? nil : name
            replyWriter.ok()
        case "getname":
            guard arity(args.count == 2) else { return }
            if let name = state.name { replyWriter.bulk(name) } else { replyWriter.null() }
        case "setinfo":
            guard arity(args.count == 4) else { return }
            let attribute = args[2].lowercasedText
            guard attribute == "lib-name" || attribute == "lib-ver" else {
                return replyWriter.error("ERR Unrecognized option '\(args[2].text)'")
            }
            for byte in args[3].readableBytesView where byte < 33 || byte > 126 {
                return replyWriter.error("ERR \(attribute) cannot contain spaces, newlines or special characters.")
            }
            if attribute == "lib-name" { state.libraryName = args[3].text } else { state.libraryVersion = args[3].text }
            replyWriter.ok()
        case "info":
            guard arity(args.count == 2) else { return }
            replyWriter.verbatim(clientInfoLine() + "\n")
        case "list":
            replyWriter.verbatim(clientInfoLine() + "\n")
        case "kill":
            clientKill(args)
        case "unblock":
            guard args.count == 3 || args.count == 4 else {
                return replyWriter.error("ERR unknown subcommand or wrong number of arguments for 'unblock'. Try CLIENT HELP.")
            }
            var withError = false
            if args.count == 4 {
                if args[3].isOption("ERROR") { withError = true } else if !args[3].isOption("TIMEOUT") {
                    return replyWriter.error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
                }
            }
            guard let id = args[2].redisIntegerValue else { return replyWriter.error("ERR value is not an integer or out of range") }
            replyWriter.integer(node.engine.unblock(client: id, withError: withError) ? 1 : 0)
        case "pause":
            guard args.count == 3 || args.count == 4 else {
                return replyWriter.error("ERR unknown subcommand or wrong number of arguments for 'pause'. Try CLIENT HELP.")
            }
            var writesOnly = false
            if args.count == 4 {
                if args[3].isOption("WRITE") { writesOnly = true } else if !args[3].isOption("ALL") {
                    return replyWriter.error("ERR CLIENT PAUSE mode must be WRITE or ALL")
                }
            }
            guard let milliseconds = args[2].redisIntegerValue else { return replyWriter.error("ERR timeout is not an integer or out of range") }
            guard milliseconds >= 0 else { return replyWriter.error("ERR timeout is negative") }
            node.pause.pause(untilMillis: WallClock.nowMillis() + Int64(milliseconds), writesOnly: writesOnly)
            replyWriter.ok()
        case "unpause":
            guard arity(args.count == 2) else { return }
            node.pause.unpause()
            replyWriter.ok()
        case "no-evict", "no-touch":
            guard arity(args.count == 3) else { return }
            // Dynamis evicts nothing, so either answer changes nothing; the argument is checked as Redis does.
            guard args[2].isOption("ON") || args[2].isOption("OFF") else { return replyWriter.error("ERR syntax error") }
            replyWriter.ok()
        case "help":
            let lines = ["CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                         "GETNAME", "    Return the name of the current connection.",
                         "ID", "    Return the ID of the current connection.",
                         "INFO", "    Return information about the current client connection.",
                         "LIST", "    Return information about client connections (this connection only).",
                         "SETINFO <option> <value>", "    Set client meta attr (lib-name, lib-ver).",
                         "SETNAME <name>", "    Assign the name <name> to the current connection.",
                         "HELP", "    Print this help."]
            replyWriter.arrayHeader(lines.count)
            for line in lines { replyWriter.simple(line) }
        default:
            replyWriter.error("ERR unknown subcommand '\(args[1].text)'. Try CLIENT HELP.")
        }
    }

    /// CLIENT KILL addr:port (the old form: OK or "No such client"), or CLIENT KILL with
    /// ID, TYPE, USER, ADDR, LADDR and SKIPME filters (the count killed), as Redis 7.0.
    private func clientKill(_ args: [ByteBuffer]) {
        var id: Int?, address: String?, localAddress: String?, skipMe = true
        var typeMatches = true
        if args.count == 3 {
            address = args[2].text
            skipMe = false
        } else if args.count > 3 {
            var i = 2
            while i < args.count {
                guard i + 1 < args.count else { return replyWriter.error("ERR syntax error") }
                let value = args[i + 1]
                if args[i].isOption("ID") {
                    guard let parsed = value.redisIntegerValue, parsed > 0 else { return replyWriter.error("ERR client-id should be greater than 0") }
                    id = parsed
                } else if args[i].isOption("TYPE") {
                    let name = value.text.lowercased()
                    guard ["normal", "master", "replica", "slave", "pubsub"].contains(name) else {
                        return replyWriter.error("ERR Unknown client type '\(value.text)'")
                    }
                    typeMatches = name == "normal"  // every Dynamis client is a normal one
                } else if args[i].isOption("USER") {
                    guard value.text == "default" else { return replyWriter.error("ERR No such user '\(value.text)'") }
                } else if args[i].isOption("ADDR") {
                    address = value.text
                } else if args[i].isOption("LADDR") {
                    localAddress = value.text
                } else if args[i].isOption("SKIPME") {
                    if value.isOption("YES") { skipMe = true } else if value.isOption("NO") { skipMe = false } else {
                        return replyWriter.error("ERR syntax error")
                    }
                } else {
                    return replyWriter.error("ERR syntax error")
                }
                i += 2
            }
        } else {
            return replyWriter.error("ERR wrong number of arguments for 'client|kill' command")
        }
        var killed = 0
        var killedSelf = false
        for entry in node.clients.all() where typeMatches {
            if let id, entry.id != id { continue }
            if let address, entry.address != address { continue }
            if let localAddress, entry.localAddress != localAddress { continue }
            if entry.id == state.id {
                if skipMe { continue }
                killedSelf = true
            } else {
                // Gone for any later CLIENT KILL at once, as Redis frees the client at once.
                node.clients.remove(entry.id)
                entry.kill()
            }
            killed += 1
        }
        if args.count == 3 {
            if killed == 0 { return replyWriter.error("ERR No such client") }
            replyWriter.ok()
        } else {
            replyWriter.integer(killed)
        }
        // Killing itself, the client still gets its answer first.
        if killedSelf { closeAfterReply() }
    }

    private func clientInfoLine() -> String {
        let age = Int((ContinuousClock.now - state.connectedAt).components.seconds)
        return "id=\(state.id) addr=\(state.address) laddr=\(localAddress) fd=0 name=\(state.name ?? "") "
            + "age=\(age) idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 "
            + "multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=client|info user=default "
            + "redir=-1 resp=\(replyWriter.resp3 ? 3 : 2) lib-name=\(state.libraryName ?? "") lib-ver=\(state.libraryVersion ?? "")"
    }

    /// CONFIG GET answers the few parameters clients and tools ask about (redis-benchmark asks
    /// for `save` and `appendonly`); CONFIG SET is refused: Dynamis is configured by its YAML.
    private func configCommand(_ args: [ByteBuffer]) {
        let sub = args[1].lowercasedText
        switch sub {
        case "get":
            guard args.count >= 3 else {
                return replyWriter.error("ERR wrong number of arguments for 'config|get' command")
            }
            let parameters: [(String, String)] = [
                ("save", ""), ("appendonly", node.config.rocksdb.fsync == .always ? "yes" : "no"),
                ("appendfsync", node.config.rocksdb.fsync.rawValue), ("databases", "1"),
                ("port", String(node.config.listen.port)), ("bind", node.config.listen.host),
                ("timeout", String(node.config.clientTimeoutSeconds)), ("maxclients", String(node.config.maxClients)), ("maxmemory", "0"), ("proto-max-bulk-len", "536870912"),
                ("dir", node.config.dataDirectory),
            ]
            var matched: [(String, String)] = []
            for pattern in args.dropFirst(2).map(\.lowercasedText) {
                for p in parameters where GlobMatch.matches(pattern: Array(pattern.utf8), Array(p.0.utf8))
                    && !matched.contains(where: { $0.0 == p.0 }) {
                    matched.append(p)
                }
            }
            replyWriter.mapHeader(matched.count)
            for (name, value) in matched {
                replyWriter.bulk(name)
                replyWriter.bulk(value)
            }
        case "set":
            replyWriter.error("ERR CONFIG SET is not supported: Dynamis is configured by its YAML file")
        case "resetstat":
            replyWriter.ok()
        default:
            replyWriter.error("ERR unknown subcommand '\(args[1].text)'. Try CONFIG HELP.")
        }
    }
}

extension ByteBuffer {
    var text: String { String(decoding: readableBytesView, as: UTF8.self) }
    var lowercasedText: String { text.lowercased() }
    var redisIntegerValue: Int? { withUnsafeReadableBytes { RedisInteger.parse($0) } }
}
