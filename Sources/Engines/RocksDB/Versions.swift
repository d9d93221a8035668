import NIOCore
import Protocol
import Snapshot

/// Versioned writes (DESIGN.md §5a): every record carries the version of the write that made
/// it (`WriteVersion`, in the metadata's 8-byte version field). In a cluster the coordinator
/// stamps each write and every replica writes that stamp; whole-value writes (SET, SETEX,
/// PSETEX, MSET's parts: merged, `LastWriterWins`; RESTORE, DEL: checked under the key's lock)
/// replace a record only when they are not older than it, so
/// replicas that receive the same writes in different orders, or a hint's state late or
/// twice, end up equal: last writer wins per key. Other writes apply in arrival order.
///
/// A deleted key leaves a tombstone: a string record with no value whose expiry is the
/// negated deletion time. Every read treats it as an expired key (missing); its version stops
/// an older write from resurrecting the key, and the background sweep removes it once
/// `tombstone_grace` has passed.
extension RocksDBStorage {
    /// The version written into the records the current command writes: the coordinator's, or
    /// the key's own when a read-modify-write arrives older than it (arrival order decides what
    /// such a write does; the key's version only ever moves forward), or a fresh one when the
    /// write was not stamped.
    @inline(__always)
    var stamp: UInt64 { version != 0 ? max(version, observedVersion) : engine.clock.next() }

    /// Notes the version of a metadata record read while `tracksVersion` is set.
    @inline(__always)
    func observe(_ record: UnsafeRawBufferPointer) {
        guard record.count >= Metadata.headerSize else { return }
        observedVersion = max(observedVersion, KeyEncoding.readBigEndian(record, at: 10, as: UInt64.self))
    }

    /// Whether the stamped write may not replace `key`'s record (live, expired or a tombstone):
    /// a newer version is stored. Unstamped writes are never superseded.
    ///
    /// An equal version replaces the record: a blind write seen twice writes the same value,
    /// and a state transfer must win over a replica's own record of the same version, which a
    /// read-modify-write (INCR, LPUSH) made on top of a state that had missed earlier writes.
    func isSuperseded(_ key: ByteBuffer) throws(RocksDBError) -> Bool {
        guard version != 0 else { return false }
        encodeKey(key)
        guard let value = try readPinned(.metadata, key: keyScratch),
              let meta = Metadata.decode(value.bytes) else { return false }
        return meta.timestamp > version
    }

    /// After a stamped read-modify-write: the key's record carries at least the write's version,
    /// even when the write changed nothing (SADD of a member already there). Otherwise a replica
    /// that lacked the member would write it with this version while the others kept an older
    /// one, and a state sent later from them would look older than that replica's incomplete
    /// set. Costs one metadata read (usually of the record the command just wrote).
    func raiseVersion(of key: ByteBuffer) {
        let token = encodeKey(key)
        guard failure == nil, let value = try? readPinned(.metadata, key: keyScratch), let meta = Metadata.decode(value.bytes),
              meta.timestamp < version else { return }
        let storedKey = keyScratch
        try? modify(token: token) { () throws(RocksDBError) in
            keyScratch = storedKey
            guard let value = try readPinned(.metadata, key: keyScratch), let meta = Metadata.decode(value.bytes),
                  meta.timestamp < version else { return }
            valueScratch = Metadata.withExpiry(value.bytes, expireAt: meta.expireAt, timestamp: version)
            putInto(immediate, .metadata)
        }
    }

    /// Stages a tombstone for `key` (a stamped delete) into `immediate`.
    func stageTombstone(_ key: ByteBuffer, now: Int64) {
        encodeKey(key)
        Metadata.encodeString(expireAt: -max(now, 1), timestamp: stamp, value: UnsafeRawBufferPointer(start: nil, count: 0),
                              into: &valueScratch)
        putInto(immediate, .metadata)
    }
}

