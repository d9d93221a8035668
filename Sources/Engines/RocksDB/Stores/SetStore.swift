import NIOCore

/// Sets over the storage layer: members in, members out, no reply code. One `subkeys` record
/// per member, as for hash fields, empty or holding the member's slot when the set has a slot
/// index (`SetSlotIndex.swift`). Writes hold their keys' lock stripes; refusals are thrown
/// before anything is staged. `SetCommands.swift` parses arguments, calls this and writes the
/// replies.
struct SetStore {
    /// The loop's storage layer (`RocksDBStorage`: batches, group commit, locks, encoding).
    /// Unowned and unchecked: a store is made for one call on its storage (`storage.hashes`)
    /// and never outlives it, so the hot path pays no reference counting for it.
    unowned(unsafe) let storage: RocksDBStorage

    enum Operation { case inter, union, diff }

    /// Every member, in member byte order; empty when the set is missing.
    func members(_ key: ByteBuffer) throws(StoreError) -> [[UInt8]] {
        guard let (_, generation, _, _) = try find(key) else { return [] }
        return storage.elements(key, generation: generation).map(\.field)
    }

    /// Whether `member` is in the set.
    func contains(_ key: ByteBuffer, member: ByteBuffer) throws(StoreError) -> Bool {
        guard let (_, generation, _, _) = try find(key) else { return false }
        return try storage.storing { () throws(RocksDBError) in try storage.readElement(key, generation: generation, field: member) != nil }
    }

    /// Whether each of `members` is in the set.
    func contains(_ key: ByteBuffer, members: ArraySlice<ByteBuffer>) throws(StoreError) -> [Bool] {
        guard let (_, generation, _, _) = try find(key) else { return Array(repeating: false, count: members.count) }
        return try storage.storing { () throws(RocksDBError) in
            var present: [Bool] = []
            present.reserveCapacity(members.count)
            for member in members { present.append(try storage.readElement(key, generation: generation, field: member) != nil) }
            return present
        }
    }

    /// The number of members (0 when missing): the count kept in the metadata, O(1).
    func count(_ key: ByteBuffer) throws(StoreError) -> Int {
        guard let (_, _, count, _) = try find(key) else { return 0 }
        return Int(count)
    }

    /// Adds `members`, creating the set if needed; returns how many were new.
    @discardableResult
    func add(_ key: ByteBuffer, members: ArraySlice<ByteBuffer>) throws(StoreError) -> Int {
        try storage.modifying(key) { () throws(StoreError) in
            var set: RocksDBStorage.SetSlots, expireAt: Int64 = 0
            if let (meta, generation, count, stored) = try find(key) {
                (set, expireAt) = (storage.foundSet(key, generation: generation, count: count, stored: stored), meta.expireAt)
            } else {
                set = storage.newSet(key)
            }
            let before = set.count
            try storage.storing { () throws(RocksDBError) in
                for argument in members {
                    let member = Array(argument.readableBytesView)
                    if try storage.setSlot(of: member, in: set) == nil { storage.addSetMember(member, to: &set) }
                }
            }
            if set.count != before { storage.stageSetMeta(set, expireAt: expireAt) }
            return Int(set.count - before)
        }
    }

    /// Removes `members` (the set goes with its last one); returns how many were there.
    func remove(_ key: ByteBuffer, members: ArraySlice<ByteBuffer>) throws(StoreError) -> Int {
        try storage.modifying(key) { () throws(StoreError) in
            guard let (meta, generation, count, stored) = try find(key) else { return 0 }
            var set = storage.foundSet(key, generation: generation, count: count, stored: stored)
            return try storage.storing { () throws(RocksDBError) in
                try remove(members.lazy.map { Array($0.readableBytesView) }, from: &set, expireAt: meta.expireAt)
            }
        }
    }

