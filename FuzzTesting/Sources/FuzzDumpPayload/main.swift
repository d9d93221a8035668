import FuzzDriver
import Snapshot

/// Any bytes as a DUMP payload (RESTORE's input); what decodes must encode again.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    if let value = try? DumpPayload.decode(UnsafeRawBufferPointer(start: start, count: count)) {
        _ = DumpPayload.encode(value)
    }
    return 0
}

@_cdecl("FuzzDumpPayload_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
