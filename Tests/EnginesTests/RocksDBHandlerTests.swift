import Protocol
import Testing
@testable import Engines

/// The RocksDB engine's handler table against the command table: every row the engine serves has
/// exactly one handler (registered by its family's file), and nothing else has one.
@Suite struct RocksDBHandlerTests {
    /// Rows the node itself answers (connection, peer-only), forwards to a backend, or refuses.
    static func servedByTheEngine(_ spec: CommandSpec) -> Bool {
        !spec.flags.contains(.connection) && !spec.flags.contains(.forwardable) && !spec.flags.contains(.peerOnly)
            && spec.id != .refused && spec.id != .forwarded
    }

    @Test func everyServedRowHasOneHandlerAndNoOtherRowHasOne() {
        var missing: [String] = [], extra: [String] = []
        var seen = Set<CommandID>()
        for spec in CommandTable.all where seen.insert(spec.id).inserted || spec.id == .forwarded || spec.id == .refused {
            let handler = RocksDBSession.handlerTable[Int(spec.id.rawValue)]
            if Self.servedByTheEngine(spec), handler == nil { missing.append(spec.text) }
            if !Self.servedByTheEngine(spec), handler != nil { extra.append(spec.text) }
        }
        #expect(missing.isEmpty, "rows without a RocksDB handler: \(missing)")
        #expect(extra.isEmpty, "handlers for rows the engine never sees: \(extra)")
        // Every handler belongs to a row.
        let rowIDs = Set(CommandTable.all.map(\.id))
        for id in CommandID.allCases where RocksDBSession.handlerTable[Int(id.rawValue)] != nil {
            #expect(rowIDs.contains(id), "a handler for \(id), which has no row")
        }
    }

    /// The row's `.blocking` flag (which the admission and the cluster read) and the engine's
    /// blocking-pop handlers name the same commands.
    @Test func blockingRowsAreExactlyTheBlockingPops() {
        for spec in CommandTable.all where Self.servedByTheEngine(spec) {
            let isPop = if case .blockingPop? = RocksDBSession.handlerTable[Int(spec.id.rawValue)] { true } else { false }
            #expect(isPop == spec.flags.contains(.blocking), "\(spec.text): blocking flag and handler disagree")
        }
    }

    /// Blind-batch handlers are whole-value writes with no options that read (the row says
    /// `.wholeValue`; the cluster stamps them as such).
    @Test func blindWritesAreWholeValueWrites() {
        for spec in CommandTable.all where Self.servedByTheEngine(spec) {
            if case .blindWrite? = RocksDBSession.handlerTable[Int(spec.id.rawValue)] {
                #expect(spec.flags.contains(.wholeValue) && spec.flags.contains(.write), "\(spec.text)")
            }
        }
    }
}
