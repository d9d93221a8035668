@_spi(Fuzzing) import Engines
import FuzzDriver
import Foundation
import NIOCore
import NIOEmbedded
import Protocol

/// Replies the engine hands on later go nowhere: the fuzzer only asks that the engine answers.
final class NoReceiver: ReplyReceiver, @unchecked Sendable {  // stateless
    func receive(_ reply: Result<ByteBuffer, EngineError>, for sequence: Int) {}
}

/// One engine in a temporary directory for the whole run (opening RocksDB per input would
/// measure RocksDB's open, not our decoders); every input ends by deleting what it planted or made.
nonisolated(unsafe) let directory: String = {
    let path = NSTemporaryDirectory() + "dynamis-fuzz-\(getpid())"
    try? FileManager.default.removeItem(atPath: path)
    return path
}()
nonisolated(unsafe) let engine: RocksDBEngine = try! RocksDBEngine(options: RocksDBOptions(directory: directory),
                                                                    keyHashIdentity: "fuzz") { key in
    var h: UInt32 = 2_166_136_261
    for b in key { h = (h ^ UInt32(b)) &* 16_777_619 }
    return h
}
nonisolated(unsafe) let session = engine.makeSession(eventLoop: EmbeddedEventLoop())
nonisolated(unsafe) let receiver = NoReceiver()
nonisolated(unsafe) var inputs = 0

/// Any bytes as a command choice and one key's stored metadata and element records (layout:
/// `StoredRecordFuzzing`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let (commands, records) = StoredRecordFuzzing.pick(UnsafeRawBufferPointer(start: start, count: count))
    guard !commands.isEmpty else { return 0 }
    StoredRecordFuzzing.run(records, engine: engine, session: session, receiver: receiver, commands: commands)
    inputs += 1
    if inputs % 256 == 0 { StoredRecordFuzzing.compact(engine) }
    return 0
}

@_cdecl("FuzzStoredRecords_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    atexit { try? FileManager.default.removeItem(atPath: directory) }
    return runLibFuzzer(argc, argv, fuzz)
}
