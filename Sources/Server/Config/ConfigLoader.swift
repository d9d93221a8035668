import Engines
import Foundation
import Ring
import Yams

/// Reads Dynomite's YAML config format with Dynomite's rules: one root key (the pool), a flat
/// mapping beneath it, unknown or repeated keys are errors.
public enum ConfigLoader {
    /// Deprecated keys Dynomite still accepts with a warning.
    static let deprecated: Set<String> = ["distribution", "server_connections"]
    /// Keys Dynomite parses but never uses; accepted with a warning saying so.
    static let unused: Set<String> = [
        "dyn_read_timeout", "dyn_write_timeout", "dyn_connections", "dyn_port", "client_connections",
        "recon_key_file", "recon_iv_file", "stats_interval", "server_failure_limit",
        "auto_eject_hosts", "env", "gos_interval", "conn_msg_rate",
    ]

    public static func load(path: String) throws(ConfigError) -> DynamisConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(key: nil, "cannot read config file '\(path)': \(error.localizedDescription)")
        }
        return try parse(text)
    }

    public static func parse(_ text: String) throws(ConfigError) -> DynamisConfig {
        let root: Yams.Node
        do {
            guard let node = try Yams.compose(yaml: text) else { throw ConfigError(key: nil, "the config file is empty") }
            root = node
        } catch let error as ConfigError {
            throw error
        } catch {
            // Yams refuses repeated keys itself; report them the way every other key error reads.
            let text = "\(error)"
            if let range = text.range(of: "duplicated key(s): '") {
                let name = text[range.upperBound...].prefix { $0 != "'" }
                throw ConfigError(key: String(name), "appears twice")
            }
            throw ConfigError(key: nil, "not valid YAML: \(error)")
        }
        guard let top = root.mapping, top.count == 1, let (poolKey, poolNode) = top.first,
              let poolName = poolKey.string
        else {
            throw ConfigError(key: nil, "the root must be a single pool name (e.g. 'dyn_o_mite:') holding the settings")
        }
        guard let pool = poolNode.mapping else {
            throw ConfigError(key: poolName, "must be a mapping of settings")
        }
        var config = DynamisConfig()
        config.poolName = poolName
        var seen = Set<String>()
        var rawDataStore: String?
        var sawServers = false
        var sawListen = false
        var sawStatsListen = false
        var sawPemKey = false
        for (keyNode, value) in pool {
            guard let key = keyNode.string else { throw ConfigError(key: nil, "a setting name must be a string") }
            guard seen.insert(key).inserted else { throw ConfigError(key: key, "appears twice") }
            let field = Field(key: key, node: value)
            switch key {
            case "listen": config.listen = try field.endpoint(allowPortZero: true); sawListen = true
            case "dyn_listen": config.dynListen = try field.endpoint()
            case "dyn_seeds": config.dynSeeds = try field.list().map { s throws(ConfigError) in try parseSeed(s, key: key) }
            case "dyn_seed_provider":
                config.dynSeedProvider = try field.oneOf(["simple_provider", "florida_provider", "dns_provider"])
            case "florida_host": config.floridaHost = try field.nonEmptyString()
            case "florida_port": config.floridaPort = try field.integer(min: 1, max: 65535)
            case "florida_request": config.floridaRequest = try field.nonEmptyString()
            case "dns_name": config.dnsName = try field.nonEmptyString()
            case "dns_server": config.dnsServer = try field.endpoint()
            case "seeds_check_interval": config.seedsCheckInterval = try field.integer(min: 100, max: 86_400_000)
            case "tokens": config.token = try field.token()
            case "rack": config.rack = try field.nonEmptyString()
            case "datacenter": config.datacenter = try field.nonEmptyString()
            case "servers":
                config.servers = try field.list().map { s throws(ConfigError) in try parseBackend(s, key: key) }
                sawServers = true
            case "data_store": rawDataStore = try field.scalar()
            case "read_consistency": config.readConsistency = try field.consistency()
            case "write_consistency": config.writeConsistency = try field.consistency()
            case "secure_server_option":
                // Dynomite logs an unknown value and runs as 'none'; so does Dynamis.
                let value = try field.scalar()
                if let known = ["none", "rack", "datacenter", "all"].first(where: { $0 == value.lowercased() }) {
                    config.secureServerOption = known
                } else {
                    config.secureServerOption = "none"
                    config.warnings.append("key 'secure_server_option' value '\(value)' is not one of none, rack, datacenter, all; using none, as Dynomite does")
                }
            case "pem_key_file":
                _ = try field.scalar()
                sawPemKey = true
                config.warnings.append("key 'pem_key_file' is accepted but not used: Dynamis encrypts peer links with TLS (secure_server_option with tls_cert_file, tls_key_file and tls_ca_cert_file), which replaces Dynomite's shared RSA key")
            case "mbuf_size":
                let size = try field.integer(min: 512, max: 512_000)
                guard size % 16 == 0 else { throw ConfigError(key: key, "value '\(size)' is not valid; allowed: a multiple of 16 from 512 to 512000") }
                config.warnings.append("key 'mbuf_size' is accepted for Dynomite compatibility but has no effect in Dynamis")
            case "max_msgs":
                _ = try field.integer(min: 100_000, max: 1_000_000)
                config.warnings.append("key 'max_msgs' is accepted for Dynomite compatibility but has no effect in Dynamis")
            case "stats_listen": config.statsListen = try field.endpoint(); sawStatsListen = true
            case "timeout": config.timeoutMilliseconds = try field.integer(min: 1)
            case "preconnect":
                // Backend connections are always made at startup (requests wait for the first one).
                _ = try field.boolean()
                config.warnings.append("key 'preconnect' is accepted for Dynomite compatibility but has no effect in Dynamis: backend connections are always made at startup")
            case "server_retry_timeout": config.serverRetryTimeout = try field.integer(min: 1)
            // Dynomite's tooling writes 0 for "the default" (one connection).
            case "datastore_connections": config.datastoreConnections = max(1, try field.integer(min: 0, max: 255))
            case "local_peer_connections": config.localPeerConnections = max(1, try field.integer(min: 0, max: 255))
            case "remote_peer_connections": config.remotePeerConnections = max(1, try field.integer(min: 0, max: 255))
            case "hash": config.hash = try field.hashFunction()
            case "hash_tag": config.hashTag = try field.hashTag()
            case "enable_gossip":
                _ = try field.boolean()
                config.warnings.append("key 'enable_gossip' is accepted for Dynomite compatibility but has no effect in Dynamis: membership epochs are always gossiped between peers")
            case "read_repairs_enabled", "read_repairs": config.readRepairsEnabled = try field.boolean()
            case "hinted_handoff_enabled": config.hintedHandoff = try field.boolean()
            case "max_hint_window": config.maxHintWindow = try field.integer(min: 0)
            case "max_hints_per_target": config.maxHintsPerTarget = try field.integer(min: 0)
            case "hinted_handoff_throttle": config.hintedHandoffThrottle = try field.bytes(min: 1024)
            case "state_chunk_size":
                config.stateChunkSize = try field.bytes(min: 1024)
                guard config.stateChunkSize <= 256 * 1024 * 1024 else { throw ConfigError(key: key, "must be at most 256mb (a part must fit a peer frame)") }
            case "tombstone_grace": config.tombstoneGrace = try field.integer(min: 0)
            case "anti_entropy_interval": config.antiEntropyInterval = try field.integer(min: 0)
            case "anti_entropy_throttle": config.antiEntropyThrottle = try field.bytes(min: 1024)
            case "auto_bootstrap": config.autoBootstrap = try field.boolean()
            case "stream_throughput": config.streamThroughput = try field.bytes(min: 1024)
            case "backlog": config.backlog = try field.integer(min: 1)
            case "maxclients": config.maxClients = try field.integer(min: 1)
            case "tls_port": config.tls.port = try field.integer(min: 1, max: 65535)
            case "tls_cert_file": config.tls.certFile = try field.nonEmptyString()
            case "tls_key_file": config.tls.keyFile = try field.nonEmptyString()
            case "tls_ca_cert_file": config.tls.caCertFile = try field.nonEmptyString()
            case "tls_auth_clients":
                config.tls.authClients = TLSSettings.ClientAuth(rawValue: try field.oneOf(["yes", "no", "optional"]))!
            case "tls_protocols":
                let words = try field.scalar().split(separator: " ").map { $0.lowercased() }
                guard !words.isEmpty, words.allSatisfy({ $0 == "tlsv1.2" || $0 == "tlsv1.3" }) else {
                    throw ConfigError(key: key, "value '\(try field.scalar())' is not valid; allowed: TLSv1.2, TLSv1.3 or both, separated by a space (TLS 1.0 and 1.1 are not offered)")
                }
                config.tls.allowTLS12 = words.contains("tlsv1.2")
                config.tls.allowTLS13 = words.contains("tlsv1.3")
            case "tls_reload_interval": config.tls.reloadIntervalSeconds = try field.integer(min: 0, max: 86_400)
            case "client_timeout": config.clientTimeoutSeconds = try field.integer(min: 0, max: 365 * 86_400)
            case "client_output_buffer_limit": config.clientOutputBufferLimit = try field.bytes(min: 64 * 1024)
            // Dynamis keys
            case "token_range":
                let value = try field.oneOf(TokenOwnership.allCases.map(\.rawValue))
                config.tokenOwnership = TokenOwnership(rawValue: value)!
            case "requirepass": config.requirePass = try field.nonEmptyString()
            case "peer_secret": config.peerSecret = try field.nonEmptyString()
            case "datastore_password": config.datastorePassword = try field.nonEmptyString()
            case "io_threads": config.ioThreads = try field.integer(min: 0, max: 64)
            case "data_dir": config.dataDirectory = try field.nonEmptyString()
            case "rocksdb_block_cache_size": config.rocksdb.blockCacheBytes = try field.bytes()
            case "rocksdb_write_buffer_size": config.rocksdb.writeBufferBytes = try field.bytes(min: 64 * 1024)
            case "rocksdb_compression":
                let value = try field.oneOf(RocksDBOptions.Compression.allCases.map(\.rawValue))
                config.rocksdb.compression = RocksDBOptions.Compression(rawValue: value)!
            case "rocksdb_bloom_bits_per_key": config.rocksdb.bloomBitsPerKey = Double(try field.integer(min: 0, max: 64))
            case "fsync":
                let value = try field.oneOf(RocksDBOptions.FsyncPolicy.allCases.map(\.rawValue))
                config.rocksdb.fsync = RocksDBOptions.FsyncPolicy(rawValue: value)!
            default:
                if deprecated.contains(key) {
                    config.warnings.append("key '\(key)' is deprecated and ignored")
                } else if unused.contains(key) {
                    _ = try field.scalar()
                    config.warnings.append("key '\(key)' is accepted for Dynomite compatibility but has no effect in Dynamis")
                } else {
                    throw ConfigError(key: key, "is not a known setting")
                }
            }
        }
        guard sawListen else { throw ConfigError(key: "listen", "is required (the client address, e.g. 127.0.0.1:8102)") }
        if config.listen.port == 0, config.tls.port == nil {
            throw ConfigError(key: "listen", "port 0 turns the plaintext client port off, which needs tls_port for clients to connect")
        }
        if config.tls.port == nil, config.secureServerOption != "none", sawPemKey,
           config.tls.certFile == nil, config.tls.keyFile == nil, config.tls.caCertFile == nil {
            // A config as Dynomite's tooling writes it: encryption by its shared RSA key, which
            // Dynamis does not implement (AES with the key as IV and no MAC). Refusing it would
            // refuse Dynomite's own generated configs; the links stay plaintext, said loudly.
            config.warnings.append("key 'secure_server_option' value '\(config.secureServerOption)' asks for encrypted peer links, but only Dynomite's pem_key_file is set: Dynamis encrypts peer links with TLS certificates (tls_cert_file, tls_key_file and tls_ca_cert_file; tools/tls-certs makes a set), so these links stay PLAINTEXT until they are configured")
            config.secureServerOption = "none"
        }
        if config.tls.port != nil || config.secureServerOption != "none" {
            let user = config.tls.port != nil ? "tls_port" : "secure_server_option \(config.secureServerOption)"
            for (key, value) in [("tls_cert_file", config.tls.certFile), ("tls_key_file", config.tls.keyFile), ("tls_ca_cert_file", config.tls.caCertFile)]
            where value == nil {
                throw ConfigError(key: key, "is required with \(user) (the node's certificate, its key, and the CA that signs clients' and peers' certificates)")
            }
        }
        if !sawStatsListen { config.statsListen = DynamisConfig.Endpoint(host: "0.0.0.0", port: 22222) }
        config.dataStore = try dataStore(rawDataStore, sawServers: sawServers)
        switch config.dataStore {
        case .redis, .memcached:
            guard config.servers.count == 1 else {
                throw ConfigError(key: "servers", config.servers.isEmpty
                    ? "is required for data_store \(config.dataStore.rawValue): one 'host:port:weight' entry"
                    : "must have exactly one entry (the local \(config.dataStore.rawValue)), as in Dynomite")
            }
        case .rocksdb:
            if sawServers { config.warnings.append("key 'servers' is ignored: data_store is rocksdb (embedded)") }
        }
        if config.requirePass != nil, config.dataStore == .memcached {
            throw ConfigError(key: "requirepass", "is for RESP clients; memcached's text protocol has no AUTH (use data_store redis or rocksdb)")
        }
        if config.dynSeedProvider != "simple_provider" {
            guard config.dynListen != nil else {
                throw ConfigError(key: "dyn_listen", "\(config.dynSeedProvider) needs dyn_listen: the address peers connect to")
            }
        }
        config.rocksdb.directory = config.dataDirectory
        // The topology must be buildable: dyn_listen present, no token shared within a rack.
        _ = try ClusterMap.make(config: config)
        return config
    }

    /// `data_store`: 0/redis, 1/memcached, 2/rocksdb. Absent: Dynomite's meaning (redis) when
    /// `servers` names a backend, else the embedded RocksDB.
    static func dataStore(_ raw: String?, sawServers: Bool) throws(ConfigError) -> DynamisConfig.DataStore {
        guard let raw else { return sawServers ? .redis : .rocksdb }
        switch raw.lowercased() {
        case "0", "redis": return .redis
        case "1", "memcached", "memcache": return .memcached
        case "2", "rocksdb": return .rocksdb
        default:
            throw ConfigError(key: "data_store", "value '\(raw)' is not valid; allowed: 0 or redis, 1 or memcached, 2 or rocksdb")
        }
    }

    static func parseSeed(_ text: String, key: String) throws(ConfigError) -> DynamisConfig.Seed {
        // host:port:rack:dc:token [name]; parsed from the right so the host is everything left.
        let spec = text.split(separator: " ", maxSplits: 1).first.map(String.init) ?? text
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 5 else {
            throw ConfigError(key: key, "entry '\(text)' must be host:port:rack:dc:token")
        }
        let token = parts[parts.count - 1], dc = parts[parts.count - 2], rack = parts[parts.count - 3]
        let port = parts[parts.count - 4]
        let host = parts[0..<(parts.count - 4)].joined(separator: ":")
        guard let p = Int(port), (1...65535).contains(p), !host.isEmpty else {
            throw ConfigError(key: key, "entry '\(text)' has an invalid host or port")
        }
        guard let t = UInt32(token) else {
            throw ConfigError(key: key, "entry '\(text)' has token '\(token)'; a token is a number from 0 to 4294967295")
        }
        guard !rack.isEmpty, !dc.isEmpty else { throw ConfigError(key: key, "entry '\(text)' has an empty rack or dc") }
        return .init(endpoint: .init(host: host, port: p), rack: rack, datacenter: dc, token: t)
    }

    static func parseBackend(_ text: String, key: String) throws(ConfigError) -> DynamisConfig.Backend {
        let words = text.split(separator: " ", maxSplits: 1).map(String.init)
        let parts = (words.first ?? "").split(separator: ":").map(String.init)
        guard parts.count == 3, let port = Int(parts[1]), (1...65535).contains(port), let weight = Int(parts[2]),
              !parts[0].isEmpty
        else {
            throw ConfigError(key: key, "entry '\(text)' must be host:port:weight [name]")
        }
        return .init(endpoint: .init(host: parts[0], port: port), weight: weight, name: words.count > 1 ? words[1] : nil)
    }
}