    /// Moves `member` from `source` to `destination`; returns whether `source` had it. In Redis's
    /// order, a missing source answers false before either key's type is checked.
    func move(_ member: ByteBuffer, from source: ByteBuffer, to destination: ByteBuffer) throws(StoreError) -> Bool {
        try storage.modifying([source, destination]) { () throws(StoreError) in
            let now = WallClock.nowMillis()
            let from = try storage.storing { () throws(RocksDBError) in try storage.lookupCollection(.set, source, now: now) }
            var sourceSet: RocksDBStorage.SetSlots?
            if case .found(_, let generation, let count, let stored) = from {
                sourceSet = storage.foundSet(source, generation: generation, count: count, stored: stored)
            }
            let to = try storage.storing { () throws(RocksDBError) in try storage.lookupCollection(.set, destination, now: now) }
            if case .missing = from { return false }
            if case .wrongType = from { throw .wrongType }
            if case .wrongType = to { throw .wrongType }
            let member = Array(member.readableBytesView)
            return try storage.storing { () throws(RocksDBError) in
                guard case .found(let meta, _, _, _) = from, var sourceSet, try storage.setSlot(of: member, in: sourceSet) != nil else {
                    return false
                }
                if source == destination { return true }
                _ = try remove([member], from: &sourceSet, expireAt: meta.expireAt)
                var target = storage.newSet(destination), expireAt: Int64 = 0
                if case .found(let m, let g, let c, let stored) = to {
                    (target, expireAt) = (storage.foundSet(destination, generation: g, count: c, stored: stored), m.expireAt)
                }
                if try storage.setSlot(of: member, in: target) == nil {
                    storage.addSetMember(member, to: &target)
                    storage.stageSetMeta(target, expireAt: expireAt)
                }
                return true
            }
        }
    }

