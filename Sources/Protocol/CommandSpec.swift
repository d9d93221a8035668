import NIOCore

/// What the layers above need to know about a command, Redis-style: its arity, flags and where
/// its keys are. One table (`CommandTable`) that every layer consults. Plain data (static
/// strings only), so passing it around costs no reference counting on the hot path.
public struct CommandSpec: Sendable {
    public let name: StaticString
    public let id: CommandID
    /// Redis convention: positive is an exact argument count (name included), negative a minimum.
    public let arity: Int
    public let flags: CommandFlags
    /// Key positions: first key, last key (negative counts from the end), step. 0 = no keys.
    public let firstKey: Int
    public let lastKey: Int
    public let keyStep: Int
    /// Redis's command group, for COMMAND DOCS.
    public let group: StaticString
    /// Which of Dynomite's `redis_req_*` datastore counters (`/info`) the command counts in.
    public let statsClass: DatastoreStatsClass
    /// The key a successful run may make ready for clients blocked on it (BLPOP, BZPOPMIN, ...).
    public let wakes: WakeKey
    /// Where the keys are when first/last/step cannot say it (a count argument, an option).
    public let keySpec: KeySpec
    /// How a cluster's coordinator runs it.
    public let route: ClusterRoute
    /// Where its relative expiry is, which a cluster's coordinator makes absolute (`AbsoluteExpiry`).
    public let relativeExpiry: RelativeExpiry

    public init(_ name: StaticString, _ id: CommandID, arity: Int, _ flags: CommandFlags,
                keys: (Int, Int, Int) = (0, 0, 0), keySpec: KeySpec = .range, wakes: WakeKey = .none,
                route: ClusterRoute = .owners, relativeExpiry: RelativeExpiry = .none, group: StaticString) {
        self.name = name
        self.id = id
        self.arity = arity
        self.flags = flags
        self.firstKey = keys.0
        self.lastKey = keys.1
        self.keyStep = keys.2
        self.group = group
        self.statsClass = DatastoreStatsClass(name: name.description, group: group.description)
        self.wakes = wakes
        self.keySpec = keySpec
        self.relativeExpiry = relativeExpiry
        // One rule for every blocking command: a wait on one replica would leave the others diverged.
        self.route = flags.contains(.blocking) ? .refused("a blocking pop on one replica would leave the others diverged") : route
    }

    /// The name as a String, for messages.
    public var text: String { name.description }

    /// A command Dynamis refuses everywhere (`Commands/Unsupported.swift`: subscriptions, MONITOR,
    /// replication, ...): admission answers it with the reason, COMMAND does not list it.
    public var isUnsupported: Bool { id == .refused }

    /// Same table entry.
    public func isSame(as other: CommandSpec) -> Bool { name.utf8Start == other.name.utf8Start }

    @inlinable
    public func acceptsArgumentCount(_ count: Int) -> Bool {
        arity >= 0 ? count == arity : count >= -arity
    }

    /// Redis's flag words, for COMMAND.
    public var flagNames: [String] {
        var names: [String] = []
        if flags.contains(.write) { names.append("write") }
        if flags.contains(.readonly) { names.append("readonly") }
        if flags.contains(.denyOOM) { names.append("denyoom") }
        if flags.contains(.admin) { names.append("admin") }
        if flags.contains(.fast) { names.append("fast") }
        if flags.contains(.noAuth) { names.append("no_auth") }
        if flags.contains(.loading) { names.append("loading") }
        if flags.contains(.stale) { names.append("stale") }
        return names
    }
}

/// Where a write carries a relative expiry (EX, EXPIRE, SETEX, RESTORE's ttl), which a cluster's
/// coordinator turns into an absolute one before replicating, as Redis 7 propagates such writes.
public enum RelativeExpiry: Sendable, Equatable {
    case none
    /// EXPIRE and PEXPIRE: argument 2 is the time; the write becomes PEXPIREAT.
    case expireArgument(milliseconds: Bool)
    /// SETEX and PSETEX (key, time, value): the write becomes SET key value PXAT.
    case setex(milliseconds: Bool)
    /// SET and GETEX: an EX or PX option at argument `first` or later becomes PXAT.
    case option(first: Int)
    /// RESTORE: argument 2 is a TTL in ms; ABSTTL is appended.
    case restoreTTL
}

