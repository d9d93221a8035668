import NIOCore
import Protocol

/// The expiry options shared by SET and GETEX, parsed as Redis 7.0 parses them.
struct ExpiryOptions {
    enum Unit { case ex, px, exat, pxat }
    var nx = false, xx = false, get = false, keepTTL = false, persist = false
    var unit: Unit?
    var value: ByteBuffer?

    /// Parses options from `args[from...]`. `forSet` selects SET's words, else GETEX's.
    init?(_ args: [ByteBuffer], from: Int, forSet: Bool) {
        var j = from
        while j < args.count {
            let opt = args[j]
            let hasNext = j + 1 < args.count
            if forSet, opt.isOption("NX"), !xx {
                nx = true
            } else if forSet, opt.isOption("XX"), !nx {
                xx = true
            } else if forSet, opt.isOption("GET") {
                get = true
            } else if forSet, opt.isOption("KEEPTTL"), !persist, unit == nil {
                keepTTL = true
            } else if !forSet, opt.isOption("PERSIST"), unit == nil, !keepTTL {
                persist = true
            } else if let u = Self.unit(opt), !keepTTL, !persist, unit == nil || unit == u, hasNext {
                unit = u
                value = args[j + 1]
                j += 1
            } else {
                return nil
            }
            j += 1
        }
    }

    static func unit(_ word: ByteBuffer) -> Unit? {
        if word.isOption("EX") { return .ex }
        if word.isOption("PX") { return .px }
        if word.isOption("EXAT") { return .exat }
        if word.isOption("PXAT") { return .pxat }
        return nil
    }

    /// The absolute expiry in Unix ms, or the error reply text (Redis's order of checks).
    func expireAt(now: Int64, command: String) -> Result<Int64?, ExpiryError> {
        guard let unit, let value else { return .success(nil) }
        guard let raw = value.redisInteger else { return .failure(.init(RedisError.notInteger)) }
        let seconds = unit == .ex || unit == .exat
        if raw <= 0 || (seconds && raw > Int.max / 1000) {
            return .failure(.init(RedisError.invalidExpireTime(command)))
        }
        var ms = seconds ? raw * 1000 : raw
        if unit == .ex || unit == .px { ms = ms &+ Int(now) }
        if ms <= 0 { return .failure(.init(RedisError.invalidExpireTime(command))) }
        return .success(Int64(ms))
    }
}

struct ExpiryError: Error {
    let text: String
    init(_ text: String) { self.text = text }
}

/// String commands: each parses its arguments, calls the session's `StringStore` and writes
/// the reply (WRONGTYPE and storage failures are worded by the engine, `RocksDBHandler.store`).
extension RocksDBSession {
    func get(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        try strings.withValue(args[1]) { value in
            if let value { reply.bulk(value) } else { reply.null() }
        }
    }

    func mget(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        reply.arrayHeader(args.count - 1)
        try strings.withValues(args.dropFirst()) { value in
            if let value { reply.bulk(value) } else { reply.null() }
        }
    }

    func set(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        guard let options = ExpiryOptions(args, from: 3, forSet: true) else { return reply.error(RedisError.syntax) }
        let expireAt: Int64?
        switch options.expireAt(now: WallClock.nowMillis(), command: "set") {
        case .success(let e): expireAt = e
        case .failure(let error): return reply.error(error.text)
        }
        if !options.nx && !options.xx && !options.get && !options.keepTTL {
            strings.setBlind(args[1], args[2], expireAt: expireAt ?? 0)
            return reply.ok()
        }
        let conditions = StringStore.SetConditions(nx: options.nx, xx: options.xx, keepTTL: options.keepTTL, get: options.get)
        let (written, old) = try strings.set(args[1], args[2], expireAt: expireAt, conditions)
        if options.get {
            if let old { reply.bulk(bytes: old) } else { reply.null() }
        } else if written {
            reply.ok()
        } else {
            reply.null()
        }
    }

    func setnx(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        reply.integer(try strings.setIfAbsent(args[1], args[2]) ? 1 : 0)
    }

    func setex(_ args: [ByteBuffer], _ reply: inout ReplyWriter, milliseconds: Bool) throws(StoreError) {
        let name = milliseconds ? "psetex" : "setex"
        guard let raw = args[2].redisInteger else { return reply.error(RedisError.notInteger) }
        if raw <= 0 || (!milliseconds && raw > Int.max / 1000) { return reply.error(RedisError.invalidExpireTime(name)) }
        let expireAt = (milliseconds ? raw : raw * 1000) &+ Int(WallClock.nowMillis())
        if expireAt <= 0 { return reply.error(RedisError.invalidExpireTime(name)) }
        strings.setBlind(args[1], args[3], expireAt: Int64(expireAt))
        reply.ok()
    }

    func getset(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        if let old = try strings.getAndSet(args[1], args[2]) { reply.bulk(bytes: old) } else { reply.null() }
    }

    func getdel(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        if let old = try strings.getAndDelete(args[1]) { reply.bulk(bytes: old) } else { reply.null() }
    }

