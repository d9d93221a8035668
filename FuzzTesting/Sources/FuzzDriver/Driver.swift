/// libFuzzer's entry into a Swift fuzz target. SwiftPM links an executable's entry point as
/// `<target>_main`; each target defines that symbol as one call to `runLibFuzzer`, which hands
/// over to libFuzzer's driver with the target's `LLVMFuzzerTestOneInput`.
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                                 _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                                 _ callback: @convention(c) (UnsafeRawPointer, Int) -> CInt) -> CInt

/// Runs libFuzzer with `testOneInput` on the process's command line.
public func runLibFuzzer(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                         _ testOneInput: @convention(c) (UnsafeRawPointer, Int) -> CInt) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, testOneInput)
}