/// Where a command's keys are beyond first/last/step: Redis 7's key specs for the commands whose
/// keys a count argument or an option names.
public enum KeySpec: Sendable, Equatable {
    /// `firstKey` through `lastKey` by `keyStep` (no keys when `firstKey` is 0).
    case range
    /// A count at argument `at`, then that many keys (`allowZero`: EVAL's 0 keys); with
    /// `destination`, argument 1 is a key too (ZUNIONSTORE's).
    case counted(at: Int, allowZero: Bool = false, destination: Bool = false)
    /// SORT: argument 1, and STORE's destination when given.
    case sortStore
    /// GEORADIUS[BYMEMBER]: argument 1, and STORE's or STOREDIST's destination when given among
    /// the options from argument `optionsFrom` on (Redis 7's keyword key spec).
    case geoStore(optionsFrom: Int)

    /// The argument after GEORADIUS's last STORE or STOREDIST (the last one given wins, as in
    /// Redis), skipping COUNT's value; nil when it stores nothing. Routing (the destination lives
    /// with the source), blocked-pop wake-ups and the engine read this one scan.
    public static func geoStoreDestination(_ args: [ByteBuffer], optionsFrom first: Int) -> Int? {
        var store: Int?
        var i = first
        while i < args.count {
            if args[i].isOption("COUNT") { i += 2; continue }
            if args[i].isOption("STORE") || args[i].isOption("STOREDIST"), i + 1 < args.count {
                store = i + 1
                i += 2
                continue
            }
            i += 1
        }
        return store
    }
}

/// How a cluster's coordinator runs a command: read from the row, never decided by its id.
public enum ClusterRoute: Sendable, Equatable {
    /// On the owners of its keys, at the client's consistency level; several keys must share
    /// their owners (else CROSSSLOT). Keyless ones run on the node that took them.
    case owners
    /// One sub-command per owner set, at the client's level, merged back (`merge`).
    case splitByKey(ReplyMerge)
    /// Each replica picks its own answer (SRANDMEMBER, HRANDFIELD, ZRANDMEMBER): one replica's is
    /// the reply, whatever the level, since there is nothing to agree on.
    case anyReplica
    /// One owner decides (which members SPOP takes), then its result replicates as plain writes.
    case ownerThenReplicas
    /// Every node of every DC (FLUSHALL, FLUSHDB).
    case everyNode(ReplyMerge)
    /// The local rack's nodes, which hold one full copy (DBSIZE, KEYS).
    case localRack(ReplyMerge)
    /// SCAN: the cursor walks the local rack's nodes one after the other.
    case rackScan
    /// One node of the local rack (RANDOMKEY).
    case oneRackNode
    /// SCRIPT: LOAD and FLUSH reach every node (so EVALSHA finds the script on any owner), EXISTS
    /// answers for all of them; other subcommands as `owners`.
    case scriptCache
    /// Not offered in a cluster, with the reason.
    case refused(StaticString)

    public static func == (a: ClusterRoute, b: ClusterRoute) -> Bool {
        switch (a, b) {
        case (.owners, .owners), (.anyReplica, .anyReplica), (.ownerThenReplicas, .ownerThenReplicas), (.rackScan, .rackScan),
             (.oneRackNode, .oneRackNode), (.scriptCache, .scriptCache): true
        case (.splitByKey(let x), .splitByKey(let y)), (.everyNode(let x), .everyNode(let y)), (.localRack(let x), .localRack(let y)): x == y
        case (.refused(let x), .refused(let y)): x.description == y.description
        default: false
        }
    }
}

/// How the answers of several nodes or owner sets make one reply.
public enum ReplyMerge: Sendable, Equatable {
    /// Element-wise in the request's key order (MGET).
    case elements
    /// The sum of the integers (DEL, EXISTS, DBSIZE).
    case sum
    /// +OK when every part said +OK (MSET, FLUSHALL).
    case allOK
    /// Every part's array, one after the other (KEYS).
    case concatenated
}

