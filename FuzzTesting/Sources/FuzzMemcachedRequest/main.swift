import FuzzDriver
import NIOCore
import Protocol

/// Any bytes as a memcached client's text stream, request after request.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    var buffer = ByteBuffer(bytes: UnsafeRawBufferPointer(start: start, count: count))
    var parser = MemcachedRequestParser()
    while let outcome = parser.next(from: &buffer) {
        if case .reply(_, let close) = outcome, close { break }
    }
    return 0
}

@_cdecl("FuzzMemcachedRequest_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
