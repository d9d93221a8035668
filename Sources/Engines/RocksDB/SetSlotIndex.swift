import NIOCore

/// Sets' slot index, so a uniformly random member of a big set costs one read (SPOP and
/// SRANDMEMBER are O(1) per member, as in Redis, instead of a walk over the whole set).
///
/// An indexed set of N members numbers them 0..<N: a member's `subkeys` record holds its slot
/// (8 bytes, big-endian) and the `setslots` family holds `token ‖ key length ‖ key ‖ generation ‖
/// slot → member` (the element prefix, so the sweep reclaims it with the set's members).
/// Removing the member at slot j moves the member at slot N−1 into j, so the slots stay dense.
///
/// The index costs every SADD a write and every removal two reads and three writes, so a set
/// gets one only when it is first sampled (SPOP, SRANDMEMBER) with more than `indexAbove`
/// members; the metadata flag says so. Sets never sampled, and smaller ones, whose samples read
/// them whole, pay nothing, and sets written by earlier builds are simply unindexed.
extension RocksDBStorage {
    /// One command's view of one set: its slots as staged, over what is stored. Plain writes go
    /// into a batch the command cannot read back, so what it moved is kept here.
    struct SetSlots {
        static let indexAbove: UInt64 = 128

        let key: ByteBuffer
        let generation: UInt64
        var count: UInt64
        fileprivate(set) var indexed: Bool
        fileprivate var stagedMembers: [UInt64: [UInt8]] = [:]
        fileprivate var stagedSlots: [[UInt8]: UInt64?] = [:]

        fileprivate init(key: ByteBuffer, generation: UInt64, count: UInt64, indexed: Bool) {
            self.key = key
            self.generation = generation
            self.count = count
            self.indexed = indexed
        }
    }

    /// The set `key` a lookup found (`stored`: its metadata record, which says whether the set
    /// has a slot index).
    func foundSet(_ key: ByteBuffer, generation: UInt64, count: UInt64, stored: [UInt8]) -> SetSlots {
        SetSlots(key: key, generation: generation, count: count, indexed: Metadata.setSlotIndexed(stored))
    }

    /// Stages `members` (distinct) as the whole of set `key`, replacing whatever it held: a new
    /// generation, O(1) for the old value.
    func stageNewSet(_ key: ByteBuffer, _ members: [[UInt8]], expireAt: Int64) {
        var set = newSet(key)
        for member in members { addSetMember(member, to: &set) }
        stageSetMeta(set, expireAt: expireAt)
    }

    /// A set `key` about to be created (or to replace whatever `key` holds).
    func newSet(_ key: ByteBuffer) -> SetSlots {
        SetSlots(key: key, generation: engine.nextGeneration(), count: 0, indexed: false)
    }

    /// Stages the set's metadata (its deletion when it is empty).
    func stageSetMeta(_ set: SetSlots, expireAt: Int64) {
        stageCollectionMeta(.set, set.key, expireAt: expireAt, generation: set.generation, count: set.count,
                            slotIndexed: set.indexed)
    }

    /// Where `member` is: nil when it is not in the set; its slot (0 in a set without an index).
    func setSlot(of member: [UInt8], in set: SetSlots) throws(RocksDBError) -> UInt64? {
        if let staged = set.stagedSlots[member] { return staged }
        let element = elementKey(set.key, generation: set.generation, member: member)
        guard let stored = try readStored(.subkeys, key: element) else { return nil }
        guard set.indexed else { return 0 }
        guard stored.count == 8 else { throw RocksDBError(message: "set member without a slot (damaged set index)") }
        return stored.withUnsafeBytes { KeyEncoding.readBigEndian($0, at: 0, as: UInt64.self) }
    }

    /// The member at `slot` (< count) of an indexed set.
    func setMember(at slot: UInt64, in set: SetSlots) throws(RocksDBError) -> [UInt8] {
        if let staged = set.stagedMembers[slot] { return staged }
        guard let stored = try readStored(.setslots, key: setSlotKey(set, slot: slot)) else {
            throw RocksDBError(message: "set slot \(slot) of \(set.count) is empty (damaged set index)")
        }
        return stored
    }

    /// Adds `member`, which is not in the set (at the next slot, when indexed).
    func addSetMember(_ member: [UInt8], to set: inout SetSlots) {
        if set.indexed {
            stageSetMember(member, slot: set.count, in: &set)
        } else {
            stageElement(elementKey(set.key, generation: set.generation, member: member), value: UnsafeRawBufferPointer(start: nil, count: 0))
            set.stagedSlots[member] = 0
        }
        set.count += 1
    }

    /// Removes `member`, which is at `slot`, moving the last member into its slot.
    func removeSetMember(_ member: [UInt8], at slot: UInt64, from set: inout SetSlots) throws(RocksDBError) {
        if set.indexed {
            let last = set.count - 1
            if slot != last { stageSetMember(try setMember(at: last, in: set), slot: slot, in: &set) }
            setSlotKey(set, slot: last).withUnsafeBytes { delete(immediate, .setslots, $0) }
            set.stagedMembers[last] = nil
        }
        stageElement(elementKey(set.key, generation: set.generation, member: member), value: nil)
        set.stagedSlots[member] = .some(nil)
        set.count -= 1
    }

    /// Numbers the members of a set without an index, before the command changes anything
    /// (what it reads is what is stored). O(N), once per set.
    func buildSlotIndex(_ set: inout SetSlots) {
        precondition(!set.indexed && set.stagedSlots.isEmpty, "index a set before changing it")
        set.indexed = true
        for (slot, element) in elements(set.key, generation: set.generation).enumerated() {
            stageSetMember(element.field, slot: UInt64(slot), in: &set)
        }
    }

    private func setSlotKey(_ set: SetSlots, slot: UInt64) -> [UInt8] {
        var out = elementPrefix(set.key, generation: set.generation)
        KeyEncoding.appendBigEndian(slot, to: &out)
        return out
    }

    /// Both records of `member` at `slot`.
    private func stageSetMember(_ member: [UInt8], slot: UInt64, in set: inout SetSlots) {
        var encoded: [UInt8] = []
        KeyEncoding.appendBigEndian(slot, to: &encoded)
        encoded.withUnsafeBytes { stageElement(elementKey(set.key, generation: set.generation, member: member), value: $0) }
        member.withUnsafeBytes { stageElement(setSlotKey(set, slot: slot), value: $0, family: .setslots) }
        set.stagedMembers[slot] = member
        set.stagedSlots[member] = slot
    }

    /// `count` distinct slots below `total`, uniformly (Floyd's sampling), in random order.
    static func distinctSlots(_ count: Int, below total: UInt64) -> [UInt64] {
        var chosen = Set<UInt64>(minimumCapacity: count)
        var order: [UInt64] = []
        order.reserveCapacity(count)
        for j in (total - UInt64(count))..<total {
            let t = UInt64.random(in: 0...j)
            let pick = chosen.contains(t) ? j : t
            chosen.insert(pick)
            order.append(pick)
        }
        order.shuffle()
        return order
    }
}
