import Foundation
import TestSupport
import Testing

/// A real client end to end: redis-py 5 runs one call of every command family (strings,
/// hashes, lists, sets, sorted sets, bitmaps, HyperLogLog, geo, transactions, scan) against
/// redis-server 7.0 and against a RocksDB-engine node, and must get the same Python values
/// from both, in RESP3 and in RESP2 (issue 20). `make deps` installs redis-py 5 into
/// `.build/redis-py`; without it the test says so and skips.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct RedisPyClientTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let python = root + "/.build/redis-py/bin/python"
    static let script = root + "/tools/clients/redis_py_families.py"
    static var available: Bool { FileManager.default.isExecutableFile(atPath: python) }

    static func run(port: Int, protocolVersion: Int, in directory: TemporaryDirectory) throws -> String {
        let log = directory.path + "/redis-py-\(port)-\(protocolVersion).out"
        let child = try ChildProcess(executable: python, arguments: [script, "127.0.0.1", "\(port)", "\(protocolVersion)"], logPath: log)
        let status = child.waitForExit(seconds: 60)
        if status == nil { _ = child.stop(signal: SIGKILL) }
        #expect(status == 0, "redis-py script failed: \(child.log)")
        return child.log
    }

    @Test(.enabled(if: available, "redis-py 5 is not installed in .build/redis-py (make deps installs it)"),
          arguments: [3, 2])
    func everyFamilyGivesRedisPyTheSameValues(protocolVersion: Int) throws {
        let work = TemporaryDirectory("redis-py")
        let redis = try RedisServer()
        let node = try DynamisProcess()
        defer { redis.stop(); node.remove(); work.remove() }
        let expected = try Self.run(port: redis.port, protocolVersion: protocolVersion, in: work).split(separator: "\n")
        let actual = try Self.run(port: node.port, protocolVersion: protocolVersion, in: work).split(separator: "\n")
        #expect(expected.count > 60, "the script ran only \(expected.count) calls")
        let differences = zip(expected, actual).filter { $0 != $1 }.map { "redis:   \($0.0)\ndynamis: \($0.1)" }
        #expect(expected.count == actual.count)
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }
}