/// One setting's value, with the conversions the settings need.
struct Field {
    let key: String
    let node: Yams.Node

    func scalar() throws(ConfigError) -> String {
        guard let s = node.scalar?.string else { throw ConfigError(key: key, "must be a single value, not a list or mapping") }
        return s
    }

    func nonEmptyString() throws(ConfigError) -> String {
        let s = try scalar()
        guard !s.isEmpty else { throw ConfigError(key: key, "must not be empty") }
        return s
    }

    func list() throws(ConfigError) -> [String] {
        guard let sequence = node.sequence else { throw ConfigError(key: key, "must be a list") }
        var out: [String] = []
        for item in sequence {
            guard let s = item.scalar?.string else { throw ConfigError(key: key, "every entry must be a string") }
            out.append(s)
        }
        return out
    }

    func integer(min: Int = 0, max: Int = Int.max) throws(ConfigError) -> Int {
        let s = try scalar()
        guard let v = Int(s), v >= min, v <= max else {
            let range = max == Int.max ? "a whole number of at least \(min)" : "a whole number from \(min) to \(max)"
            throw ConfigError(key: key, "value '\(s)' is not valid; allowed: \(range)")
        }
        return v
    }

    /// Dynomite accepts only the literal words.
    func boolean() throws(ConfigError) -> Bool {
        let s = try scalar()
        switch s {
        case "true": return true
        case "false": return false
        default: throw ConfigError(key: key, "value '\(s)' is not valid; allowed: true, false")
        }
    }