    func getex(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        guard let options = ExpiryOptions(args, from: 2, forSet: false) else { return reply.error(RedisError.syntax) }
        let value = try strings.getAndExpire(args[1]) { (now: Int64) throws(StoreError) -> StringStore.ExpiryChange in
            switch options.expireAt(now: now, command: "getex") {
            case .success(let expireAt?): return .at(expireAt)
            case .success(nil): return options.persist ? .persist : .keep
            case .failure(let error): throw .invalid(error.text)
            }
        }
        if let value { reply.bulk(bytes: value) } else { reply.null() }
    }

    func mset(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        guard args.count % 2 == 1 else { return reply.error(RedisError.arity("mset")) }
        for i in stride(from: 1, to: args.count, by: 2) { strings.setBlind(args[i], args[i + 1], expireAt: 0) }
        reply.ok()
    }

    func msetnx(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        guard args.count % 2 == 1 else { return reply.error(RedisError.arity("msetnx")) }
        reply.integer(try strings.setAllIfAbsent(args.dropFirst()) ? 1 : 0)
    }

    func append(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        reply.integer(try strings.append(args[1], args[2]))
    }

    func getrange(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        guard var start = args[2].redisInteger, var end = args[3].redisInteger else {
            return reply.error(RedisError.notInteger)
        }
        try strings.withValue(args[1]) { value in
            let length = value?.count ?? 0
            if start < 0 && end < 0 && start > end { return reply.bulk(bytes: EmptyCollection()) }
            if start < 0 { start = length + start }
            if end < 0 { end = length + end }
            if start < 0 { start = 0 }
            if end < 0 { end = 0 }
            if end >= length { end = length - 1 }
            guard let value, start <= end, length > 0 else { return reply.bulk(bytes: EmptyCollection()) }
            reply.bulk(UnsafeRawBufferPointer(rebasing: value[start...end]))
        }
    }

    func setrange(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        guard let offset = args[2].redisInteger else { return reply.error(RedisError.notInteger) }
        if offset < 0 { return reply.error("ERR offset is out of range") }
        reply.integer(try strings.overwrite(args[1], at: offset, with: args[3]))
    }

    func incrby(_ args: [ByteBuffer], _ reply: inout ReplyWriter, negate: Bool) throws(StoreError) {
        guard let amount = args[2].redisInteger else { return reply.error(RedisError.notInteger) }
        if negate && amount == Int.min { return reply.error("ERR decrement would overflow") }
        reply.integer(try strings.increment(args[1], by: negate ? -amount : amount))
    }

    func incrbyfloat(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        let increment = args[2].withUnsafeReadableBytes { LongDouble.parse($0) }
        reply.bulk(bytes: try strings.increment(args[1], byFloat: increment))
    }
}

extension RocksDBSession {
    /// Strings: the RocksDB engine's handlers (the rows are in `Protocol/Commands/`).
    static let stringCommands: [(CommandID, RocksDBHandler)] = [
        (.get, .store { s, a, r throws(StoreError) in try s.get(a, &r) }),
        (.set, .blindWrite { s, a, r throws(StoreError) in try s.set(a, &r) }),
        (.setnx, .store { s, a, r throws(StoreError) in try s.setnx(a, &r) }),
        (.setex, .blindWrite { s, a, r throws(StoreError) in try s.setex(a, &r, milliseconds: false) }),
        (.psetex, .blindWrite { s, a, r throws(StoreError) in try s.setex(a, &r, milliseconds: true) }),
        (.getset, .store { s, a, r throws(StoreError) in try s.getset(a, &r) }),
        (.getdel, .store { s, a, r throws(StoreError) in try s.getdel(a, &r) }),
        (.getex, .store { s, a, r throws(StoreError) in try s.getex(a, &r) }),
        (.mget, .store { s, a, r throws(StoreError) in try s.mget(a, &r) }),
        (.mset, .blindWrite { s, a, r throws(StoreError) in try s.mset(a, &r) }),
        (.msetnx, .store { s, a, r throws(StoreError) in try s.msetnx(a, &r) }),
        (.append, .store { s, a, r throws(StoreError) in try s.append(a, &r) }),
        (.strlen, .store { s, a, r throws(StoreError) in r.integer(try s.strings.length(a[1])) }),
        (.getrange, .store { s, a, r throws(StoreError) in try s.getrange(a, &r) }),
        (.substr, .store { s, a, r throws(StoreError) in try s.getrange(a, &r) }),
        (.setrange, .store { s, a, r throws(StoreError) in try s.setrange(a, &r) }),
        (.lcs, .store { s, a, r throws(StoreError) in try s.lcs(a, &r) }),
        (.incr, .store { s, a, r throws(StoreError) in r.integer(try s.strings.increment(a[1], by: 1)) }),
        (.decr, .store { s, a, r throws(StoreError) in r.integer(try s.strings.increment(a[1], by: -1)) }),
        (.incrby, .store { s, a, r throws(StoreError) in try s.incrby(a, &r, negate: false) }),
        (.decrby, .store { s, a, r throws(StoreError) in try s.incrby(a, &r, negate: true) }),
        (.incrbyfloat, .store { s, a, r throws(StoreError) in try s.incrbyfloat(a, &r) }),
    ]
}
