import NIOCore
import Protocol

/// Lists over the storage layer: values in, values out, no reply code. Collection metadata plus
/// head and tail indices; each element is a `subkeys` record keyed by its 8-byte big-endian
/// index. Indices start mid-range so pushes go both ways in O(1); LINDEX and LSET are O(1),
/// LRANGE one seek, LTRIM deletes only what it trims. LREM and LINSERT (O(N) in Redis too)
/// rewrite the list under a new generation; the old one is swept away. Writes hold their keys'
/// lock stripes; refusals are thrown before anything is staged. `ListCommands.swift` and the
/// blocking pops parse arguments, call this and write the replies.
struct ListStore {
    /// The loop's storage layer (`RocksDBStorage`: batches, group commit, locks, encoding).
    /// Unowned and unchecked: a store is made for one call on its storage (`storage.hashes`)
    /// and never outlives it, so the hot path pays no reference counting for it.
    unowned(unsafe) let storage: RocksDBStorage

    /// The number of elements (0 when missing).
    func length(_ key: ByteBuffer) throws(StoreError) -> Int {
        try find(key)?.count ?? 0
    }

    /// Pushes `values` on one end, creating the list unless `onlyIfExists`; returns the new
    /// length (0 when `onlyIfExists` and the list is missing).
    func push(_ key: ByteBuffer, _ values: ArraySlice<ByteBuffer>, left: Bool, onlyIfExists: Bool = false) throws(StoreError) -> Int {
        try storage.modifying(key) { () throws(StoreError) in
            var state: RocksDBStorage.ListState
            if let found = try find(key) {
                state = found
            } else {
                if onlyIfExists { return 0 }
                state = storage.newList()
            }
            for value in values { value.withUnsafeReadableBytes { storage.pushValue($0, key, &state, left: left) } }
            storage.stageListMeta(key, state)
            return state.count
        }
    }

    /// Removes up to `count` elements from one end and returns them in pop order; nil when the
    /// list is missing.
    func pop(_ key: ByteBuffer, count: Int, left: Bool) throws(StoreError) -> [[UInt8]]? {
        try storage.modifying(key) { () throws(StoreError) in try popLocked(key, count: count, left: left) }
    }

    /// The first of `keys` that holds a list, and up to `count` elements popped from one end of
    /// it (LMPOP); nil when none does. A key of another type before it is refused.
    func popFirst(_ keys: ArraySlice<ByteBuffer>, count: Int, left: Bool) throws(StoreError) -> (key: ByteBuffer, values: [[UInt8]])? {
        try storage.modifying(keys) { () throws(StoreError) in
            for key in keys {
                if let values = try popLocked(key, count: count, left: left) { return (key, values) }
            }
            return nil
        }
    }

    /// Pops one end of `source` and pushes the value on one end of `destination` (LMOVE);
    /// returns it, or nil when `source` is missing.
    func move(from source: ByteBuffer, to destination: ByteBuffer, fromLeft: Bool, toLeft: Bool) throws(StoreError) -> [UInt8]? {
        try storage.modifying([source, destination]) { () throws(StoreError) in
            guard var from = try find(source) else { return nil }
            let sameKey = source == destination
            var to = sameKey ? from : try find(destination) ?? storage.newList()
            return try storage.storing { () throws(RocksDBError) in
                let value = try storage.popValues(source, &from, count: 1, left: fromLeft)[0]
                if sameKey { to = from }
                value.withUnsafeBytes { storage.pushValue($0, destination, &to, left: toLeft) }
                if !sameKey { storage.stageListMeta(source, from) }
                storage.stageListMeta(destination, to)
                return value
            }
        }
    }

    /// The elements from `start` to `stop` (Redis's indices: negative from the end, clamped).
    func range(_ key: ByteBuffer, start: Int, stop: Int) throws(StoreError) -> [[UInt8]] {
        guard let state = try find(key),
              let (from, to) = RocksDBStorage.listRange(start: start, stop: stop, count: state.count) else { return [] }
        return storage.listValues(key, state, from: from, to: to)
    }

