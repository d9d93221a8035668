import FuzzDriver
import NIOCore
import Protocol

/// Any bytes as a peer link's frame stream.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    var buffer = ByteBuffer(bytes: UnsafeRawBufferPointer(start: start, count: count))
    var decoder = PeerFrameDecoder()
    while let frame = try? decoder.decode(buffer: &buffer) { _ = frame.payload.readableBytes }
    return 0
}

@_cdecl("FuzzPeerFrame_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
