import Testing
@testable import Engines

/// The receiver's staging of states sent in parts: bounded in bytes, in order only, forgotten
/// when silent, and handed over only whole.
@Suite struct StagedStatesTests {
    typealias Value = RocksDBStorage.StoredValue

    @Test func partsAreKeptInOrderWithinTheirBoundAndForgottenWhenSilent() throws {
        let staged = StagedStates(capacity: 100, idleMillis: 1_000)
        let key: [UInt8] = Array("k".utf8)
        try staged.add(key: key, version: 7, index: 0, part: Value.set([[1]]), bytes: 40, now: 0)
        // Out of turn (part 2 before 1), or another version's part 1: refused, and the transfer dropped.
        #expect(throws: StagedStates.Refusal.self) { try staged.add(key: key, version: 7, index: 2, part: Value.set([[3]]), bytes: 10, now: 1) }
        #expect(staged.take(key: key, version: 7, count: 1) == nil)
        try staged.add(key: key, version: 7, index: 0, part: Value.set([[1]]), bytes: 40, now: 2)
        try staged.add(key: key, version: 7, index: 1, part: Value.set([[2]]), bytes: 40, now: 3)
        // Past the bound for every transfer together.
        #expect(throws: StagedStates.Refusal.self) {
            try staged.add(key: Array("other".utf8), version: 1, index: 0, part: Value.set([[9]]), bytes: 30, now: 4)
        }
        #expect(staged.bytesHeld == 80)
        // Only the exact count hands the parts over, and only once.
        #expect(staged.take(key: key, version: 7, count: 3) == nil)
        try staged.add(key: key, version: 7, index: 0, part: Value.set([[1]]), bytes: 40, now: 5)
        try staged.add(key: key, version: 7, index: 1, part: Value.set([[2]]), bytes: 40, now: 6)
        let parts = try #require(staged.take(key: key, version: 7, count: 2))
        guard case .set(let members)? = Value.joined(parts) else { Issue.record("not joined as a set"); return }
        #expect(members == [[1], [2]])
        #expect(staged.take(key: key, version: 7, count: 2) == nil)
        // A transfer silent past idleMillis is forgotten at the next add.
        try staged.add(key: key, version: 8, index: 0, part: Value.set([[1]]), bytes: 40, now: 10)
        try staged.add(key: Array("other".utf8), version: 1, index: 0, part: Value.set([[9]]), bytes: 40, now: 2_000)
        #expect(staged.bytesHeld == 40)
        // Parts of different types never join.
        #expect(Value.joined([.set([[1]]), .list([[2]])]) == nil)
    }
}