    /// Every element, head to tail.
    func all(_ key: ByteBuffer) throws(StoreError) -> [[UInt8]] {
        guard let state = try find(key) else { return [] }
        return storage.allValues(key, state)
    }

    /// The element at `index` (negative from the end); nil when out of range or missing.
    func element(_ key: ByteBuffer, at index: Int) throws(StoreError) -> [UInt8]? {
        guard let state = try find(key), let position = Self.position(index, count: state.count) else { return nil }
        return try storage.storing { () throws(RocksDBError) in
            try storage.readStored(.subkeys, key: storage.listElementKey(key, state, index: state.head &+ UInt64(position)))
        }
    }

    /// Replaces the element at `index`. Throws `.noSuchKey` for a missing list, `.outOfRange`
    /// for an index past either end.
    func set(_ key: ByteBuffer, at index: Int, to value: ByteBuffer) throws(StoreError) {
        try storage.modifying(key) { () throws(StoreError) in
            guard let state = try find(key) else { throw .noSuchKey }
            guard let position = Self.position(index, count: state.count) else { throw .outOfRange }
            value.withUnsafeReadableBytes {
                storage.stageElement(storage.listElementKey(key, state, index: state.head &+ UInt64(position)), value: $0)
            }
            storage.stageListMeta(key, state)
        }
    }

    /// Keeps only the elements from `start` to `stop` (the list goes when nothing is left).
    func trim(_ key: ByteBuffer, start: Int, stop: Int) throws(StoreError) {
        try storage.modifying(key) { () throws(StoreError) in
            guard var state = try find(key) else { return }
            if let (from, to) = RocksDBStorage.listRange(start: start, stop: stop, count: state.count) {
                for i in 0..<from { storage.stageElement(storage.listElementKey(key, state, index: state.head &+ UInt64(i)), value: nil) }
                for i in (to + 1)..<max(to + 1, state.count) {
                    storage.stageElement(storage.listElementKey(key, state, index: state.head &+ UInt64(i)), value: nil)
                }
                state.tail = state.head &+ UInt64(to + 1)
                state.head &+= UInt64(from)
            } else {
                state.tail = state.head  // everything trimmed: the list vanishes (elements are swept)
            }
            storage.stageListMeta(key, state)
        }
    }

    /// Removes elements equal to `value`: the first `count` from the head (count > 0), from
    /// the tail (count < 0), or all (0). Returns how many.
    func remove(_ key: ByteBuffer, _ value: ByteBuffer, count: Int) throws(StoreError) -> Int {
        try storage.modifying(key) { () throws(StoreError) in
            guard var state = try find(key) else { return 0 }
            let target = value.bytes
            var values = storage.allValues(key, state)
            let limit = count == 0 ? Int.max : abs(count)
            var indices = Array(values.indices)
            if count < 0 { indices.reverse() }
            var drop = Set<Int>()
            for i in indices where drop.count < limit && values[i] == target { drop.insert(i) }
            if !drop.isEmpty {
                values = values.enumerated().filter { !drop.contains($0.offset) }.map(\.element)
                storage.rewriteList(key, &state, values)
            }
            return drop.count
        }
    }

    /// Inserts `value` before or after the first element equal to `pivot`; returns the new
    /// length, -1 when there is no such element, 0 when the list is missing.
    func insert(_ key: ByteBuffer, _ value: ByteBuffer, pivot: ByteBuffer, before: Bool) throws(StoreError) -> Int {
        try storage.modifying(key) { () throws(StoreError) in
            guard var state = try find(key) else { return 0 }
            var values = storage.allValues(key, state)
            guard let position = values.firstIndex(of: pivot.bytes) else { return -1 }
            values.insert(value.bytes, at: before ? position : position + 1)
            storage.rewriteList(key, &state, values)
            return values.count
        }
    }

