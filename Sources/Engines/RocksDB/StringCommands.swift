import NIOCore
import Protocol

/// Redis's 512 MB string limit (proto-max-bulk-len).
let maxStringLength = 512 * 1024 * 1024

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

extension RocksDBSession {
    func get(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        encodeKey(args[1])
        guard let value = try readPinned(.metadata, key: keyScratch),
              let meta = Metadata.decode(value.bytes), !meta.isExpired(now: WallClock.nowMillis())
        else { return reply.null() }
        guard meta.type == .string else { return reply.error(RedisError.wrongType) }
        if meta.fragmented { return reply.bulk(bytes: try wholeString(meta, record: Array(value.bytes)).stringValue) }
        reply.bulk(UnsafeRawBufferPointer(rebasing: value.bytes[Metadata.headerSize...]))
    }

    func mget(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        let now = WallClock.nowMillis()
        if args.count > 2, transaction == nil {
            // One consistent view: an MSET or a transaction is seen whole or not at all.
            var keys: [UInt8] = []
            var ends: [Int] = []
            ends.reserveCapacity(args.count - 1)
            for key in args.dropFirst() {
                encodeKey(key)
                keys += keyScratch
                ends.append(keys.count)
            }
            reply.arrayHeader(args.count - 1)
            try db.multiGet(.metadata, keys: keys, ends: ends) { index, value in
                if let value, let meta = Metadata.decode(value), !meta.isExpired(now: now), meta.type == .string {
                    if meta.fragmented {
                        keyScratch = Array(keys[(index == 0 ? 0 : ends[index - 1])..<ends[index]])
                        do throws(RocksDBError) {
                            return reply.bulk(bytes: try wholeString(meta, record: Array(value)).stringValue)
                        } catch {
                            return reply.error("ERR Storage: \(error.message)")
                        }
                    }
                    reply.bulk(UnsafeRawBufferPointer(rebasing: value[Metadata.headerSize...]))
                } else {
                    reply.null()
                }
            }
            return
        }
        reply.arrayHeader(args.count - 1)
        for key in args.dropFirst() {
            encodeKey(key)
            if let value = try readPinned(.metadata, key: keyScratch),
               let meta = Metadata.decode(value.bytes), !meta.isExpired(now: now), meta.type == .string {
                if meta.fragmented {
                    reply.bulk(bytes: try wholeString(meta, record: Array(value.bytes)).stringValue)
                    continue
                }
                reply.bulk(UnsafeRawBufferPointer(rebasing: value.bytes[Metadata.headerSize...]))
            } else {
                reply.null()
            }
        }
    }

    func set(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        guard let options = ExpiryOptions(args, from: 3, forSet: true) else { return reply.error(RedisError.syntax) }
        let now = WallClock.nowMillis()
        let expireAt: Int64?
        switch options.expireAt(now: now, command: "set") {
        case .success(let e): expireAt = e
        case .failure(let error): return reply.error(error.text)
        }
        let token = encodeKey(args[1])
        if !options.nx && !options.xx && !options.get && !options.keepTTL {
            // A blind write: grouped with the burst's other writes.
            groupStringWrite(token: token, value: args[2], expireAt: expireAt ?? 0)
            return reply.ok()
        }
        try modify(token: token) { () throws(RocksDBError) in
            let old = try readRecord(now: now)
            if options.get, let old, old.meta.type != .string { return reply.error(RedisError.wrongType) }
            if options.get {
                if let old { reply.bulk(bytes: old.stringValue) } else { reply.null() }
            }
            if (options.nx && old != nil) || (options.xx && old == nil) {
                if !options.get { reply.null() }
                return
            }
            let keep = options.keepTTL ? (old?.meta.expireAt ?? 0) : 0
            args[2].withUnsafeReadableBytes { stageString($0, expireAt: expireAt ?? keep) }
            if !options.get { reply.ok() }
        }
    }