extension RocksDBSession {
    /// DYNAMIS.STATE key [MAXBYTES n [FROM version cursor]]: the key's state for hinted handoff,
    /// read repair and anti-entropy, read at one instant: `[version, expire-at ms (0: none),
    /// DUMP payload]`, the payload null for a tombstone, and version "0" when nothing is stored.
    /// The version is an unsigned decimal (a bulk string: it can exceed a signed 64-bit integer).
    /// With MAXBYTES a collection larger than `n` comes in parts (`StateParts.swift`): the reply
    /// then has a fourth element, the cursor that FROM takes for the next part, and each part's
    /// payload holds some of the elements; FROM is refused once the key's version moved.
    func state(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        func answer(version: UInt64, expireAt: Int64 = 0, payload: [UInt8]? = nil, cursor: [UInt8]? = nil) {
            reply.arrayHeader(cursor == nil ? 3 : 4)
            reply.bulk(String(version))
            reply.integer(Int(expireAt))
            if let payload { reply.bulk(bytes: payload) } else { reply.null() }
            if let cursor { reply.bulk(bytes: cursor) }
        }
        var budget: Int?
        var from: (version: UInt64, cursor: [UInt8])?
        if args.count > 2 {
            guard args.count == 4 || args.count == 7, args[2].isOption("MAXBYTES"), let n = args[3].redisInteger, n > 0 else {
                return reply.error(RedisError.syntax)
            }
            budget = n
            if args.count == 7 {
                guard args[4].isOption("FROM"), let version = UInt64(args[5].text) else { return reply.error(RedisError.syntax) }
                from = (version, Array(args[6].readableBytesView))
            }
        }
        let now = WallClock.nowMillis()
        var meta: Metadata?
        if let value = try storage.readMetadataRecord(args[1]) { meta = Metadata.decode(value.bytes) }
        if let from {
            guard let meta, meta.timestamp == from.version, !meta.isExpired(now: now),
                  let (part, next) = try storage.statePart(args[1], after: from.cursor, budget: budget!, now: now) else {
                return reply.error("ERR Dynomite: the key changed while its state was read in parts")
            }
            return answer(version: meta.timestamp, expireAt: meta.expireAt, payload: DumpPayload.encode(part.rdbValue), cursor: next)
        }
        guard let meta else { return answer(version: 0) }
        // A tombstone, or a key expired everywhere at the same absolute time.
        if meta.isExpired(now: now) { return answer(version: meta.timestamp) }
        if let budget {
            guard let (part, next) = try storage.statePart(args[1], after: nil, budget: budget, now: now) else { return answer(version: 0) }
            return answer(version: meta.timestamp, expireAt: meta.expireAt, payload: DumpPayload.encode(part.rdbValue), cursor: next)
        }
        guard let (stored, _) = try storage.readValue(args[1], now: now) else { return answer(version: 0) }
        answer(version: meta.timestamp, expireAt: meta.expireAt, payload: DumpPayload.encode(stored.rdbValue))
    }
}

