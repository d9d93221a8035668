import FuzzDriver
import NIOCore
import Protocol

/// Any bytes as a backend's RESP2/RESP3 reply stream, cut into replies.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    var buffer = ByteBuffer(bytes: UnsafeRawBufferPointer(start: start, count: count))
    var framer = RESPReplyFramer()
    while let reply = try? framer.next(from: &buffer) { _ = reply.readableBytes }
    return 0
}

@_cdecl("FuzzRESPReply_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