    func setnx(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        let token = encodeKey(args[1])
        try modify(token: token) { () throws(RocksDBError) in
            if try readMeta(now: WallClock.nowMillis()) != nil { return reply.integer(0) }
            args[2].withUnsafeReadableBytes { stageString($0, expireAt: 0) }
            reply.integer(1)
        }
    }

    func setex(_ args: [ByteBuffer], _ reply: inout ReplyWriter, milliseconds: Bool) throws(RocksDBError) {
        let name = milliseconds ? "psetex" : "setex"
        guard let raw = args[2].redisInteger else { return reply.error(RedisError.notInteger) }
        if raw <= 0 || (!milliseconds && raw > Int.max / 1000) { return reply.error(RedisError.invalidExpireTime(name)) }
        let expireAt = (milliseconds ? raw : raw * 1000) &+ Int(WallClock.nowMillis())
        if expireAt <= 0 { return reply.error(RedisError.invalidExpireTime(name)) }
        let token = encodeKey(args[1])
        groupStringWrite(token: token, value: args[3], expireAt: Int64(expireAt))
        reply.ok()
    }

    func getset(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        let token = encodeKey(args[1])
        try modify(token: token) { () throws(RocksDBError) in
            let old = try readRecord(now: WallClock.nowMillis())
            if let old, old.meta.type != .string { return reply.error(RedisError.wrongType) }
            args[2].withUnsafeReadableBytes { stageString($0, expireAt: 0) }
            if let old { reply.bulk(bytes: old.stringValue) } else { reply.null() }
        }
    }

    func getdel(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        let token = encodeKey(args[1])
        try modify(token: token) { () throws(RocksDBError) in
            guard let old = try readRecord(now: WallClock.nowMillis()) else { return reply.null() }
            guard old.meta.type == .string else { return reply.error(RedisError.wrongType) }
            stageDelete()
            reply.bulk(bytes: old.stringValue)
        }
    }

    func getex(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        guard let options = ExpiryOptions(args, from: 2, forSet: false) else { return reply.error(RedisError.syntax) }
        let token = encodeKey(args[1])
        try modify(token: token) { () throws(RocksDBError) in
            let now = WallClock.nowMillis()
            guard let old = try readRecord(now: now) else { return reply.null() }
            guard old.meta.type == .string else { return reply.error(RedisError.wrongType) }
            let expireAt: Int64?
            switch options.expireAt(now: now, command: "getex") {
            case .success(let e): expireAt = e
            case .failure(let error): return reply.error(error.text)
            }
            reply.bulk(bytes: old.stringValue)
            if let expireAt {
                if expireAt <= now {
                    stageDelete()
                } else {
                    old.stringValue.withUnsafeBytes { stageString($0, expireAt: expireAt) }
                }
            } else if options.persist, old.meta.expireAt != 0 {
                old.stringValue.withUnsafeBytes { stageString($0, expireAt: 0) }
            }
        }
    }

    func mset(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        guard args.count % 2 == 1 else { return reply.error(RedisError.arity("mset")) }
        for i in stride(from: 1, to: args.count, by: 2) {
            let token = encodeKey(args[i])
            groupStringWrite(token: token, value: args[i + 1], expireAt: 0)
        }
        reply.ok()
    }

    func msetnx(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        guard args.count % 2 == 1 else { return reply.error(RedisError.arity("msetnx")) }
        var stripes: [Int] = []
        for i in stride(from: 1, to: args.count, by: 2) {
            stripes.append(KeyLocks.stripe(of: args[i].withUnsafeReadableBytes { engine.keyToken($0) }))
        }
        try modify(stripes: stripes) { () throws(RocksDBError) in
            let now = WallClock.nowMillis()
            for i in stride(from: 1, to: args.count, by: 2) {
                encodeKey(args[i])
                if try readMeta(now: now) != nil { return reply.integer(0) }
            }
            for i in stride(from: 1, to: args.count, by: 2) {
                encodeKey(args[i])
                args[i + 1].withUnsafeReadableBytes { stageString($0, expireAt: 0) }
            }
            reply.integer(1)
        }
    }