/// Which key a write can fill for blocked clients (Redis's `signalKeyAsReady` calls, per command).
public enum WakeKey: Sendable, Equatable {
    case none
    /// The argument at this index: the key written, or a move's or copy's destination.
    case argument(Int)
    /// SORT's `STORE destination`, when given.
    case sortStore
    /// The destination of GEORADIUS[BYMEMBER] STORE/STOREDIST (see `KeySpec.geoStoreDestination`).
    case geoStore(optionsFrom: Int)
}

/// Command flags, as in Redis's command table, plus where Dynamis executes the command.
public struct CommandFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let write = CommandFlags(rawValue: 1 << 0)
    public static let readonly = CommandFlags(rawValue: 1 << 1)
    public static let denyOOM = CommandFlags(rawValue: 1 << 2)
    public static let admin = CommandFlags(rawValue: 1 << 3)
    public static let fast = CommandFlags(rawValue: 1 << 4)
    public static let noAuth = CommandFlags(rawValue: 1 << 5)
    public static let loading = CommandFlags(rawValue: 1 << 6)
    public static let stale = CommandFlags(rawValue: 1 << 7)
    /// Answered by the connection itself (PING, HELLO, CLIENT, ...), never by an engine.
    public static let connection = CommandFlags(rawValue: 1 << 8)
    /// Executed only by forwarding engines (redis); the RocksDB engine does not have it yet.
    public static let forwardable = CommandFlags(rawValue: 1 << 10)
    /// May wait for data (BLPOP, ...): the connection reads no further request until it answers.
    public static let blocking = CommandFlags(rawValue: 1 << 11)
    /// Healthy replicas may answer it differently (a TTL read a moment apart, a random pick):
    /// Redis's `nondeterministic_output`. Read repair never treats such replies as a disagreement.
    public static let nondeterministicOutput = CommandFlags(rawValue: 1 << 12)
    /// Its whole effect is one read-modify-write of its key, so the RocksDB engine may run it in
    /// a grouped write (`GroupedWrites.swift`): a burst's pushes to one list cost one metadata write.
    public static let groupable = CommandFlags(rawValue: 1 << 14)
    /// Replaces a key's whole value (SET, SETEX, PSETEX, MSET, RESTORE, DYNAMIS.APPLY): a replica
    /// applies it only when not older than the stored version, which it sets itself.
    public static let wholeValue = CommandFlags(rawValue: 1 << 15)
    /// Spoken between nodes only, answered by the node itself (membership gossip): clients are
    /// told it is an unknown command.
    public static let peerOnly = CommandFlags(rawValue: 1 << 16)
    /// MULTI, EXEC, DISCARD, WATCH, UNWATCH: the connection handles them itself, inside a
    /// transaction too (they are never queued).
    public static let transactionControl = CommandFlags(rawValue: 1 << 17)
}

/// Dynomite's per-command counters of the datastore object in `/info` (`redis_req_get`, ...),
/// derived once per table row from the command's name and group.
public enum DatastoreStatsClass: Int, CaseIterable, Sendable {
    case get, set, del, incrDecr, keys, mget, scan, sort, lreqm, sunion, ping, lists, sets, hashes, sortedsets, other

    init(name: String, group: String) {
        switch name {
        case "get": self = .get
        case "set", "setnx", "setex", "psetex", "mset", "msetnx", "getset": self = .set
        case "del", "unlink": self = .del
        case "incr", "decr", "incrby", "decrby", "incrbyfloat": self = .incrDecr
        case "keys": self = .keys
        case "mget": self = .mget
        case "scan", "hscan", "sscan", "zscan": self = .scan
        case "sort", "sort_ro": self = .sort
        case "lrange", "lrem": self = .lreqm
        case "sunion", "sunionstore": self = .sunion
        case "ping": self = .ping
        default:
            switch group {
            case "list": self = .lists
            case "set": self = .sets
            case "hash": self = .hashes
            case "sorted-set": self = .sortedsets
            default: self = .other
            }
        }
    }

    /// The `/info` field name.
    public var field: String {
        switch self {
        case .incrDecr: return "redis_req_incr_decr"
        default: return "redis_req_\(self)"
        }
    }
}
