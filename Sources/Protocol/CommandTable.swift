import NIOCore

/// The command table: every command's spec, looked up by name case-insensitively with no
/// allocation (a hash of the lower-cased bytes, then a byte comparison).
public enum CommandTable {
    public static let all: [CommandSpec] = [
        // Connection and server: answered by the connection handler.
        .init("ping", .ping, arity: -1, [.fast, .stale, .connection], group: "connection"),
        .init("echo", .echo, arity: 2, [.fast, .connection], group: "connection"),
        .init("quit", .quit, arity: -1, [.fast, .noAuth, .connection], group: "connection"),
        .init("select", .select, arity: 2, [.fast, .loading, .connection], group: "connection"),
        .init("hello", .hello, arity: -1, [.fast, .noAuth, .connection], group: "connection"),
        .init("client", .client, arity: -2, [.connection], group: "connection"),
        .init("auth", .auth, arity: -2, [.fast, .noAuth, .connection], group: "connection"),
        .init("command", .command, arity: -1, [.loading, .stale, .connection], group: "server"),
        .init("info", .info, arity: -1, [.loading, .stale, .connection], group: "server"),
        .init("time", .time, arity: 1, [.fast, .loading, .stale, .connection], group: "server"),
        .init("config", .config, arity: -2, [.admin, .connection], group: "server"),
        .init("dyno_config:conn_consistency", .dynoConnConsistency, arity: 2, [.fast, .connection], group: "connection"),
        .init("dbsize", .dbsize, arity: 1, [.readonly, .fast], route: .localRack(.sum), group: "server"),
        .init("flushall", .flushall, arity: -1, [.write], route: .everyNode(.allOK), group: "server"),
        .init("flushdb", .flushdb, arity: -1, [.write], route: .everyNode(.allOK), group: "server"),

        // Strings
        .init("get", .get, arity: 2, [.readonly, .fast], keys: (1, 1, 1), group: "string"),
        .init("set", .set, arity: -3, [.relativeExpiry, .write, .denyOOM, .wholeValue], keys: (1, 1, 1), group: "string"),
        .init("setnx", .setnx, arity: 3, [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "string"),
        .init("setex", .setex, arity: 4, [.relativeExpiry, .write, .denyOOM, .wholeValue], keys: (1, 1, 1), group: "string"),
        .init("psetex", .psetex, arity: 4, [.relativeExpiry, .write, .denyOOM, .wholeValue], keys: (1, 1, 1), group: "string"),
        .init("getset", .getset, arity: 3, [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "string"),
        .init("getdel", .getdel, arity: 2, [.write, .fast], keys: (1, 1, 1), group: "string"),
        .init("getex", .getex, arity: -2, [.relativeExpiry, .write, .fast], keys: (1, 1, 1), group: "string"),
        .init("mget", .mget, arity: -2, [.readonly, .fast], keys: (1, -1, 1), route: .splitByKey(.elements), group: "string"),
        .init("mset", .mset, arity: -3, [.write, .denyOOM, .wholeValue], keys: (1, -1, 2), route: .splitByKey(.allOK), group: "string"),
        .init("msetnx", .msetnx, arity: -3, [.write, .denyOOM], keys: (1, -1, 2), group: "string"),
        .init("append", .append, arity: 3, [.write, .denyOOM, .fast, .groupable], keys: (1, 1, 1), group: "string"),
        .init("strlen", .strlen, arity: 2, [.readonly, .fast], keys: (1, 1, 1), group: "string"),
        .init("getrange", .getrange, arity: 4, [.readonly], keys: (1, 1, 1), group: "string"),
        .init("substr", .substr, arity: 4, [.readonly], keys: (1, 1, 1), group: "string"),
        .init("setrange", .setrange, arity: 4, [.write, .denyOOM], keys: (1, 1, 1), group: "string"),
        .init("incr", .incr, arity: 2, [.write, .denyOOM, .fast, .groupable], keys: (1, 1, 1), group: "string"),
        .init("decr", .decr, arity: 2, [.write, .denyOOM, .fast, .groupable], keys: (1, 1, 1), group: "string"),
        .init("incrby", .incrby, arity: 3, [.write, .denyOOM, .fast, .groupable], keys: (1, 1, 1), group: "string"),
        .init("decrby", .decrby, arity: 3, [.write, .denyOOM, .fast, .groupable], keys: (1, 1, 1), group: "string"),
        .init("incrbyfloat", .incrbyfloat, arity: 3, [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "string"),
        .init("lcs", .lcs, arity: -3, [.readonly], keys: (1, 2, 1), group: "string"),

        // Keyspace
        .init("del", .del, arity: -2, [.write], keys: (1, -1, 1), route: .splitByKey(.sum), group: "generic"),
        .init("unlink", .unlink, arity: -2, [.write, .fast], keys: (1, -1, 1), route: .splitByKey(.sum), group: "generic"),
        .init("exists", .exists, arity: -2, [.readonly, .fast], keys: (1, -1, 1), route: .splitByKey(.sum), group: "generic"),
        .init("type", .type, arity: 2, [.readonly, .fast], keys: (1, 1, 1), group: "generic"),
        .init("expire", .expire, arity: -3, [.relativeExpiry, .write, .fast], keys: (1, 1, 1), group: "generic"),
        .init("pexpire", .pexpire, arity: -3, [.relativeExpiry, .write, .fast], keys: (1, 1, 1), group: "generic"),
        .init("expireat", .expireat, arity: -3, [.write, .fast], keys: (1, 1, 1), group: "generic"),
        .init("pexpireat", .pexpireat, arity: -3, [.write, .fast], keys: (1, 1, 1), group: "generic"),
        .init("ttl", .ttl, arity: 2, [.nondeterministicOutput, .readonly, .fast], keys: (1, 1, 1), group: "generic"),
        .init("pttl", .pttl, arity: 2, [.nondeterministicOutput, .readonly, .fast], keys: (1, 1, 1), group: "generic"),
        .init("expiretime", .expiretime, arity: 2, [.readonly, .fast], keys: (1, 1, 1), group: "generic"),
        .init("pexpiretime", .pexpiretime, arity: 2, [.readonly, .fast], keys: (1, 1, 1), group: "generic"),
        .init("persist", .persist, arity: 2, [.write, .fast], keys: (1, 1, 1), group: "generic"),
        .init("touch", .touch, arity: -2, [.readonly, .fast], keys: (1, -1, 1), route: .splitByKey(.sum), group: "generic"),

        // Forwarded to backend engines (Dynomite's command set, with its flag bugs fixed: TTL and
        // PFCOUNT read; SUNIONSTORE, ZUNIONSTORE, ZINTERSTORE write; UNLINK and HSTRLEN work).
        .init("hget", .hget, arity: 3, [.readonly], keys: (1, 1, 1), group: "hash"),
        .init("hmget", .hmget, arity: -3, [.readonly], keys: (1, 1, 1), group: "hash"),
        .init("hexists", .hexists, arity: 3, [.readonly], keys: (1, 1, 1), group: "hash"),
        .init("hlen", .hlen, arity: 2, [.readonly], keys: (1, 1, 1), group: "hash"),
        .init("hgetall", .hgetall, arity: 2, [.readonly], keys: (1, 1, 1), group: "hash"),
        .init("hkeys", .hkeys, arity: 2, [.readonly], keys: (1, 1, 1), group: "hash"),
        .init("hvals", .hvals, arity: 2, [.readonly], keys: (1, 1, 1), group: "hash"),
        .init("hscan", .hscan, arity: -3, [.readonly], keys: (1, 1, 1), group: "hash"),
        .init("hstrlen", .hstrlen, arity: 3, [.readonly], keys: (1, 1, 1), group: "hash"),
        .init("hrandfield", .hrandfield, arity: -2, [.nondeterministicOutput, .readonly], keys: (1, 1, 1), route: .anyReplica, group: "hash"),
        .init("hset", .hset, arity: -4, [.write, .groupable], keys: (1, 1, 1), group: "hash"),
        .init("hsetnx", .hsetnx, arity: 4, [.write, .groupable], keys: (1, 1, 1), group: "hash"),
        .init("hmset", .hmset, arity: -4, [.write, .groupable], keys: (1, 1, 1), group: "hash"),
        .init("hdel", .hdel, arity: -3, [.write, .groupable], keys: (1, 1, 1), group: "hash"),
        .init("hincrby", .hincrby, arity: 4, [.write, .groupable], keys: (1, 1, 1), group: "hash"),
        .init("hincrbyfloat", .hincrbyfloat, arity: 4, [.write, .groupable], keys: (1, 1, 1), group: "hash"),
        .init("lindex", .lindex, arity: 3, [.readonly], keys: (1, 1, 1), group: "list"),
        .init("llen", .llen, arity: 2, [.readonly], keys: (1, 1, 1), group: "list"),
        .init("lrange", .lrange, arity: 4, [.readonly], keys: (1, 1, 1), group: "list"),
        .init("lpos", .lpos, arity: -3, [.readonly], keys: (1, 1, 1), group: "list"),
        .init("lpush", .lpush, arity: -3, [.write, .groupable], keys: (1, 1, 1), wakes: .argument(1), group: "list"),
        .init("lpushx", .lpushx, arity: -3, [.write, .groupable], keys: (1, 1, 1), wakes: .argument(1), group: "list"),
        .init("rpush", .rpush, arity: -3, [.write, .groupable], keys: (1, 1, 1), wakes: .argument(1), group: "list"),
        .init("rpushx", .rpushx, arity: -3, [.write, .groupable], keys: (1, 1, 1), wakes: .argument(1), group: "list"),
        .init("lpop", .lpop, arity: -2, [.write, .groupable], keys: (1, 1, 1), group: "list"),
        .init("rpop", .rpop, arity: -2, [.write, .groupable], keys: (1, 1, 1), group: "list"),
        .init("linsert", .linsert, arity: 5, [.write], keys: (1, 1, 1), group: "list"),
        .init("lrem", .lrem, arity: 4, [.write], keys: (1, 1, 1), group: "list"),
        .init("lset", .lset, arity: 4, [.write], keys: (1, 1, 1), group: "list"),
        .init("ltrim", .ltrim, arity: 4, [.write], keys: (1, 1, 1), group: "list"),
        .init("lmpop", .lmpop, arity: -4, [.write], keySpec: .counted(at: 1), group: "list"),
        .init("rpoplpush", .rpoplpush, arity: 3, [.write], keys: (1, 2, 1), wakes: .argument(2), group: "list"),
        .init("lmove", .lmove, arity: 5, [.write], keys: (1, 2, 1), wakes: .argument(2), group: "list"),
        .init("scard", .scard, arity: 2, [.readonly], keys: (1, 1, 1), group: "set"),
        .init("sismember", .sismember, arity: 3, [.readonly], keys: (1, 1, 1), group: "set"),
        .init("smismember", .smismember, arity: -3, [.readonly], keys: (1, 1, 1), group: "set"),
        .init("smembers", .smembers, arity: 2, [.readonly], keys: (1, 1, 1), group: "set"),
        .init("srandmember", .srandmember, arity: -2, [.nondeterministicOutput, .readonly], keys: (1, 1, 1), route: .anyReplica, group: "set"),
        .init("sdiff", .sdiff, arity: -2, [.readonly], keys: (1, -1, 1), group: "set"),
        .init("sinter", .sinter, arity: -2, [.readonly], keys: (1, -1, 1), group: "set"),
        .init("sunion", .sunion, arity: -2, [.readonly], keys: (1, -1, 1), group: "set"),
        .init("sintercard", .sintercard, arity: -3, [.readonly], keySpec: .counted(at: 1), group: "set"),
        .init("sscan", .sscan, arity: -3, [.readonly], keys: (1, 1, 1), group: "set"),
        .init("sadd", .sadd, arity: -3, [.write, .groupable], keys: (1, 1, 1), group: "set"),
        .init("srem", .srem, arity: -3, [.write, .groupable], keys: (1, 1, 1), group: "set"),
        .init("spop", .spop, arity: -2, [.write, .groupable], keys: (1, 1, 1), route: .ownerThenReplicas, group: "set"),
        .init("smove", .smove, arity: 4, [.write], keys: (1, 2, 1), wakes: .argument(2), group: "set"),
        .init("sdiffstore", .sdiffstore, arity: -3, [.write], keys: (1, -1, 1), group: "set"),
        .init("sinterstore", .sinterstore, arity: -3, [.write], keys: (1, -1, 1), group: "set"),
        .init("sunionstore", .sunionstore, arity: -3, [.write], keys: (1, -1, 1), group: "set"),
        .init("zcard", .zcard, arity: 2, [.readonly], keys: (1, 1, 1), group: "sorted-set"),
        .init("zcount", .zcount, arity: 4, [.readonly], keys: (1, 1, 1), group: "sorted-set"),
        .init("zlexcount", .zlexcount, arity: 4, [.readonly], keys: (1, 1, 1), group: "sorted-set"),
        .init("zrange", .zrange, arity: -4, [.readonly], keys: (1, 1, 1), group: "sorted-set"),
        .init("zrangebylex", .zrangebylex, arity: -4, [.readonly], keys: (1, 1, 1), group: "sorted-set"),
        .init("zrangebyscore", .zrangebyscore, arity: -4, [.readonly], keys: (1, 1, 1), group: "sorted-set"),
        .init("zrank", .zrank, arity: 3, [.readonly], keys: (1, 1, 1), group: "sorted-set"),
        .init("zrevrange", .zrevrange, arity: -4, [.readonly], keys: (1, 1, 1), group: "sorted-set"),
        .init("zrevrangebylex", .zrevrangebylex, arity: -4, [.readonly], keys: (1, 1, 1), group: "sorted-set"),
        .init("zrevrangebyscore", .zrevrangebyscore, arity: -4, [.readonly], keys: (1, 1, 1), group: "sorted-set"),
        .init("zrevrank", .zrevrank, arity: 3, [.readonly], keys: (1, 1, 1), group: "sorted-set"),
        .init("zscore", .zscore, arity: 3, [.readonly], keys: (1, 1, 1), group: "sorted-set"),
        .init("zmscore", .zmscore, arity: -3, [.readonly], keys: (1, 1, 1), group: "sorted-set"),
        .init("zrandmember", .zrandmember, arity: -2, [.nondeterministicOutput, .readonly], keys: (1, 1, 1), route: .anyReplica, group: "sorted-set"),
        .init("zscan", .zscan, arity: -3, [.readonly], keys: (1, 1, 1), group: "sorted-set"),
        .init("zadd", .zadd, arity: -4, [.write, .groupable], keys: (1, 1, 1), wakes: .argument(1), group: "sorted-set"),
        .init("zincrby", .zincrby, arity: 4, [.write, .groupable], keys: (1, 1, 1), wakes: .argument(1), group: "sorted-set"),
        .init("zrem", .zrem, arity: -3, [.write, .groupable], keys: (1, 1, 1), group: "sorted-set"),
        .init("zremrangebylex", .zremrangebylex, arity: 4, [.write], keys: (1, 1, 1), group: "sorted-set"),
        .init("zremrangebyrank", .zremrangebyrank, arity: 4, [.write], keys: (1, 1, 1), group: "sorted-set"),
        .init("zremrangebyscore", .zremrangebyscore, arity: 4, [.write], keys: (1, 1, 1), group: "sorted-set"),
        .init("zpopmin", .zpopmin, arity: -2, [.write], keys: (1, 1, 1), group: "sorted-set"),
        .init("zpopmax", .zpopmax, arity: -2, [.write], keys: (1, 1, 1), group: "sorted-set"),
        .init("blpop", .blpop, arity: -3, [.write, .blocking], keys: (1, -2, 1), group: "list"),
        .init("blmpop", .blmpop, arity: -5, [.write, .blocking], keySpec: .counted(at: 2), group: "list"),
        .init("bzmpop", .bzmpop, arity: -5, [.write, .blocking], keySpec: .counted(at: 2), group: "sorted-set"),
        .init("brpop", .brpop, arity: -3, [.write, .blocking], keys: (1, -2, 1), group: "list"),
        .init("blmove", .blmove, arity: 6, [.write, .blocking], keys: (1, 2, 1), group: "list"),
        .init("brpoplpush", .brpoplpush, arity: 4, [.write, .blocking], keys: (1, 2, 1), group: "list"),
        .init("bzpopmin", .bzpopmin, arity: -3, [.write, .blocking], keys: (1, -2, 1), group: "sorted-set"),
        .init("bzpopmax", .bzpopmax, arity: -3, [.write, .blocking], keys: (1, -2, 1), group: "sorted-set"),
        .init("object", .object, arity: -2, [.nondeterministicOutput, .readonly], keys: (2, 2, 1), group: "generic"),
        .init("zrangestore", .zrangestore, arity: -5, [.write], keys: (1, 2, 1), wakes: .argument(1), group: "sorted-set"),
        .init("zmpop", .zmpop, arity: -4, [.write], keySpec: .counted(at: 1), group: "sorted-set"),
        .init("zunion", .zunion, arity: -3, [.readonly], keySpec: .counted(at: 1), group: "sorted-set"),
        .init("zinter", .zinter, arity: -3, [.readonly], keySpec: .counted(at: 1), group: "sorted-set"),
        .init("zdiff", .zdiff, arity: -3, [.readonly], keySpec: .counted(at: 1), group: "sorted-set"),
        .init("zdiffstore", .zdiffstore, arity: -4, [.write], keys: (1, 1, 1), keySpec: .counted(at: 2, destination: true), wakes: .argument(1), group: "sorted-set"),
        .init("zintercard", .zintercard, arity: -3, [.readonly], keySpec: .counted(at: 1), group: "sorted-set"),
        .init("zinterstore", .zinterstore, arity: -4, [.write], keys: (1, 1, 1), keySpec: .counted(at: 2, destination: true), wakes: .argument(1), group: "sorted-set"),
        .init("zunionstore", .zunionstore, arity: -4, [.write], keys: (1, 1, 1), keySpec: .counted(at: 2, destination: true), wakes: .argument(1), group: "sorted-set"),
        .init("pfadd", .pfadd, arity: -2, [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "hyperloglog"),
        .init("pfcount", .pfcount, arity: -2, [.readonly], keys: (1, -1, 1), group: "hyperloglog"),
        .init("pfmerge", .pfmerge, arity: -2, [.write, .denyOOM], keys: (1, -1, 1), group: "hyperloglog"),
        .init("geoadd", .geoadd, arity: -5, [.write, .denyOOM], keys: (1, 1, 1), wakes: .argument(1), group: "geo"),
        .init("geopos", .geopos, arity: -2, [.readonly], keys: (1, 1, 1), group: "geo"),
        .init("geodist", .geodist, arity: -4, [.readonly], keys: (1, 1, 1), group: "geo"),
        .init("geohash", .geohash, arity: -2, [.readonly], keys: (1, 1, 1), group: "geo"),
        // Writes only with STORE/STOREDIST, whose key routing finds (ClusterKeys).
        .init("georadius", .georadius, arity: -6, [.write, .denyOOM], keys: (1, 1, 1), keySpec: .geoStore, wakes: .geoStore, group: "geo"),
        .init("georadius_ro", .georadiusRO, arity: -6, [.readonly], keys: (1, 1, 1), group: "geo"),
        .init("georadiusbymember", .georadiusbymember, arity: -5, [.write, .denyOOM], keys: (1, 1, 1), keySpec: .geoStore, wakes: .geoStore, group: "geo"),
        .init("georadiusbymember_ro", .georadiusbymemberRO, arity: -5, [.readonly], keys: (1, 1, 1), group: "geo"),
        .init("geosearch", .geosearch, arity: -7, [.readonly], keys: (1, 1, 1), group: "geo"),
        .init("geosearchstore", .geosearchstore, arity: -8, [.write, .denyOOM], keys: (1, 2, 1), wakes: .geoStore, group: "geo"),
        .init("getbit", .getbit, arity: 3, [.readonly, .fast], keys: (1, 1, 1), group: "bitmap"),
        .init("setbit", .setbit, arity: 4, [.write, .denyOOM], keys: (1, 1, 1), group: "bitmap"),
        .init("bitcount", .bitcount, arity: -2, [.readonly], keys: (1, 1, 1), group: "bitmap"),
        .init("bitpos", .bitpos, arity: -3, [.readonly], keys: (1, 1, 1), group: "bitmap"),
        .init("bitop", .bitop, arity: -4, [.write, .denyOOM], keys: (2, -1, 1), group: "bitmap"),
        .init("bitfield", .bitfield, arity: -2, [.write, .denyOOM], keys: (1, 1, 1), group: "bitmap"),
        .init("bitfield_ro", .bitfieldRO, arity: -2, [.readonly, .fast], keys: (1, 1, 1), group: "bitmap"),
        .init("dump", .dump, arity: 2, [.readonly], keys: (1, 1, 1), group: "generic"),
        .init("restore", .restore, arity: -4, [.relativeExpiry, .write, .wholeValue], keys: (1, 1, 1), wakes: .argument(1), group: "generic"),
        // A key's whole state with its version, for hinted handoff and read repair between nodes.
        .init("dynamis.state", .dynamisState, arity: -2, [.readonly, .fast], keys: (1, 1, 1), group: "generic"),
        // That state written on a replica with its version, only if not older.
        .init("dynamis.apply", .dynamisApply, arity: -4, [.write, .wholeValue], keys: (1, 1, 1), group: "generic"),
        // Anti-entropy (DESIGN.md §5c): this node's segment digests and (key, version) lists of a
        // token range. Keyless: a node answers for its own copy, wherever the request came from.
        .init("dynamis.digest", .dynamisDigest, arity: -3, [.readonly], group: "generic"),
        .init("dynamis.keyversions", .dynamisKeyVersions, arity: -3, [.readonly], group: "generic"),
        // Membership gossip (DESIGN.md §5b): a peer's epoch in, this node's newest epoch out.
        .init("dynamis.topology", .dynamisTopology, arity: -1, [.admin, .peerOnly], group: "server"),
        .init("sort", .sort, arity: -2, [.write], keys: (1, 1, 1), keySpec: .sortStore, wakes: .sortStore, group: "generic"),
        .init("sort_ro", .sortRO, arity: -2, [.readonly], keys: (1, 1, 1), group: "generic"),
        .init("keys", .keys, arity: 2, [.readonly], route: .localRack(.concatenated), group: "generic"),
        .init("scan", .scan, arity: -2, [.readonly], route: .rackScan, group: "generic"),
        .init("randomkey", .randomkey, arity: 1, [.readonly], route: .oneRackNode, group: "generic"),
        .init("copy", .copy, arity: -3, [.write], keys: (1, 2, 1), wakes: .argument(2), group: "generic"),
        .init("rename", .rename, arity: 3, [.write], keys: (1, 2, 1), wakes: .argument(2), group: "generic"),
        .init("renamenx", .renamenx, arity: 3, [.write], keys: (1, 2, 1), wakes: .argument(2), group: "generic"),
        .init("eval", .forwarded, arity: -3, [.write, .forwardable], keySpec: .counted(at: 2, allowZero: true), group: "scripting"),
        .init("evalsha", .forwarded, arity: -3, [.write, .forwardable], keySpec: .counted(at: 2, allowZero: true), group: "scripting"),
        .init("script", .forwarded, arity: -2, [.write, .forwardable], route: .scriptCache, group: "scripting"),
        // Refused with a clear error (a proxy cannot hold per-connection server state).
        .init("subscribe", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("psubscribe", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("unsubscribe", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("punsubscribe", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("ssubscribe", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("sunsubscribe", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("publish", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("monitor", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("shutdown", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("debug", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("slaveof", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("replicaof", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("sync", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("psync", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("multi", .multi, arity: 1, [.connection], group: "transactions"),
        .init("exec", .exec, arity: 1, [.connection], group: "transactions"),
        .init("discard", .discard, arity: 1, [.connection], group: "transactions"),
        .init("watch", .watch, arity: -2, [.connection], keys: (1, -1, 1), group: "transactions"),
        .init("unwatch", .unwatch, arity: 1, [.connection], group: "transactions"),
        .init("wait", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("migrate", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("move", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("swapdb", .refused, arity: -1, [.connection], group: "unsupported"),
        .init("failover", .refused, arity: -1, [.connection], group: "unsupported"),
    ]

    /// Folded-name hash → position in `all` (a hash collision falls back to a scan).
    private static let index: [UInt64: Int] = {
        var index: [UInt64: Int] = [:]
        for (i, spec) in all.enumerated() {
            let h = foldedHash(UnsafeRawBufferPointer(start: spec.name.utf8Start, count: spec.name.utf8CodeUnitCount))
            if index[h] == nil { index[h] = i }
        }
        return index
    }()

    /// The spec for a command name, in any letter case.
    @inlinable
    public static func lookup(_ name: ByteBuffer) -> CommandSpec? {
        name.withUnsafeReadableBytes { lookup($0) }
    }

    public static func lookup(_ name: UnsafeRawBufferPointer) -> CommandSpec? {
        guard name.count <= 32, let position = index[foldedHash(name)] else { return nil }
        let spec = all[position]
        if equalsFolded(spec.name, name) { return spec }
        return all.first { equalsFolded($0.name, name) }
    }

    public static func lookup(_ name: String) -> CommandSpec? {
        Array(name.utf8).withUnsafeBytes { lookup($0) }
    }

    /// FNV-1a over ASCII-lower-cased bytes.
    static func foldedHash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            h ^= UInt64(b >= 65 && b <= 90 ? b | 0x20 : b)
            h &*= 0x100_0000_01b3
        }
        return h
    }

    static func equalsFolded(_ lower: StaticString, _ bytes: UnsafeRawBufferPointer) -> Bool {
        let count = lower.utf8CodeUnitCount
        guard count == bytes.count else { return false }
        let expected = lower.utf8Start
        for i in 0..<count {
            let b = bytes[i]
            if (b >= 65 && b <= 90 ? b | 0x20 : b) != expected[i] { return false }
        }
        return true
    }
}
