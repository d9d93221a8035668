/// Every command Dynamis knows, for dispatch without string comparisons. The raw value indexes
/// an engine's handler table (`RocksDBHandlers`), so a command is found without a switch.
public enum CommandID: UInt8, Sendable, Hashable, CaseIterable {
    // Connection and server
    case ping, echo, quit, select, hello, client, command, info, time, auth, config
    /// Dynomite's per-connection consistency pseudo-command, `DYNO_CONFIG:CONN_CONSISTENCY <level>`.
    case dynoConnConsistency
    case dbsize, flushall, flushdb
    // Strings
    case get, set, setnx, setex, psetex, getset, getdel, getex, mget, mset, msetnx
    case append, strlen, getrange, substr, setrange, incr, decr, incrby, decrby, incrbyfloat
    // Bitmaps (over strings)
    case getbit, setbit, bitcount, bitpos, bitop, bitfield, bitfieldRO
    case lcs
    // HyperLogLog (over strings)
    case pfadd, pfcount, pfmerge, pfdebug, pfselftest
    // Geo (over sorted sets)
    case geoadd, geopos, geodist, geohash, georadius, georadiusRO, georadiusbymember, georadiusbymemberRO
    case geosearch, geosearchstore
    // Keyspace
    case del, unlink, exists, type, expire, pexpire, expireat, pexpireat
    case ttl, pttl, expiretime, pexpiretime, persist, touch
    // Hashes
    case hset, hsetnx, hmset, hget, hmget, hgetall, hkeys, hvals, hlen, hexists, hdel
    case hincrby, hincrbyfloat, hstrlen
    // Lists
    case lpush, rpush, lpushx, rpushx, lpop, rpop, llen, lrange, lindex, lset, ltrim, lrem, linsert, lpos
    case lmove, rpoplpush, lmpop
    // Sorted sets
    case zadd, zincrby, zrem, zcard, zscore, zmscore, zrank, zrevrank, zcount, zlexcount
    case zrange, zrangebyscore, zrevrangebyscore, zrangebylex, zrevrangebylex, zrevrange
    case zremrangebyrank, zremrangebyscore, zremrangebylex, zpopmin, zpopmax
    case zunion, zinter, zdiff, zunionstore, zinterstore, zdiffstore, zintercard
    case zrangestore, zmpop, zrandmember, hrandfield
    case object
    case blpop, brpop, blmove, brpoplpush, bzpopmin, bzpopmax, blmpop, bzmpop
    // Keyspace iteration and moves
    case keys, scan, randomkey, rename, renamenx, copy
    // Serialized values (RDB payloads)
    case dump, restore
    case dynamisState, dynamisApply, dynamisDigest, dynamisKeyVersions, dynamisTopology
    case sort, sortRO
    // Transactions
    case multi, exec, discard, watch, unwatch
    case hscan, sscan, zscan
    // Sets
    case sadd, srem, smembers, sismember, smismember, scard, smove, spop, srandmember
    case sinter, sunion, sdiff, sinterstore, sunionstore, sdiffstore, sintercard
    /// A Redis command Dynamis routes and forwards to a backend engine but does not execute
    /// itself yet (the RocksDB engine answers these as unknown commands).
    case forwarded
    /// A command a proxy cannot honour (subscriptions, MONITOR, blocking pops, ...): refused with
    /// a clear error; the connection stays open.
    case refused
}
