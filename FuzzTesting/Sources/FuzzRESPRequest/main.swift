import FuzzDriver
import NIOCore
import Protocol

/// Any bytes as a client's RESP (or inline) stream: every command is parsed until the parser
/// wants more or refuses; nothing may trap, leak or loop.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    var buffer = ByteBuffer(bytes: UnsafeRawBufferPointer(start: start, count: count))
    var parser = RESPRequestParser()
    var arguments: [ByteBuffer] = []
    while (try? parser.next(from: &buffer, into: &arguments)) == true {}
    return 0
}

@_cdecl("FuzzRESPRequest_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
