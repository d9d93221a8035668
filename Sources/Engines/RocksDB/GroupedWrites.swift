import CRocksDB
import NIOCore
import Protocol

/// Grouped read-modify-writes: a loop pass's single-key read-modify-write commands share one
/// WriteBatchWithIndex and one RocksDB write, as plain SETs share theirs.
///
/// While the group is open it is the storage's `transaction`, so the commands read through it
/// and see each other's writes (eight LPUSHes to one list in a pass read the list's metadata
/// once from RocksDB and seven times from the batch). Each command's stripes are taken with a
/// try-lock and held until the commit, so no other loop can read a key between a grouped
/// write and its commit. When a stripe is busy the group is committed first, releasing
/// everything, and only then is the stripe waited for: a loop never waits while holding.
/// Replies wait for the commit like those of grouped SETs (`hasPendingWrites`).
///
/// Metadata records are combined: while the group is open they live in `groupMetadata`, read
/// there first and overwritten in place, and go into the batch once, at the commit. A pass of
/// pushes to one hot list (or HSETs to one hash, INCRs of one counter) then costs RocksDB one
/// metadata insert instead of one per command. Only grouped commands run while a group is open
/// (everything else commits it first), and they read metadata by key, never by iterator.
extension RocksDBStorage {
    /// Runs `body` inside the pass's group, holding `stripes` until the group commits.
    func modifyInGroup<R>(stripes: [Int], _ body: () throws(RocksDBError) -> R) throws(RocksDBError) -> R {
        if !groupOpen {
            try commitPending()  // blind writes first: they were read by nothing in the group
            openGroup()
        }
        try hold(stripes)
        do {
            return try body()
        } catch {
            // Part of the command may be staged: the whole pass fails rather than commit half.
            abandonGroup()
            failure = "ERR Storage: \(error.message)"
            throw error
        }
    }

    private func openGroup() {
        groupOpen = true
        transaction = group
        // A group must never outlive its pass; the loop session's `endOfBurst` normally comes first.
        let session = NIOLoopBound(self, eventLoop: eventLoop)
        eventLoop.execute {
            do { try session.value.commitGroup() } catch {}
        }
    }

    private func hold(_ stripes: [Int]) throws(RocksDBError) {
        var busy = false
        for s in stripes where !holds[s] {
            if engine.locks.tryLock(s) {
                holds[s] = true
                heldStripes.append(s)
            } else {
                busy = true
            }
        }
        guard busy else { return }
        try commitGroup()
        for s in Set(stripes).sorted() {
            engine.locks.lock(s)
            holds[s] = true
            heldStripes.append(s)
        }
        openGroup()
    }

    /// Writes the open group and releases its stripes.
    func commitGroup() throws(RocksDBError) {
        guard groupOpen else { return }
        groupOpen = false
        transaction = nil
        defer {
            group.clear()
            releaseStripes()
        }
        writeGroupMetadata()
        guard !group.isEmpty else { return }
        do {
            try db.write(group)
            walDirty = true
        } catch {
            failure = "ERR Storage: \(error.message)"
            throw error
        }
    }

    /// Moves the combined metadata records into the group's batch.
    private func writeGroupMetadata() {
        guard !groupMetadata.isEmpty else { return }
        for (key, value) in groupMetadata {
            key.bytes.withUnsafeBytes { k in
                if let value {
                    value.withUnsafeBytes { v in group.put(.metadata, k, v) }
                } else {
                    group.delete(.metadata, k)
                }
            }
        }
        groupMetadata.removeAll(keepingCapacity: true)
    }

    private func abandonGroup() {
        groupOpen = false
        transaction = nil
        groupMetadata.removeAll(keepingCapacity: true)
        group.clear()
        releaseStripes()
    }

    func releaseStripes() {
        for s in heldStripes.reversed() {
            holds[s] = false
            engine.locks.unlock(s)
        }
        heldStripes.removeAll(keepingCapacity: true)
    }
}

/// An encoded key as a dictionary key, hashed as one block of bytes: `[UInt8]`'s own hashing
/// feeds the hasher one byte at a time (3% of a pipelined LPUSH's CPU).
struct StoredKey: Hashable {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}