extension RocksDBSession {
    /// DYNAMIS.APPLY key version expire-at [payload]: hinted handoff's and read repair's write of
    /// a key's state with the state's own version (unsigned decimal): the DUMP payload with its
    /// absolute expiry (0: none), or a tombstone without a payload. Replies 1 when applied, 0 when
    /// the key holds a newer version (the sender then reads the state again: a newer
    /// read-modify-write on this replica may have been made on top of an older state). The
    /// frame carrying it is stamped when it is sent, like any write, so a state that reaches a
    /// frozen node late is refused like a late write.
    ///
    /// A state read in parts is applied in parts: `… payload PART i` (i from 0) keeps part i
    /// (1, or 0 when a newer version is stored: the sender stops), and `… payload PARTS n`,
    /// the last, applies the n parts joined as one value.
    func apply(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        guard args.count <= 5 || args.count == 7, let stateVersion = UInt64(args[2].text), stateVersion != 0,
              let expireAt = args[3].redisInteger, expireAt >= 0 else { return reply.error(RedisError.syntax) }
        var part: (index: Int, last: Bool)?
        if args.count == 7 {
            guard let n = args[6].redisInteger else { return reply.error(RedisError.syntax) }
            if args[5].isOption("PART"), n >= 0 { part = (n, false) } else if args[5].isOption("PARTS"), n >= 2 { part = (n, true) } else {
                return reply.error(RedisError.syntax)
            }
        }
        var decoded: RDBValue?
        if args.count >= 5 {
            switch args[4].withUnsafeReadableBytes({ raw in Result { () throws(DumpPayload.Failure) in try DumpPayload.decode(raw) } }) {
            case .success(let value): decoded = value
            case .failure: return reply.error("ERR DUMP payload version or checksum are wrong")
            }
            if RDBObjectDecoder.validate(decoded!) != nil { return reply.error("ERR Bad data format") }
        }
        // The records written carry the state's version, not the frame's.
        let stamped = version
        version = stateVersion
        defer { version = stamped }
        let keyBytes = Array(args[1].readableBytesView)
        var value = decoded.map(StoredValue.init)
        if let part, let piece = value {
            if !part.last {
                if try storage.isSuperseded(args[1]) {
                    engine.stagedStates.drop(key: keyBytes)
                    return reply.integer(0)
                }
                do {
                    try engine.stagedStates.add(key: keyBytes, version: stateVersion, index: part.index, part: piece,
                                                bytes: args[4].readableBytes, now: WallClock.nowMillis())
                } catch .full {
                    return reply.error("ERR Dynomite: too many state parts held; retry later")
                } catch {
                    return reply.error("ERR Dynomite: a part of this state is missing; send it again from the first part")
                }
                return reply.integer(1)
            }
            guard let earlier = engine.stagedStates.take(key: keyBytes, version: stateVersion, count: part.index - 1),
                  let whole = StoredValue.joined(earlier + [piece]) else {
                return reply.error("ERR Dynomite: a part of this state is missing; send it again from the first part")
            }
            value = whole
        } else if part != nil {
            return reply.error(RedisError.syntax)  // a tombstone is never sent in parts
        }
        let token = args[1].withUnsafeReadableBytes { engine.keyToken($0) }
        try storage.modify(token: token) { () throws(RocksDBError) in
            let now = WallClock.nowMillis()
            if try storage.isSuperseded(args[1]) { return reply.integer(0) }
            if let value, expireAt == 0 || Int64(expireAt) > now {
                storage.stageValue(value, expireAt: Int64(expireAt), at: args[1])
            } else {
                // A tombstone (or a state that expired on its way): the version is kept.
                storage.stageTombstone(args[1], now: now)
            }
            reply.integer(1)
        }
    }
}

extension Metadata {
    /// A deleted key's tombstone (its expiry is the negated deletion time).
    var isTombstone: Bool { expireAt < 0 }

    /// Whether the background sweep may remove the record: an expired key at once, a
    /// tombstone once `grace` ms have passed since the deletion.
    func isCollectable(now: Int64, grace: Int64) -> Bool {
        guard isExpired(now: now) else { return false }
        return !isTombstone || -expireAt + grace <= now
    }
}

extension RocksDBSession {
    /// Node-to-node state transfer and digests: the RocksDB engine's handlers (the rows are in `Protocol/Commands/`).
    static let nodeCommands: [(CommandID, RocksDBHandler)] = [
        (.dynamisState, .run { s, a, r throws(RocksDBError) in try s.state(a, &r) }),
        (.dynamisApply, .run { s, a, r throws(RocksDBError) in try s.apply(a, &r) }),
        (.dynamisDigest, .run { s, a, r throws(RocksDBError) in s.digest(a, &r) }),
        (.dynamisKeyVersions, .run { s, a, r throws(RocksDBError) in s.keyVersions(a, &r) }),
    ]
}
