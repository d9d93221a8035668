import Foundation
import Snapshot
import TestSupport
import Testing

/// The snapshot fuzzers' corpora (RDB files, DUMP payloads, JSON Lines records) replayed in the
/// ordinary suite: seeds and any committed crasher.
@Suite struct SnapshotFuzzCorpusReplayTests {
    @Test func rdbFiles() {
        let inputs = fuzzCorpus("FuzzRDB")
        #expect(!inputs.isEmpty)
        var entries = 0
        for input in inputs {
            input.withUnsafeBytes { bytes in
                guard var reader = try? RDBFileReader(bytes) else { return }
                while (try? reader.next()) != nil { entries += 1 }
            }
        }
        #expect(entries > 0)
    }

    @Test func dumpPayloadsAndJSONLines() {
        var decoded = 0
        for input in fuzzCorpus("FuzzDumpPayload") {
            if let value = try? input.withUnsafeBytes({ try DumpPayload.decode($0) }) {
                _ = DumpPayload.encode(value)
                decoded += 1
            }
        }
        for input in fuzzCorpus("FuzzJSONLines") {
            if let entry = try? input.withUnsafeBytes({ try JSONLines.decode($0, lineNumber: 1) }) {
                var out: [UInt8] = []
                JSONLines.encode(entry, into: &out)
                decoded += 1
            }
        }
        #expect(decoded > 0)
    }
}
