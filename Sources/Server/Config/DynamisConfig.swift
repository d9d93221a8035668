import Engines
import Ring

/// A node's configuration: Dynomite's `dyn_o_mite:` keys with Dynomite's defaults, plus
/// Dynamis's own keys for the embedded engine.
public struct DynamisConfig: Sendable {
    public enum DataStore: String, Sendable {
        case redis, memcached, rocksdb
    }

    public enum Consistency: String, Sendable, CaseIterable {
        case dcOne = "DC_ONE"
        case dcQuorum = "DC_QUORUM"
        case dcSafeQuorum = "DC_SAFE_QUORUM"
        case dcEachSafeQuorum = "DC_EACH_SAFE_QUORUM"
    }

    public struct Endpoint: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public var description: String { "\(host):\(port)" }
    }

    /// A `servers:` entry: `host:port:weight [name]`.
    public struct Backend: Sendable, Equatable {
        public var endpoint: Endpoint
        public var weight: Int
        public var name: String?
    }

    /// A `dyn_seeds:` entry: `host:port:rack:dc:token [name]`.
    public struct Seed: Sendable, Equatable {
        public var endpoint: Endpoint
        public var rack: String
        public var datacenter: String
        public var token: UInt32
    }

    /// The pool name (the root key; conventionally `dyn_o_mite`).
    public var poolName = "dyn_o_mite"
    public var listen = Endpoint(host: "127.0.0.1", port: 8102)
    public var dynListen: Endpoint?
    public var dynSeeds: [Seed] = []
    public var dynSeedProvider = "simple_provider"
    /// `florida_provider`: where the seed list is fetched (Dynomite reads the environment
    /// variables `DYNOMITE_FLORIDA_IP`, `_PORT`, `_REQUEST`; these keys override them).
    public var floridaHost: String?
    public var floridaPort: Int?
    public var floridaRequest: String?
    /// `dns_provider`: the TXT record's name (Dynomite: `DYNOMITE_DNS_NAME`) and the nameserver
    /// to ask (default: the first of /etc/resolv.conf).
    public var dnsName: String?
    public var dnsServer: Endpoint?
    /// How often a seed provider is polled, in ms (Dynomite: at most every 30 s).
    public var seedsCheckInterval = 30_000
    public var token: UInt32 = 0
    public var rack = "localrack"
    public var datacenter = "localdc"
    public var servers: [Backend] = []
    public var dataStore = DataStore.rocksdb
    public var readConsistency = Consistency.dcOne
    public var writeConsistency = Consistency.dcOne
    public var secureServerOption = "none"
    /// TLS (Redis's `tls-*` settings, in Dynomite's snake case); see `TLSSettings`.
    public var tls = TLSSettings()
    public var statsListen = Endpoint(host: "0.0.0.0", port: 22222)
    public var timeoutMilliseconds = 5_000
    public var serverRetryTimeout = 10_000
    public var datastoreConnections = 1
    public var localPeerConnections = 1
    public var remotePeerConnections = 1
    public var hash = HashFunction.murmur
    public var hashTag: HashTag?
    /// Read repair on quorum reads whose replicas disagree (`read_repairs_enabled`, also
    /// `read_repairs`). On by default in Dynamis: it costs nothing until replicas disagree.
    public var readRepairsEnabled = true
    /// For NodeContext: the switch's start value.
    var readRepairs: Bool { readRepairsEnabled }
    /// Hinted handoff (`hinted_handoff_enabled`, Cassandra's key).
    public var hintedHandoff = true
    /// `max_hint_window`, ms (Cassandra's default, 3 h).
    public var maxHintWindow = 10_800_000
    /// `max_hints_per_target`: distinct keys hinted for one node.
    public var maxHintsPerTarget = 10_000_000
    /// `hinted_handoff_throttle`, bytes of state per second per target (Cassandra's 1024 KB).
    public var hintedHandoffThrottle = 1024 * 1024
    /// `state_chunk_size`, bytes: a key's state larger than this (a big hash, set, list or
    /// sorted set) moves between nodes in parts of about this size (hints, read repair,
    /// anti-entropy, streams), so no frame nears the peer frame limit (512 MB).
    public var stateChunkSize = 16 * 1024 * 1024
    /// `tombstone_grace`, ms: how long a delete's tombstone is kept (1 day; longer than the hint window).
    public var tombstoneGrace = 86_400_000
    /// `anti_entropy_interval`, ms between background repair passes (1 h; 0: only on `/repair`).
    public var antiEntropyInterval = 3_600_000
    /// `anti_entropy_throttle`, bytes of state per second a repair pass sends or pulls (1 MB/s).
    public var antiEntropyThrottle = 1024 * 1024
    /// `auto_bootstrap`: this node is new to a running cluster; it starts outside the ring
    /// (owning nothing) and takes its token's range once a join streams it (off: a node whose
    /// seeds describe the cluster it starts with, Dynomite's way).
    public var autoBootstrap = false
    /// `stream_throughput`, bytes of state per second a joining (or range-gaining) node pulls (16 MB/s).
    public var streamThroughput = 16 * 1024 * 1024
    public var backlog = 512
    /// Redis's `maxclients`: client connections beyond this get `-ERR max number of clients reached`.
    public var maxClients = 10_000
    /// Redis's `timeout`: seconds a client may stay idle before it is closed (0 = never).
    public var clientTimeoutSeconds = 0
    /// Bytes of replies a client may leave unread before it is disconnected (Redis's
    /// `client-output-buffer-limit` hard limit; above `proto-max-bulk-len` so any one reply fits).
    public var clientOutputBufferLimit = 1 << 30

    // Dynamis keys
    /// Which side of its range a node's token marks (`token_range: start|end`).
    public var tokenOwnership = TokenOwnership.rangeStart
    /// Clients must AUTH with this password (Redis's `requirepass`; RESP clients).
    public var requirePass: String?
    /// The secret peers prove to each other when linking; `requirepass` when unset.
    public var peerSecret: String?
    /// Sent with AUTH to a redis backend on every connection (`datastore_password`).
    public var datastorePassword: String?
    /// Event-loop threads serving clients (0: one per core).
    public var ioThreads = 0
    public var dataDirectory = "./data"
    public var rocksdb = RocksDBOptions(directory: "./data")

    /// Warnings for deprecated or unused keys; the node logs them at startup.
    public var warnings: [String] = []

    public init() {}

    /// The key tokenizer this config's `hash` and `hash_tag` define.
    public var tokenizer: KeyTokenizer { KeyTokenizer(hash: hash, tag: hashTag) }

    /// Names the key → token function; recorded in the data directory.
    public var keyHashIdentity: String {
        var identity = hash.rawValue
        if let tag = hashTag {
            identity += " " + String(decoding: [tag.open, tag.close], as: UTF8.self)
        }
        return identity
    }
}

/// The node's TLS settings: a client port (`tls_port`) and, with `secure_server_option`, peer
/// links, all with one certificate, key and cluster CA.
public struct TLSSettings: Sendable, Equatable {
    /// Redis's `tls-auth-clients`: must a client present a certificate signed by the CA?
    public enum ClientAuth: String, Sendable {
        case yes, no, optional
    }

    /// The TLS client port on `listen`'s address; nil: no TLS listener.
    public var port: Int?
    public var certFile: String?
    public var keyFile: String?
    public var caCertFile: String?
    public var authClients = ClientAuth.yes
    /// Lowest and highest protocol version accepted (TLS 1.2 and 1.3 by default; 1.0 and 1.1 never).
    public var allowTLS12 = true
    public var allowTLS13 = true
    /// Seconds between checks of the certificate and key files for a new pair (0: never).
    public var reloadIntervalSeconds = 60

    /// Whether anything uses TLS.
    public var isConfigured: Bool { certFile != nil }
}