    func oneOf(_ allowed: [String]) throws(ConfigError) -> String {
        let s = try scalar()
        guard let match = allowed.first(where: { $0.lowercased() == s.lowercased() }) else {
            throw ConfigError(key: key, "value '\(s)' is not valid; allowed: \(allowed.joined(separator: ", "))")
        }
        return match
    }

    func endpoint(allowPortZero: Bool = false) throws(ConfigError) -> DynamisConfig.Endpoint {
        let s = try scalar()
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), ((allowPortZero ? 0 : 1)...65535).contains(port),
              colon != s.startIndex
        else {
            throw ConfigError(key: key, "value '\(s)' is not valid; expected host:port with a port from 1 to 65535")
        }
        return .init(host: String(s[..<colon]), port: port)
    }

    func token() throws(ConfigError) -> UInt32 {
        let s = try scalar().trimmingCharacters(in: [" ", "'", "\""])
        guard let t = UInt32(s) else {
            throw ConfigError(key: key, "value '\(s)' is not valid; allowed: one token, a number from 0 to 4294967295 (Dynomite silently overflowed larger values)")
        }
        return t
    }

    func consistency() throws(ConfigError) -> DynamisConfig.Consistency {
        let value = try oneOf(DynamisConfig.Consistency.allCases.map(\.rawValue))
        return DynamisConfig.Consistency(rawValue: value)!
    }

    func hashFunction() throws(ConfigError) -> HashFunction {
        let s = try scalar()
        if s == "murmur3" {
            throw ConfigError(key: key, "value 'murmur3' is not offered: in Dynomite it is a stub that never computes a hash; use murmur")
        }
        guard let h = HashFunction(rawValue: s) else {
            throw ConfigError(key: key, "value '\(s)' is not valid; allowed: \(HashFunction.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return h
    }

    func hashTag() throws(ConfigError) -> HashTag {
        let s = try scalar()
        guard let tag = HashTag(s) else { throw ConfigError(key: key, "value '\(s)' is not valid; allowed: exactly two characters, e.g. \"{}\"") }
        return tag
    }

    /// A size in bytes: a number, or with a unit (k, kb, m, mb, g, gb), as Redis writes sizes.
    func bytes(min: Int = 1024 * 1024) throws(ConfigError) -> Int {
        let s = try scalar().lowercased()
        let units: [(String, Int)] = [("gb", 1 << 30), ("g", 1_000_000_000), ("mb", 1 << 20), ("m", 1_000_000),
                                      ("kb", 1 << 10), ("k", 1000), ("b", 1)]
        var number = s
        var multiplier = 1
        for (suffix, m) in units where s.hasSuffix(suffix) {
            number = String(s.dropLast(suffix.count))
            multiplier = m
            break
        }
        guard let n = Int(number), n >= 0, n.multipliedReportingOverflow(by: multiplier).overflow == false,
              n * multiplier >= min
        else {
            throw ConfigError(key: key, "value '\(s)' is not valid; allowed: a size of at least \(min) bytes, e.g. 256mb or 1gb")
        }
        return n * multiplier
    }
}