    /// Replaces whatever `key` holds with a list of `values` (RENAME, COPY, RESTORE).
    func replace(_ key: ByteBuffer, with values: [[UInt8]], expireAt: Int64) {
        var state = storage.newList()
        state.expireAt = expireAt
        storage.rewriteList(key, &state, values)
    }

    // MARK: - Lookup

    /// The live list's state; nil when missing.
    func find(_ key: ByteBuffer) throws(StoreError) -> RocksDBStorage.ListState? {
        switch try storage.storing({ () throws(RocksDBError) in try storage.lookupList(key, now: WallClock.nowMillis()) }) {
        case .missing: nil
        case .found(let state): state
        case .wrongType: throw .wrongType
        }
    }

    /// Pops under the key's stripe (held by the caller).
    private func popLocked(_ key: ByteBuffer, count: Int, left: Bool) throws(StoreError) -> [[UInt8]]? {
        guard var state = try find(key) else { return nil }
        return try storage.storing { () throws(RocksDBError) in
            let values = try storage.popValues(key, &state, count: count, left: left)
            storage.stageListMeta(key, state)
            return values
        }
    }

    /// A Redis index (negative from the end) as a position in a list of `count`; nil outside.
    private static func position(_ index: Int, count: Int) -> Int? {
        let position = index < 0 ? index + count : index
        return position >= 0 && position < count ? position : nil
    }
}

extension RocksDBStorage {
    /// This storage's lists.
    var lists: ListStore { ListStore(storage: self) }
}

/// List storage under `ListStore`: the metadata record with head and tail, element keys, and
/// reads and writes of elements by index (also read by state transfer, `StateParts.swift`).
extension RocksDBStorage {
    struct ListState {
        var expireAt: Int64
        var generation: UInt64
        var head: UInt64
        var tail: UInt64
        var count: Int { Int(tail &- head) }
    }

    static let listOrigin = UInt64.max / 2

    enum ListLookup {
        case missing
        case wrongType
        case found(ListState)
    }

    func lookupList(_ key: ByteBuffer, now: Int64) throws(RocksDBError) -> ListLookup {
        guard let record = try readRecord(key, now: now) else { return .missing }
        guard record.meta.type == .list, record.stored.count >= Metadata.collectionSize + 16,
              let (generation, _) = Metadata.collection(record.stored) else { return .wrongType }
        let (head, tail) = record.stored.withUnsafeBytes {
            (KeyEncoding.readBigEndian($0, at: Metadata.collectionSize, as: UInt64.self),
             KeyEncoding.readBigEndian($0, at: Metadata.collectionSize + 8, as: UInt64.self))
        }
        // A list's indices never run more than its element count apart (at most 2^32 - 1); a
        // record saying otherwise is corrupt, and is refused like any unreadable record.
        guard tail &- head <= UInt64(UInt32.max) else { return .wrongType }
        return .found(ListState(expireAt: record.meta.expireAt, generation: generation, head: head, tail: tail))
    }

    /// A new, empty list's state.
    func newList() -> ListState {
        ListState(expireAt: 0, generation: engine.nextGeneration(), head: Self.listOrigin, tail: Self.listOrigin)
    }

    func stageListMeta(_ key: ByteBuffer, _ state: ListState) {
        if state.count == 0 { return stageDelete(key) }
        encodeKey(key)
        Metadata.encodeCollection(.list, expireAt: state.expireAt, timestamp: stamp, generation: state.generation,
                                  count: UInt64(state.count), into: &valueScratch)
        KeyEncoding.appendBigEndian(state.head, to: &valueScratch)
        KeyEncoding.appendBigEndian(state.tail, to: &valueScratch)
        putInto(immediate, .metadata)
    }

    static let pointReadsUpTo = 4

    func listElementKey(_ key: ByteBuffer, _ state: ListState, index: UInt64) -> [UInt8] {
        var out = elementPrefix(key, generation: state.generation)
        KeyEncoding.appendBigEndian(index, to: &out)
        return out
    }

