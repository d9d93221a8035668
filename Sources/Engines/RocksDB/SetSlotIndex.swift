import NIOCore

/// Sets' slot index, so a uniformly random member costs one read (SRANDMEMBER, SPOP are O(1)
/// per member, as in Redis, instead of a walk over the whole set).
///
/// A set of N members numbers them 0..<N: a member's `subkeys` record holds its slot (8 bytes,
/// big-endian) and the `zscore` family holds `token ‖ key length ‖ key ‖ generation ‖ slot →
/// member` (the family's prefix rules, so deleting the set and the sweep treat it like a sorted
/// set's score index; generations are unique, so the two never meet). Removing the member at
/// slot j moves the member at slot N−1 into j, so the slots stay dense.
extension RocksDBSession {
    /// One command's view of one set's slots: what it has staged, over what is stored. Plain
    /// writes go into a batch the command cannot read back, so the slots it moved are kept here.
    struct SetSlots {
        let key: ByteBuffer
        let generation: UInt64
        var count: UInt64
        fileprivate var stagedMembers: [UInt64: [UInt8]] = [:]
        fileprivate var stagedSlots: [[UInt8]: UInt64?] = [:]

        init(key: ByteBuffer, generation: UInt64, count: UInt64) {
            self.key = key
            self.generation = generation
            self.count = count
        }
    }

    func setSlotKey(_ set: SetSlots, slot: UInt64) -> [UInt8] {
        var out = elementPrefix(set.key, generation: set.generation)
        KeyEncoding.appendBigEndian(slot, to: &out)
        return out
    }

    /// The slot of `member`, nil when it is not in the set.
    func setSlot(of member: [UInt8], in set: SetSlots) throws(RocksDBError) -> UInt64? {
        if let staged = set.stagedSlots[member] { return staged }
        let element = elementKey(set.key, generation: set.generation, member: member)
        guard let stored = try readStored(.subkeys, key: element) else { return nil }
        guard stored.count == 8 else { throw RocksDBError(message: "set member without a slot (damaged set index)") }
        return stored.withUnsafeBytes { KeyEncoding.readBigEndian($0, at: 0, as: UInt64.self) }
    }

    /// The member at `slot` (< count).
    func setMember(at slot: UInt64, in set: SetSlots) throws(RocksDBError) -> [UInt8] {
        if let staged = set.stagedMembers[slot] { return staged }
        guard let stored = try readStored(.zscore, key: setSlotKey(set, slot: slot)) else {
            throw RocksDBError(message: "set slot \(slot) of \(set.count) is empty (damaged set index)")
        }
        return stored
    }

    /// Adds `member`, which is not in the set, at the next slot.
    func addSetMember(_ member: [UInt8], to set: inout SetSlots) {
        let slot = set.count
        stageSetMember(member, slot: slot, in: &set)
        set.count += 1
    }

    /// Removes `member`, which is at `slot`, moving the last member into its slot.
    func removeSetMember(_ member: [UInt8], at slot: UInt64, from set: inout SetSlots) throws(RocksDBError) {
        let last = set.count - 1
        if slot != last { stageSetMember(try setMember(at: last, in: set), slot: slot, in: &set) }
        setSlotKey(set, slot: last).withUnsafeBytes { delete(immediate, .zscore, $0) }
        stageElement(elementKey(set.key, generation: set.generation, member: member), value: nil)
        set.stagedMembers[last] = nil
        set.stagedSlots[member] = .some(nil)
        set.count -= 1
    }

    /// Both records of `member` at `slot`.
    private func stageSetMember(_ member: [UInt8], slot: UInt64, in set: inout SetSlots) {
        var encoded: [UInt8] = []
        KeyEncoding.appendBigEndian(slot, to: &encoded)
        encoded.withUnsafeBytes {
            stageElement(elementKey(set.key, generation: set.generation, member: member), value: $0)
        }
        member.withUnsafeBytes { stageElement(setSlotKey(set, slot: slot), value: $0, family: .zscore) }
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
