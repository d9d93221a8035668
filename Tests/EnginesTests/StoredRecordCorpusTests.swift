import Foundation
import NIOCore
import NIOEmbedded
import TestSupport
import Testing
@_spi(Fuzzing) @testable import Engines

/// The stored-record fuzzer's corpus (FuzzTesting/Corpus/FuzzStoredRecords: seeds and every
/// committed crasher) replayed through the same entry point: corrupt records get answers, not traps.
@Suite(.timeLimit(.minutes(2)))
struct StoredRecordCorpusTests {
    @Test func corruptRecordsAreAnsweredNotTrappedOn() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let engine = try openEngine(directory.path)
        defer { engine.shutdown() }
        let session = engine.makeSession(eventLoop: EmbeddedEventLoop())
        let inputs = fuzzCorpus("FuzzStoredRecords")
        #expect(inputs.count >= 9)
        var errors = 0
        for input in inputs {
            // First what the fuzzer ran on it (the command its first byte names, then DUMP: a
            // crasher replays exactly), then every command (the writers change the key as they go).
            errors += input.withUnsafeBytes {
                let (picked, rest) = StoredRecordFuzzing.pick($0)
                return StoredRecordFuzzing.run(rest, engine: engine, session: session, receiver: NoReceiver.shared, commands: picked)
            }
            #expect(EngineHarness(engine).run("DBSIZE") == ":0\r\n")
            errors += input.withUnsafeBytes {
                StoredRecordFuzzing.run(StoredRecordFuzzing.pick($0).rest, engine: engine, session: session, receiver: NoReceiver.shared)
            }
            // Each input ends by deleting what it planted or made: the next starts from nothing.
            #expect(EngineHarness(engine).run("DBSIZE") == ":0\r\n")
        }
        // Every seed holds one type, so the other types' commands answer WRONGTYPE.
        #expect(errors > 0)
    }

    /// A well-formed hash planted through the fuzzer's layout reads back as that hash: the
    /// layout reaches the collection readers (a harness planting where no reader looks would
    /// find nothing).
    @Test func theLayoutReachesTheCollectionReaders() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let engine = try openEngine(directory.path)
        defer { engine.shutdown() }
        let seed = fuzzCorpus("FuzzStoredRecords", named: "hash")
        seed.withUnsafeBytes { StoredRecordFuzzing.plant(StoredRecordFuzzing.pick($0).rest, in: engine) }
        let harness = EngineHarness(engine)
        #expect(harness.run("HGETALL", "k") == "*4\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\ng\r\n$1\r\nw\r\n")
    }
}