    /// Elements at positions [from, to] (inclusive, already clamped to the list).
    func listValues(_ key: ByteBuffer, _ state: ListState, from: Int, to: Int) -> [[UInt8]] {
        guard from <= to else { return [] }
        // A few elements (LPOP, RPOP, LINDEX-like reads) are cheaper as point reads than as an
        // iterator over the memtables, files and the pass's batch; indices are dense, so each
        // is there (the walk below remains for anything unexpected).
        if to - from < Self.pointReadsUpTo {
            var out: [[UInt8]] = []
            for position in from...to {
                let element = listElementKey(key, state, index: state.head &+ UInt64(position))
                guard let value = (try? readStored(.subkeys, key: element)) ?? nil else { break }
                out.append(value)
            }
            if out.count == to - from + 1 { return out }
        }
        let iterator = RocksIterator(db, .subkeys, scan: false, through: transaction)
        iterator.seek(listElementKey(key, state, index: state.head &+ UInt64(from)))
        var out: [[UInt8]] = []
        let wanted = to - from + 1
        // The reservation only saves regrowth: never trust a (possibly corrupt) count with memory.
        out.reserveCapacity(min(wanted, 4096))
        while iterator.isValid {
            out.append(Array(iterator.value))
            // Never step past the last element wanted: beyond a list's tail lie the deletion
            // markers of the elements RPOP removed, and stepping onto the next live key would
            // walk over every one of them (RPOP after RPOP went quadratic).
            if out.count == wanted { break }
            iterator.next()
        }
        return out
    }

    func allValues(_ key: ByteBuffer, _ state: ListState) -> [[UInt8]] {
        listValues(key, state, from: 0, to: state.count - 1)
    }

    /// Replaces the whole list with `values` under a new generation.
    func rewriteList(_ key: ByteBuffer, _ state: inout ListState, _ values: [[UInt8]]) {
        state = ListState(expireAt: state.expireAt, generation: engine.nextGeneration(), head: Self.listOrigin,
                          tail: Self.listOrigin &+ UInt64(values.count))
        for (i, value) in values.enumerated() {
            value.withUnsafeBytes { stageElement(listElementKey(key, state, index: state.head &+ UInt64(i)), value: $0) }
        }
        stageListMeta(key, state)
    }

    /// Stages one value pushed on one end.
    func pushValue(_ value: UnsafeRawBufferPointer, _ key: ByteBuffer, _ state: inout ListState, left: Bool) {
        let index: UInt64
        if left {
            state.head &-= 1
            index = state.head
        } else {
            index = state.tail
            state.tail &+= 1
        }
        stageElement(listElementKey(key, state, index: index), value: value)
    }

    /// Removes up to `count` elements from one end; returns them in pop order.
    func popValues(_ key: ByteBuffer, _ state: inout ListState, count: Int, left: Bool) throws(RocksDBError) -> [[UInt8]] {
        // A stored list is never empty and holds every element its head and tail span: a record
        // that says otherwise (a corrupt store) has nothing to pop.
        guard state.count > 0 else { throw .corrupt }
        let n = min(count, state.count)
        guard n > 0 else { return [] }
        var values = left ? listValues(key, state, from: 0, to: n - 1)
                          : listValues(key, state, from: state.count - n, to: state.count - 1).reversed()
        guard values.count == n else { throw .corrupt }
        for i in 0..<n {
            let index = left ? state.head &+ UInt64(i) : state.tail &- 1 &- UInt64(i)
            stageElement(listElementKey(key, state, index: index), value: nil)
        }
        if left { state.head &+= UInt64(n) } else { state.tail &-= UInt64(n) }
        values = Array(values)
        return values
    }

    /// Redis's start/stop normalisation; nil when the range is empty.
    static func listRange(start: Int, stop: Int, count: Int) -> (Int, Int)? {
        var start = start, stop = stop
        if start < 0 { start += count }
        if stop < 0 { stop += count }
        if start < 0 { start = 0 }
        if start > stop || start >= count { return nil }
        if stop >= count { stop = count - 1 }
        return (start, stop)
    }

}
