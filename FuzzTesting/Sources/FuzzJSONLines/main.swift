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

// SwiftPM links an executable's entry point as `FuzzJSONLines_main`; it hands over to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafeRawPointer, Int) -> CInt) -> CInt

@_cdecl("FuzzJSONLines_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, fuzz)
}
