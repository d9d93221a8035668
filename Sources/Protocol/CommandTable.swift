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
        .init("dbsize", .dbsize, arity: 1, [.readonly, .fast, .keyspaceWide], group: "server"),
        .init("flushall", .flushall, arity: -1, [.write, .keyspaceWide], group: "server"),
        .init("flushdb", .flushdb, arity: -1, [.write, .keyspaceWide], group: "server"),

        // Strings
        .init("get", .get, arity: 2, [.readonly, .fast], keys: (1, 1, 1), group: "string"),
        .init("set", .set, arity: -3, [.write, .denyOOM], keys: (1, 1, 1), group: "string"),
        .init("setnx", .setnx, arity: 3, [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "string"),
        .init("setex", .setex, arity: 4, [.write, .denyOOM], keys: (1, 1, 1), group: "string"),
        .init("psetex", .psetex, arity: 4, [.write, .denyOOM], keys: (1, 1, 1), group: "string"),
        .init("getset", .getset, arity: 3, [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "string"),
        .init("getdel", .getdel, arity: 2, [.write, .fast], keys: (1, 1, 1), group: "string"),
        .init("getex", .getex, arity: -2, [.write, .fast], keys: (1, 1, 1), group: "string"),
        .init("mget", .mget, arity: -2, [.readonly, .fast], keys: (1, -1, 1), group: "string"),
        .init("mset", .mset, arity: -3, [.write, .denyOOM], keys: (1, -1, 2), group: "string"),
        .init("msetnx", .msetnx, arity: -3, [.write, .denyOOM], keys: (1, -1, 2), group: "string"),
        .init("append", .append, arity: 3, [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "string"),
        .init("strlen", .strlen, arity: 2, [.readonly, .fast], keys: (1, 1, 1), group: "string"),
        .init("getrange", .getrange, arity: 4, [.readonly], keys: (1, 1, 1), group: "string"),
        .init("substr", .substr, arity: 4, [.readonly], keys: (1, 1, 1), group: "string"),
        .init("setrange", .setrange, arity: 4, [.write, .denyOOM], keys: (1, 1, 1), group: "string"),
        .init("incr", .incr, arity: 2, [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "string"),
        .init("decr", .decr, arity: 2, [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "string"),
        .init("incrby", .incrby, arity: 3, [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "string"),
        .init("decrby", .decrby, arity: 3, [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "string"),
        .init("incrbyfloat", .incrbyfloat, arity: 3, [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "string"),

        // Keyspace
        .init("del", .del, arity: -2, [.write], keys: (1, -1, 1), group: "generic"),
        .init("unlink", .unlink, arity: -2, [.write, .fast], keys: (1, -1, 1), group: "generic"),
        .init("exists", .exists, arity: -2, [.readonly, .fast], keys: (1, -1, 1), group: "generic"),
        .init("type", .type, arity: 2, [.readonly, .fast], keys: (1, 1, 1), group: "generic"),
        .init("expire", .expire, arity: -3, [.write, .fast], keys: (1, 1, 1), group: "generic"),
        .init("pexpire", .pexpire, arity: -3, [.write, .fast], keys: (1, 1, 1), group: "generic"),
        .init("expireat", .expireat, arity: -3, [.write, .fast], keys: (1, 1, 1), group: "generic"),
        .init("pexpireat", .pexpireat, arity: -3, [.write, .fast], keys: (1, 1, 1), group: "generic"),
        .init("ttl", .ttl, arity: 2, [.readonly, .fast], keys: (1, 1, 1), group: "generic"),
        .init("pttl", .pttl, arity: 2, [.readonly, .fast], keys: (1, 1, 1), group: "generic"),
        .init("expiretime", .expiretime, arity: 2, [.readonly, .fast], keys: (1, 1, 1), group: "generic"),
        .init("pexpiretime", .pexpiretime, arity: 2, [.readonly, .fast], keys: (1, 1, 1), group: "generic"),
        .init("persist", .persist, arity: 2, [.write, .fast], keys: (1, 1, 1), group: "generic"),
        .init("touch", .touch, arity: -2, [.readonly, .fast], keys: (1, -1, 1), group: "generic"),
    ]

    private static let index: [UInt64: [CommandSpec]] = {
        var index: [UInt64: [CommandSpec]] = [:]
        for spec in all {
            let h = Array(spec.name.utf8).withUnsafeBytes { foldedHash($0) }
            index[h, default: []].append(spec)
        }
        return index
    }()

    /// The spec for a command name, in any letter case.
    @inlinable
    public static func lookup(_ name: ByteBuffer) -> CommandSpec? {
        name.withUnsafeReadableBytes { lookup($0) }
    }

    public static func lookup(_ name: UnsafeRawBufferPointer) -> CommandSpec? {
        guard name.count <= 32, let candidates = index[foldedHash(name)] else { return nil }
        for spec in candidates where equalsFolded(spec.name, name) { return spec }
        return nil
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

    static func equalsFolded(_ lower: String, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        for c in lower.utf8 {
            guard i < bytes.count else { return false }
            let b = bytes[i]
            if (b >= 65 && b <= 90 ? b | 0x20 : b) != c { return false }
            i += 1
        }
        return i == bytes.count
    }
}
