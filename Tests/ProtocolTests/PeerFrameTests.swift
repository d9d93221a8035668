import NIOCore
import Protocol
import Testing

struct PeerFrameTests {
    func encoded(_ frame: PeerFrame) -> ByteBuffer {
        var out = ByteBuffer()
        frame.write(into: &out)
        return out
    }

    @Test func roundTripsEveryKindAcrossSplitReads() throws {
        var stream = ByteBuffer()
        let frames = [
            PeerFrame(kind: .hello, id: 0, payload: ByteBuffer(string: "127.0.0.1:8101 dc1 rack1 0")),
            PeerFrame(kind: .request, flags: [.write, .resp3], id: 7, stamp: 0xfeed_0000_0000_0abc, payload: ByteBuffer(string: "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")),
            PeerFrame(kind: .response, id: .max, payload: ByteBuffer()),
            PeerFrame(kind: .failure, id: 9, payload: ByteBuffer(string: "ERR no")),
        ]
        for frame in frames { frame.write(into: &stream) }
        // Fed one byte at a time, every frame still comes out whole and in order.
        var decoder = PeerFrameDecoder()
        var pending = ByteBuffer()
        var decoded: [PeerFrame] = []
        while var byte = stream.readSlice(length: 1) {
            pending.writeBuffer(&byte)
            while let frame = try decoder.decode(buffer: &pending) { decoded.append(frame) }
        }
        #expect(decoded.count == frames.count)
        for (a, b) in zip(decoded, frames) {
            #expect(a.kind == b.kind && a.id == b.id && a.flags == b.flags && a.stamp == b.stamp && a.payload == b.payload)
        }
    }

    @Test func headerLengthIsFilledInAfterThePayload() throws {
        var out = ByteBuffer()
        let lengthAt = PeerFrame.begin(.response, id: 3, into: &out)
        out.writeString("+OK\r\n")
        PeerFrame.finish(lengthAt: lengthAt, in: &out)
        var decoder = PeerFrameDecoder()
        let frame = try #require(try decoder.decode(buffer: &out))
        #expect(frame.payload == ByteBuffer(string: "+OK\r\n") && frame.id == 3)
    }

    @Test func malformedHeadersAreRefusedWithTheirReason() throws {
        var decoder = PeerFrameDecoder()
        var notPeer = ByteBuffer(string: "GET / HTTP/1.1\r\n")
        #expect(throws: PeerFrameError.badMagic(0x4745)) { try decoder.decode(buffer: &notPeer) }
        var future = encoded(PeerFrame(kind: .request, id: 1, payload: ByteBuffer()))
        future.setInteger(UInt8(3), at: 2)
        #expect(throws: PeerFrameError.unsupportedVersion(3)) { try decoder.decode(buffer: &future) }
        // A peer of the build before versioned writes (frame version 1) is refused, not misread.
        var old = encoded(PeerFrame(kind: .request, id: 1, payload: ByteBuffer()))
        old.setInteger(UInt8(1), at: 2)
        #expect(throws: PeerFrameError.unsupportedVersion(1)) { try decoder.decode(buffer: &old) }
        var unknown = encoded(PeerFrame(kind: .request, id: 1, payload: ByteBuffer()))
        unknown.setInteger(UInt8(99), at: 3)
        #expect(throws: PeerFrameError.unknownKind(99)) { try decoder.decode(buffer: &unknown) }
        var huge = encoded(PeerFrame(kind: .request, id: 1, payload: ByteBuffer()))
        huge.setInteger(UInt32.max, at: PeerFrame.lengthOffset)
        #expect(throws: PeerFrameError.tooLarge(Int(UInt32.max))) { try decoder.decode(buffer: &huge) }
        #expect(PeerFrameError.unsupportedVersion(1).description == "peer speaks frame version 1; this node speaks 2")
    }
}
