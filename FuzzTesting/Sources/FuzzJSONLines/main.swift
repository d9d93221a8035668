import FuzzDriver
import Snapshot

/// Any bytes as one JSON Lines record; what decodes must encode again.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    if let entry = try? JSONLines.decode(UnsafeRawBufferPointer(start: start, count: count), lineNumber: 1) {
        var out: [UInt8] = []
        JSONLines.encode(entry, into: &out)
    }
    return 0
}

@_cdecl("FuzzJSONLines_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