    func append(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        let token = encodeKey(args[1])
        try modify(token: token) { () throws(RocksDBError) in
            let old = try readRecord(now: WallClock.nowMillis())
            if let old, old.meta.type != .string { return reply.error(RedisError.wrongType) }
            var value = Array(old?.stringValue ?? [])
            if value.count + args[2].readableBytes > maxStringLength { return reply.error(RedisError.stringTooLong) }
            value.append(contentsOf: args[2].readableBytesView)
            value.withUnsafeBytes { stageString($0, expireAt: old?.meta.expireAt ?? 0) }
            reply.integer(value.count)
        }
    }

    func strlen(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        encodeKey(args[1])
        guard let value = try readPinned(.metadata, key: keyScratch),
              let meta = Metadata.decode(value.bytes), !meta.isExpired(now: WallClock.nowMillis())
        else { return reply.integer(0) }
        guard meta.type == .string else { return reply.error(RedisError.wrongType) }
        if meta.fragmented { return reply.integer(Metadata.collection(Array(value.bytes)).map { Int($0.count) } ?? 0) }
        reply.integer(value.bytes.count - Metadata.headerSize)
    }

    func getrange(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        guard var start = args[2].redisInteger, var end = args[3].redisInteger else {
            return reply.error(RedisError.notInteger)
        }
        encodeKey(args[1])
        guard let record = try readRecord(now: WallClock.nowMillis()) else { return reply.bulk(bytes: EmptyCollection()) }
        guard record.meta.type == .string else { return reply.error(RedisError.wrongType) }
        let value = record.stringValue
        let length = value.count
        if start < 0 && end < 0 && start > end { return reply.bulk(bytes: EmptyCollection()) }
        if start < 0 { start = length + start }
        if end < 0 { end = length + end }
        if start < 0 { start = 0 }
        if end < 0 { end = 0 }
        if end >= length { end = length - 1 }
        if start > end || length == 0 { return reply.bulk(bytes: EmptyCollection()) }
        let base = value.startIndex
        reply.bulk(bytes: value[(base + start)...(base + end)])
    }

    func setrange(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        guard let offset = args[2].redisInteger else { return reply.error(RedisError.notInteger) }
        if offset < 0 { return reply.error("ERR offset is out of range") }
        let patch = args[3]
        let token = encodeKey(args[1])
        try modify(token: token) { () throws(RocksDBError) in
            let old = try readRecord(now: WallClock.nowMillis())
            if let old, old.meta.type != .string { return reply.error(RedisError.wrongType) }
            let oldLength = old?.stringValue.count ?? 0
            if patch.readableBytes == 0 { return reply.integer(oldLength) }
            if offset > maxStringLength - patch.readableBytes { return reply.error(RedisError.stringTooLong) }
            var value = Array(old?.stringValue ?? [])
            let needed = offset + patch.readableBytes
            if value.count < needed { value.append(contentsOf: repeatElement(0, count: needed - value.count)) }
            value.replaceSubrange(offset..<needed, with: patch.readableBytesView)
            value.withUnsafeBytes { stageString($0, expireAt: old?.meta.expireAt ?? 0) }
            reply.integer(value.count)
        }
    }

    func incrby(_ args: [ByteBuffer], _ reply: inout ReplyWriter, negate: Bool) throws(RocksDBError) {
        guard let amount = args[2].redisInteger else { return reply.error(RedisError.notInteger) }
        if negate && amount == Int.min { return reply.error("ERR decrement would overflow") }
        try incrBy(args[1], negate ? -amount : amount, &reply)
    }

    func incrBy(_ key: ByteBuffer, _ amount: Int, _ reply: inout ReplyWriter) throws(RocksDBError) {
        let token = encodeKey(key)
        try modify(token: token) { () throws(RocksDBError) in
            let old = try readRecord(now: WallClock.nowMillis())
            var current = 0
            if let old {
                guard old.meta.type == .string else { return reply.error(RedisError.wrongType) }
                guard let parsed = old.stringValue.withUnsafeBytes({ RedisInteger.parse($0) }) else {
                    return reply.error(RedisError.notInteger)
                }
                current = parsed
            }
            let (sum, overflow) = current.addingReportingOverflow(amount)
            if overflow { return reply.error(RedisError.overflow) }
            DecimalText.with(sum) { stageString($0, expireAt: old?.meta.expireAt ?? 0) }
            reply.integer(sum)
        }
    }

