import FuzzDriver
import Snapshot

/// Any bytes as an RDB file: every entry is read until the reader refuses or ends.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    guard var reader = try? RDBFileReader(bytes) else { return 0 }
    while let entry = try? reader.next() { _ = entry.offset }
    return 0
}

@_cdecl("FuzzRDB_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
