import Foundation
import Server
import TestSupport
import Testing

/// The config fuzzer's corpus (FuzzTesting/Corpus/FuzzConfig: the shipped configs, a file
/// setting every key, and every committed crasher) replayed through the loader.
@Suite struct ConfigCorpusTests {
    @Test func everyCorpusFileLoadsOrIsRefusedWithAConfigError() {
        let inputs = fuzzCorpus("FuzzConfig")
        #expect(inputs.count >= 7)
        var loaded = 0
        for input in inputs {
            do {
                _ = try ConfigLoader.parse(String(decoding: input, as: UTF8.self))
                loaded += 1
            } catch {
                #expect(!error.message.isEmpty)
            }
        }
        // The shipped configs and the every-key file are valid.
        #expect(loaded >= 7)
    }
}