    func incrbyfloat(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        let token = encodeKey(args[1])
        try modify(token: token) { () throws(RocksDBError) in
            let old = try readRecord(now: WallClock.nowMillis())
            var current: Float80 = 0
            if let old {
                guard old.meta.type == .string else { return reply.error(RedisError.wrongType) }
                guard let parsed = old.stringValue.withUnsafeBytes({ LongDouble.parse($0) }) else {
                    return reply.error(RedisError.notFloat)
                }
                current = parsed
            }
            guard let increment = args[2].withUnsafeReadableBytes({ LongDouble.parse($0) }) else {
                return reply.error(RedisError.notFloat)
            }
            let sum = current + increment
            if sum.isNaN || sum.isInfinite { return reply.error("ERR increment would produce NaN or Infinity") }
            let text = LongDouble.humanString(sum)
            text.withUnsafeBytes { stageString($0, expireAt: old?.meta.expireAt ?? 0) }
            reply.bulk(bytes: text)
        }
    }
}

extension RocksDBSession {
    /// Strings: the RocksDB engine's handlers (the rows are in `Protocol/Commands/`).
    static let stringCommands: [(CommandID, RocksDBHandler)] = [
        (.get, .run { s, a, r throws(RocksDBError) in try s.get(a, &r) }),
        (.set, .blindWrite { s, a, r throws(RocksDBError) in try s.set(a, &r) }),
        (.setnx, .run { s, a, r throws(RocksDBError) in try s.setnx(a, &r) }),
        (.setex, .blindWrite { s, a, r throws(RocksDBError) in try s.setex(a, &r, milliseconds: false) }),
        (.psetex, .blindWrite { s, a, r throws(RocksDBError) in try s.setex(a, &r, milliseconds: true) }),
        (.getset, .run { s, a, r throws(RocksDBError) in try s.getset(a, &r) }),
        (.getdel, .run { s, a, r throws(RocksDBError) in try s.getdel(a, &r) }),
        (.getex, .run { s, a, r throws(RocksDBError) in try s.getex(a, &r) }),
        (.mget, .run { s, a, r throws(RocksDBError) in try s.mget(a, &r) }),
        (.mset, .blindWrite { s, a, r throws(RocksDBError) in try s.mset(a, &r) }),
        (.msetnx, .run { s, a, r throws(RocksDBError) in try s.msetnx(a, &r) }),
        (.append, .run { s, a, r throws(RocksDBError) in try s.append(a, &r) }),
        (.strlen, .run { s, a, r throws(RocksDBError) in try s.strlen(a, &r) }),
        (.getrange, .run { s, a, r throws(RocksDBError) in try s.getrange(a, &r) }),
        (.substr, .run { s, a, r throws(RocksDBError) in try s.getrange(a, &r) }),
        (.setrange, .run { s, a, r throws(RocksDBError) in try s.setrange(a, &r) }),
        (.lcs, .run { s, a, r throws(RocksDBError) in try s.lcs(a, &r) }),
        (.incr, .run { s, a, r throws(RocksDBError) in try s.incrBy(a[1], 1, &r) }),
        (.decr, .run { s, a, r throws(RocksDBError) in try s.incrBy(a[1], -1, &r) }),
        (.incrby, .run { s, a, r throws(RocksDBError) in try s.incrby(a, &r, negate: false) }),
        (.decrby, .run { s, a, r throws(RocksDBError) in try s.incrby(a, &r, negate: true) }),
        (.incrbyfloat, .run { s, a, r throws(RocksDBError) in try s.incrbyfloat(a, &r) }),
    ]
}
