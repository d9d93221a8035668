/// Whole token ranges of this node's copy, for membership changes (DESIGN.md §5b): what a node
/// holds inside and outside the ranges it owns, and dropping the ranges it no longer owns.
/// Every stored key starts with its token, so a token range is one key range in every family.
extension RocksDBEngine {
    /// Live keys (not tombstones, not expired) whose token is inside `owned`, and outside it.
    public func keyCounts(owned: [ClosedRange<UInt32>]) -> (owned: Int, foreign: Int) {
        let iterator = RocksIterator(database, .metadata, scan: true)
        iterator.seekToFirst()
        let now = WallClock.nowMillis()
        var inside = 0
        var outside = 0
        while iterator.isValid {
            if let (token, _) = KeyEncoding.splitMetadataKey(iterator.key), let meta = Metadata.decode(iterator.value),
               !meta.isTombstone, !meta.isExpired(now: now) {
                if owned.contains(where: { $0.contains(token) }) { inside += 1 } else { outside += 1 }
            }
            iterator.next()
        }
        return (inside, outside)
    }

    /// Deletes every record whose token is in `ranges`, in every family (one range tombstone
    /// per range and family; the space returns in compaction). A key's records all carry its
    /// token, so nothing of a dropped key is left behind.
    public func dropTokenRanges(_ ranges: [ClosedRange<UInt32>]) throws(EngineError) {
        for range in ranges {
            var start: [UInt8] = []
            KeyEncoding.appendBigEndian(range.lowerBound, to: &start)
            for family in [ColumnFamily.metadata, .subkeys, .zscore, .setslots] {
                var end: [UInt8] = []
                if range.upperBound == UInt32.max {
                    // No key bound above every key of the last token: the family's last key + 1.
                    let iterator = RocksIterator(database, family, scan: true)
                    iterator.seekToLast()
                    guard iterator.isValid else { continue }
                    end = iterator.key
                    end.append(0)
                } else {
                    KeyEncoding.appendBigEndian(range.upperBound + 1, to: &end)
                }
                guard end.lexicographicallyPrecedes(start) == false, end != start else { continue }
                do {
                    try database.deleteRange(family, from: start, to: end)
                } catch {
                    throw EngineError("dropping tokens \(range.lowerBound)-\(range.upperBound) failed: \(error.message)")
                }
            }
        }
    }
}
