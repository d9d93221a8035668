import Foundation
import Snapshot
import Testing

/// The snapshot fuzzers' corpora (RDB files, DUMP payloads, JSON Lines records) replayed in the
/// ordinary suite: seeds and any committed crasher.
@Suite struct SnapshotFuzzCorpusReplayTests {
    static func corpus(_ target: String) -> [[UInt8]] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let folder = root.appendingPathComponent("FuzzTesting/Corpus/\(target)")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted().compactMap { FileManager.default.contents(atPath: folder.appendingPathComponent($0).path).map { [UInt8]($0) } }
    }

    @Test func rdbFiles() {
        let inputs = Self.corpus("FuzzRDB")
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
        for input in Self.corpus("FuzzDumpPayload") {
            if let value = try? input.withUnsafeBytes({ try DumpPayload.decode($0) }) {
                _ = DumpPayload.encode(value)
                decoded += 1
            }
        }
        for input in Self.corpus("FuzzJSONLines") {
            if let entry = try? input.withUnsafeBytes({ try JSONLines.decode($0, lineNumber: 1) }) {
                var out: [UInt8] = []
                JSONLines.encode(entry, into: &out)
                decoded += 1
            }
        }
        #expect(decoded > 0)
    }
}
