import Foundation
import NIOCore
import Protocol
import Testing

/// Every input in the fuzzers' corpora (FuzzTesting/Corpus: seeds, and any crasher found is
/// committed there) goes through the decoders again in the ordinary suite, without sanitizers.
@Suite struct FuzzCorpusReplayTests {
    static func corpus(_ target: String) -> [[UInt8]] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let folder = root.appendingPathComponent("FuzzTesting/Corpus/\(target)")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted().compactMap { FileManager.default.contents(atPath: folder.appendingPathComponent($0).path).map { [UInt8]($0) } }
    }

    @Test func respRequests() {
        let inputs = Self.corpus("FuzzRESPRequest")
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
        let inputs = Self.corpus("FuzzMemcachedRequest")
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
        for input in Self.corpus("FuzzPeerFrame") {
            var buffer = ByteBuffer(bytes: input)
            var decoder = PeerFrameDecoder()
            while (try? decoder.decode(buffer: &buffer)) != nil {}
        }
        for input in Self.corpus("FuzzRESPReply") {
            var buffer = ByteBuffer(bytes: input)
            var framer = RESPReplyFramer()
            while (try? framer.next(from: &buffer)) != nil {}
        }
        #expect(!Self.corpus("FuzzPeerFrame").isEmpty && !Self.corpus("FuzzRESPReply").isEmpty)
    }
}
