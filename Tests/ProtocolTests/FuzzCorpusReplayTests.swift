import Foundation
import NIOCore
import Protocol
import TestSupport
import Testing

/// Every input in the fuzzers' corpora (FuzzTesting/Corpus: seeds, and any crasher found is
/// committed there) goes through the decoders again in the ordinary suite, without sanitizers.
@Suite struct FuzzCorpusReplayTests {
    @Test func respRequests() {
        let inputs = fuzzCorpus("FuzzRESPRequest")
        #expect(!inputs.isEmpty)
        var parsed = 0
        for input in inputs {
            var buffer = ByteBuffer(bytes: input)
            var parser = RESPRequestParser()
            var arguments: [ByteBuffer] = []
            while (try? parser.next(from: &buffer, into: &arguments)) == true { parsed += 1 }
        }
        #expect(parsed > 0)
    }

    @Test func memcachedRequests() {
        let inputs = fuzzCorpus("FuzzMemcachedRequest")
        #expect(!inputs.isEmpty)
        for input in inputs {
            var buffer = ByteBuffer(bytes: input)
            var parser = MemcachedRequestParser()
            while let outcome = parser.next(from: &buffer) {
                if case .reply(_, let close) = outcome, close { break }
            }
        }
    }

    @Test func peerFramesAndReplies() {
        var wholeFrames = 0
        for input in fuzzCorpus("FuzzPeerFrame") {
            var buffer = ByteBuffer(bytes: input)
            var decoder = PeerFrameDecoder()
            while (try? decoder.decode(buffer: &buffer)) != nil { wholeFrames += 1 }
        }
        // The seed is in the current frame version: the fuzzer starts from frames that parse.
        #expect(wholeFrames >= 2)
        for input in fuzzCorpus("FuzzRESPReply") {
            var buffer = ByteBuffer(bytes: input)
            var framer = RESPReplyFramer()
            while (try? framer.next(from: &buffer)) != nil {}
        }
        #expect(!fuzzCorpus("FuzzPeerFrame").isEmpty && !fuzzCorpus("FuzzRESPReply").isEmpty)
    }
}
