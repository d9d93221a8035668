import Foundation

/// The files of a fuzz target's corpus (FuzzTesting/Corpus/<target>), for the suites that
/// replay them through the decoders.
public func fuzzCorpus(_ target: String, file: String = #filePath) -> [[UInt8]] {
    var root = URL(fileURLWithPath: file)
    while root.path != "/", !FileManager.default.fileExists(atPath: root.appendingPathComponent("FuzzTesting").path) {
        root.deleteLastPathComponent()
    }
    let folder = root.appendingPathComponent("FuzzTesting/Corpus/\(target)")
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
    return names.sorted().compactMap { FileManager.default.contents(atPath: folder.appendingPathComponent($0).path).map { [UInt8]($0) } }
}

/// One named file of a fuzz target's corpus (empty when it is missing, so the test fails on it).
public func fuzzCorpus(_ target: String, named name: String, file: String = #filePath) -> [UInt8] {
    var root = URL(fileURLWithPath: file)
    while root.path != "/", !FileManager.default.fileExists(atPath: root.appendingPathComponent("FuzzTesting").path) {
        root.deleteLastPathComponent()
    }
    return FileManager.default.contents(atPath: root.appendingPathComponent("FuzzTesting/Corpus/\(target)/\(name)").path).map { [UInt8]($0) } ?? []
}
