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
extension RocksDBSession {
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

    /// Whether the stamped write may not replace the record at `keyScratch` (live, expired or a
    /// tombstone): a newer version is stored. Unstamped writes are never superseded.
    ///
    /// An equal version replaces the record: a blind write seen twice writes the same value,
    /// and a state transfer must win over a replica's own record of the same version, which a
    /// read-modify-write (INCR, LPUSH) made on top of a state that had missed earlier writes.
    func isSuperseded() throws(RocksDBError) -> Bool {
        guard version != 0, let value = try readPinned(.metadata, key: keyScratch),
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

    /// Stages a tombstone for the key in `keyScratch` into `immediate`.
    func stageTombstone(now: Int64) {
        Metadata.encodeString(expireAt: -max(now, 1), timestamp: stamp, value: UnsafeRawBufferPointer(start: nil, count: 0),
                              into: &valueScratch)
        putInto(immediate, .metadata)
    }

    /// DYNAMIS.STATE key: the key's whole state for hinted handoff and read repair, read at one
    /// instant: `[version, expire-at ms (0: none), DUMP payload]`, the payload null for a
    /// tombstone, and version "0" when nothing is stored. The version is an unsigned decimal
    /// (a bulk string: it can exceed a signed 64-bit integer).
    func state(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        func answer(version: UInt64, expireAt: Int64 = 0, payload: [UInt8]? = nil) {
            reply.arrayHeader(3)
            reply.bulk(String(version))
            reply.integer(Int(expireAt))
            if let payload { reply.bulk(bytes: payload) } else { reply.null() }
        }
        encodeKey(args[1])
        let now = WallClock.nowMillis()
        guard let value = try readPinned(.metadata, key: keyScratch), let meta = Metadata.decode(value.bytes) else {
            return answer(version: 0)
        }
        // A tombstone, or a key expired everywhere at the same absolute time.
        if meta.isExpired(now: now) { return answer(version: meta.timestamp) }
        guard let (stored, _) = try readValue(args[1], now: now) else { return answer(version: 0) }
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
    func apply(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(RocksDBError) {
        guard args.count <= 5, let stateVersion = UInt64(args[2].text), stateVersion != 0,
              let expireAt = args[3].redisInteger, expireAt >= 0 else { return reply.error(RedisError.syntax) }
        var decoded: RDBValue?
        if args.count == 5 {
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
        let token = args[1].withUnsafeReadableBytes { engine.keyToken($0) }
        try modify(token: token) { () throws(RocksDBError) in
            let now = WallClock.nowMillis()
            encodeKey(args[1])
            if try isSuperseded() { return reply.integer(0) }
            if let decoded, expireAt == 0 || Int64(expireAt) > now {
                stageValue(StoredValue(decoded), expireAt: Int64(expireAt), at: args[1])
            } else {
                // A tombstone (or a state that expired on its way): the version is kept.
                stageTombstone(now: now)
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