    /// SINTER, SUNION or SDIFF of `keys` (at least one), in member byte order.
    func combine(_ operation: Operation, _ keys: ArraySlice<ByteBuffer>) throws(StoreError) -> [[UInt8]] {
        var sets: [Set<[UInt8]>] = []
        for key in keys { sets.append(Set(try members(key))) }
        var result = sets[0]
        for other in sets.dropFirst() {
            switch operation {
            case .inter: result.formIntersection(other)
            case .union: result.formUnion(other)
            case .diff: result.subtract(other)
            }
        }
        return result.sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// The same, stored as the whole of `destination` (whatever it held: a new generation,
    /// O(1) for the old value); returns the result's size.
    func store(_ operation: Operation, into destination: ByteBuffer, from keys: ArraySlice<ByteBuffer>) throws(StoreError) -> Int {
        try storage.modifying([destination] + keys) { () throws(StoreError) in
            let result = try combine(operation, keys)
            storage.stageNewSet(destination, result, expireAt: 0)
            return result.count
        }
    }

    /// Replaces whatever `key` holds with a set of `members` (distinct; RENAME, COPY, RESTORE:
    /// the caller holds the key's stripe).
    func replace(_ key: ByteBuffer, with members: [[UInt8]], expireAt: Int64) {
        storage.stageNewSet(key, members, expireAt: expireAt)
    }

    // MARK: - Random members (SPOP, SRANDMEMBER)

    /// Removes and returns `count` random members (all of them, and the set, when `count`
    /// covers it); nil when the set is missing. On a big set each costs one slot read.
    func pop(_ key: ByteBuffer, count: Int) throws(StoreError) -> [[UInt8]]? {
        try storage.modifying(key) { () throws(StoreError) in
            switch try sample(key, count: count) {
            case .missing: return nil
            case .whole(let meta, let generation, let members):
                storage.stageCollectionMeta(.set, key, expireAt: meta.expireAt, generation: generation, count: 0)
                return members
            case .sample(var sample):
                return try storage.storing { () throws(RocksDBError) in
                    let total = sample.set.count
                    var chosen: [[UInt8]] = []
                    if sample.set.indexed {
                        for _ in 0..<count {
                            let slot = UInt64.random(in: 0..<sample.set.count)
                            let picked = try sample.member(at: slot, storage)
                            try storage.removeSetMember(picked, at: slot, from: &sample.set)
                            chosen.append(picked)
                        }
                    } else {
                        chosen = Array(sample.all.shuffled().prefix(count))
                        for picked in chosen { try storage.removeSetMember(picked, at: 0, from: &sample.set) }
                    }
                    if sample.set.count != total { storage.stageSetMeta(sample.set, expireAt: sample.meta.expireAt) }
                    return try checked(chosen, count)
                }
            }
        }
    }

    /// `count` distinct random members (all of them when `count` covers the set); nil when the
    /// set is missing.
    func random(_ key: ByteBuffer, count: Int) throws(StoreError) -> [[UInt8]]? {
        try storage.modifying(key) { () throws(StoreError) in
            switch try sample(key, count: count) {
            case .missing: return nil
            case .whole(_, _, let members): return members
            case .sample(let sample):
                return try storage.storing { () throws(RocksDBError) in
                    var chosen: [[UInt8]] = []
                    for slot in RocksDBStorage.distinctSlots(count, below: sample.set.count) { chosen.append(try sample.member(at: slot, storage)) }
                    return try checked(chosen, count)
                }
            }
        }
    }

    /// Random members with repeats (SRANDMEMBER with a negative count): `body` gets a picker to
    /// call once per pick, so a long run of picks is never held at once. False when missing.
    func randomWithRepeats(_ key: ByteBuffer, _ body: (_ pick: () throws(StoreError) -> [UInt8]) throws(StoreError) -> Void)
        throws(StoreError) -> Bool {
        try storage.modifying(key) { () throws(StoreError) in
            // Repeats sample the set however many picks there are: never "the whole set" as the answer.
            guard case .sample(let sample) = try sample(key, count: nil) else { return false }
            var read: [UInt64: [UInt8]] = [:]
            try body { () throws(StoreError) in
                let slot = UInt64.random(in: 0..<sample.set.count)
                if let member = read[slot] { return member }
                let member = try storage.storing { () throws(RocksDBError) in try sample.member(at: slot, storage) }
                read[slot] = member
                return member
            }
            return true
        }
    }

    /// A set about to be sampled: its slots and, without an index, its members read whole.
    private struct Sample {
        var set: RocksDBStorage.SetSlots
        let meta: Metadata
        /// A small set without an index is read whole; its "slots" are positions in it.
        let all: [[UInt8]]

        func member(at slot: UInt64, _ storage: RocksDBStorage) throws(RocksDBError) -> [UInt8] {
            if set.indexed { return try storage.setMember(at: slot, in: set) }
            guard slot < UInt64(all.count) else { throw .corrupt }
            return all[Int(slot)]
        }
    }

    private enum Sampled {
        case missing
        /// `count` covers the set: the whole set is the answer.
        case whole(Metadata, generation: UInt64, [[UInt8]])
        case sample(Sample)
    }

    /// The set opened for sampling `count` members (nil: any number, with repeats). A set past
    /// `SetSlots.indexAbove` members gets its slot index here, the first time it is sampled.
    private func sample(_ key: ByteBuffer, count: Int?) throws(StoreError) -> Sampled {
        guard let (meta, generation, total, stored) = try find(key) else { return .missing }
        if let count, count >= total { return .whole(meta, generation: generation, storage.elements(key, generation: generation).map(\.field)) }
        var set = storage.foundSet(key, generation: generation, count: total, stored: stored)
        if !set.indexed && total > RocksDBStorage.SetSlots.indexAbove {
            storage.buildSlotIndex(&set)
            storage.stageSetMeta(set, expireAt: meta.expireAt)  // the flag; a pop restages it
        }
        return .sample(Sample(set: set, meta: meta, all: set.indexed ? [] : storage.elements(key, generation: generation).map(\.field)))
    }

    /// A record that counts members its elements lack (a corrupt store) has none to give.
    private func checked(_ chosen: [[UInt8]], _ count: Int) throws(RocksDBError) -> [[UInt8]] {
        guard count == 0 || !chosen.isEmpty else { throw .corrupt }
        return chosen
    }

    // MARK: - Lookup

    /// The live set's metadata, generation and member count; nil when missing.
    private func find(_ key: ByteBuffer) throws(StoreError) -> (meta: Metadata, generation: UInt64, count: UInt64, stored: [UInt8])? {
        try storage.liveCollection(.set, key)
    }

    /// Removes members (the set vanishes when emptied); returns how many were there.
    private func remove(_ members: some Sequence<[UInt8]>, from set: inout RocksDBStorage.SetSlots, expireAt: Int64) throws(RocksDBError) -> Int {
        let count = set.count
        for member in members {
            if let slot = try storage.setSlot(of: member, in: set) { try storage.removeSetMember(member, at: slot, from: &set) }
        }
        if set.count != count { storage.stageSetMeta(set, expireAt: expireAt) }
        return Int(count - set.count)
    }
}

extension RocksDBStorage {
    /// This storage's sets.
    var sets: SetStore { SetStore(storage: self) }
}
