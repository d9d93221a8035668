import NIOCore
import Protocol
import Testing
@testable import Server

/// The in-handler frame cutter: whole frames in order whatever the read boundaries, and after
/// a malformed frame, an error once and nothing more.
struct PeerFrameReaderTests {
    static let frames = [
        PeerFrame(kind: .request, flags: [.write], id: 1, payload: ByteBuffer(string: "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")),
        PeerFrame(kind: .response, id: 2, payload: ByteBuffer()),
        PeerFrame(kind: .failure, id: 3, payload: ByteBuffer(string: String(repeating: "e", count: 700))),
    ]

    static var stream: [UInt8] {
        var out = ByteBuffer()
        for frame in frames { frame.write(into: &out) }
        return Array(out.readableBytesView)
    }

    @Test func everySplitOfTheStreamGivesTheSameFrames() throws {
        let bytes = Self.stream
        for cut in stride(from: 1, to: bytes.count, by: 7) {
            for second in [cut, min(bytes.count, cut + 19)] {
                var reader = PeerFrameReader()
                var seen: [PeerFrame] = []
                for part in [bytes[0..<cut], bytes[cut..<second], bytes[second...]] {
                    try reader.read(ByteBuffer(bytes: part)) { seen.append($0) }
                }
                #expect(seen.map(\.id) == [1, 2, 3], "cut at \(cut), \(second)")
                #expect(zip(seen, Self.frames).allSatisfy { $0.kind == $1.kind && $0.flags == $1.flags && $0.payload == $1.payload })
            }
        }
    }

    @Test func aMalformedFrameFailsOnceAndStopsTheStream() throws {
        var reader = PeerFrameReader()
        var seen: [UInt64] = []
        let good = Self.stream
        #expect(throws: PeerFrameError.self) {
            try reader.read(ByteBuffer(bytes: good + Array("*1\r\n$4\r\nPING\r\n".utf8))) { seen.append($0.id) }
        }
        #expect(seen == [1, 2, 3])
        #expect(reader.failed)
        try reader.read(ByteBuffer(bytes: good)) { seen.append($0.id) }
        #expect(seen == [1, 2, 3])
    }
}
