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

    /// `state_chunk_size` takes Redis-style sizes within its bounds: a part must fit a peer frame.
    @Test func stateChunkSizeIsBounded() throws {
        func load(_ value: String) throws -> DynamisConfig {
            try ConfigLoader.parse("dyn_o_mite:\n  listen: 127.0.0.1:1\n  state_chunk_size: \(value)\n")
        }
        #expect(try ConfigLoader.parse("dyn_o_mite:\n  listen: 127.0.0.1:1\n").stateChunkSize == 16 << 20)
        #expect(try load("1kb").stateChunkSize == 1024)
        #expect(try load("256mb").stateChunkSize == 256 << 20)
        #expect(throws: ConfigError.self) { try load("512") }
        #expect(throws: ConfigError.self) { try load("300mb") }
    }

    /// Dynomite keys Dynamis has no use for load, each with a log line saying it has no effect.
    @Test func keysWithoutEffectAreNamed() throws {
        let config = try ConfigLoader.parse("dyn_o_mite:\n  listen: 127.0.0.1:1\n  preconnect: false\n  enable_gossip: true\n  stats_interval: 5000\n")
        for key in ["preconnect", "enable_gossip", "stats_interval"] {
            #expect(config.warnings.contains { $0.hasPrefix("key '\(key)'") && $0.contains("no effect") }, "\(key)")
        }
    }
}
