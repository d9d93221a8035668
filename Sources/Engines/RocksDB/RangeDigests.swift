import NIOCore
import Protocol

/// Anti-entropy's reads of this node's copy of a token range (DESIGN.md §5c).
///
/// Digests are computed by a scan, not kept up to date in each write's batch: a cluster's blind
/// SET is a RocksDB merge that never reads the record it replaces (`LastWriterWins`), so an
/// incremental digest (remove the old key's hash, add the new) would need the read per SET that
/// the merge operator was built to avoid. The scan reads only the metadata family, in token
/// order, a bounded range per request.
extension RocksDBSession {
    /// At most this many segments per DYNAMIS.DIGEST: one request's scan stays short on the loop.
    static let maxDigestSegments = 1024
    /// At most this many keys per DYNAMIS.KEYVERSIONS page.
    static let keyVersionsPage = 512

    /// Visits each key in `first...last` that anti-entropy compares: live keys and tombstones
    /// not yet collectable (a replica missing a delete must get it); keys expired by their
    /// absolute expiry are skipped, as every replica expires them at the same instant.
    private func walkRange(_ first: UInt32, _ last: UInt32, after: [UInt8]? = nil,
                           _ visit: (_ storedKey: [UInt8], _ record: UnsafeRawBufferPointer, _ meta: Metadata) -> Bool) {
        let iterator = RocksIterator(storage.db, .metadata, scan: true, through: storage.transaction)
        if let after {
            iterator.seek(after)
            if iterator.isValid, iterator.keyEquals(after) { iterator.next() }
        } else {
            var start: [UInt8] = []
            KeyEncoding.appendBigEndian(first, to: &start)
            iterator.seek(start)
        }
        let now = WallClock.nowMillis()
        let grace = engine.tombstoneGrace
        while iterator.isValid {
            let stored = iterator.key
            guard let (token, _) = KeyEncoding.splitMetadataKey(stored) else { iterator.next(); continue }
            if token > last { return }
            let record = iterator.value
            if let meta = Metadata.decode(record), !(meta.isExpired(now: now) && (!meta.isTombstone || meta.isCollectable(now: now, grace: grace))) {
                if !visit(stored, record, meta) { return }
            }
            iterator.next()
        }
    }

    /// A key's contribution to its segment's digest: its stored key, version, expiry, type, and
    /// its content where the record holds it (a string's bytes; a collection's element count:
    /// a collection's generation is local to each replica, so it is left out).
    private static func entryHash(_ stored: [UInt8], _ record: UnsafeRawBufferPointer, _ meta: Metadata) -> UInt64 {
        var h = stored.withUnsafeBytes { TokenSegments.hash($0) }
        if meta.isTombstone {
            // A tombstone's expiry is its local deletion time, which differs between replicas
            // that applied the same delete: only its version counts.
            return TokenSegments.finish(TokenSegments.hash(UnsafeRawBufferPointer(rebasing: record[10..<18]), h ^ 1))
        }
        // Type, expiry and version: record bytes 1..<18.
        h = TokenSegments.hash(UnsafeRawBufferPointer(rebasing: record[1..<Metadata.headerSize]), h)
        if meta.type == .string, !meta.fragmented {
            h = TokenSegments.hash(UnsafeRawBufferPointer(rebasing: record[Metadata.headerSize...]), h)
        } else if record.count >= Metadata.collectionSize {
            h = TokenSegments.hash(UnsafeRawBufferPointer(rebasing: record[(Metadata.headerSize + 8)..<Metadata.collectionSize]), h)
        }
        return TokenSegments.finish(h)
    }

    private static func tokenRange(_ args: [ByteBuffer]) -> (UInt32, UInt32)? {
        guard let first = UInt32(args[1].text), let last = UInt32(args[2].text), first <= last else { return nil }
        return (first, last)
    }

    /// DYNAMIS.DIGEST first-token last-token [bits]: `[digests, keys]`: one 8-byte big-endian
    /// digest per bucket from `first`'s to `last`'s (the XOR of its keys' entry hashes, over the
    /// keys inside the range only), and how many keys were read. A bucket is the tokens sharing
    /// their top `bits` bits: 14 (the default) makes buckets the fixed segments; a larger value
    /// splits a differing segment into smaller buckets, so only their keys are listed.
    func digest(_ args: [ByteBuffer], _ reply: inout ReplyWriter) {
        guard args.count <= 4, let (first, last) = Self.tokenRange(args) else {
            return reply.error("ERR DYNAMIS.DIGEST needs first <= last tokens and optional bucket bits")
        }
        let bits = args.count == 4 ? Int(args[3].text) ?? 0 : TokenSegments.bits
        guard (TokenSegments.bits...32).contains(bits) else {
            return reply.error("ERR DYNAMIS.DIGEST bucket bits must be from \(TokenSegments.bits) to 32")
        }
        let shift = UInt32(32 - bits)
        let base = Int(first >> shift)
        let count = Int(last >> shift) - base + 1
        guard count <= Self.maxDigestSegments else {
            return reply.error("ERR DYNAMIS.DIGEST spans at most \(Self.maxDigestSegments) buckets a request")
        }
        var digests = [UInt64](repeating: 0, count: count)
        var keys = 0
        walkRange(first, last) { stored, record, meta in
            let token = stored.withUnsafeBytes { KeyEncoding.readBigEndian($0, at: 0, as: UInt32.self) }
            digests[Int(token >> shift) - base] ^= Self.entryHash(stored, record, meta)
            keys += 1
            return true
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digests.count * 8)
        for d in digests { KeyEncoding.appendBigEndian(d, to: &bytes) }
        reply.arrayHeader(2)
        reply.bulk(bytes: bytes)
        reply.integer(keys)
    }

    /// DYNAMIS.KEYVERSIONS first-token last-token [after]: one page of the range's keys:
    /// `[cursor, key, version, key, version, ...]`, versions as unsigned decimals, the cursor
    /// (a stored key to pass as `after`) null on the last page.
    func keyVersions(_ args: [ByteBuffer], _ reply: inout ReplyWriter) {
        guard args.count <= 4, let (first, last) = Self.tokenRange(args) else {
            return reply.error("ERR DYNAMIS.KEYVERSIONS needs first <= last tokens and an optional cursor")
        }
        var found: [([UInt8], UInt64)] = []
        var cursor: [UInt8]?
        var lastStored: [UInt8] = []
        walkRange(first, last, after: args.count == 4 ? args[3].bytes : nil) { stored, _, meta in
            guard found.count < Self.keyVersionsPage else {
                cursor = lastStored
                return false
            }
            lastStored = stored
            found.append((Array(stored[4...]), meta.timestamp))
            return true
        }
        reply.arrayHeader(1 + 2 * found.count)
        if let cursor { reply.bulk(bytes: cursor) } else { reply.null() }
        for (key, version) in found {
            reply.bulk(bytes: key)
            reply.bulk(String(version))
        }
    }
}
