import NIOCore
import Protocol
@testable import Server
import Testing

/// The coordinator's rewrite of relative expiry into absolute (as Redis 7 propagates writes).
@Suite struct AbsoluteExpiryTests {
    let now: Int64 = 1_800_000_000_000

    func rewrite(_ words: String...) -> [String]? {
        let args = words.map { ByteBuffer(string: $0) }
        guard let (spec, out) = AbsoluteExpiry.rewrite(CommandTable.lookup(args[0])!, args, now: now) else { return nil }
        #expect(CommandTable.lookup(out[0])!.isSame(as: spec))
        return out.map { String(buffer: $0) }
    }

    @Test func relativeTimesBecomeAbsolute() {
        #expect(rewrite("EXPIRE", "k", "10") == ["PEXPIREAT", "k", "1800000010000"])
        #expect(rewrite("pexpire", "k", "5", "NX") == ["PEXPIREAT", "k", "1800000000005", "NX"])
        #expect(rewrite("SETEX", "k", "10", "v") == ["SET", "k", "v", "PXAT", "1800000010000"])
        #expect(rewrite("PSETEX", "k", "7", "v") == ["SET", "k", "v", "PXAT", "1800000000007"])
        #expect(rewrite("SET", "k", "v", "EX", "10", "GET") == ["SET", "k", "v", "PXAT", "1800000010000", "GET"])
        #expect(rewrite("SET", "k", "v", "NX", "px", "3") == ["SET", "k", "v", "NX", "PXAT", "1800000000003"])
        #expect(rewrite("GETEX", "k", "EX", "1") == ["GETEX", "k", "PXAT", "1800000001000"])
        #expect(rewrite("RESTORE", "k", "10", "payload", "REPLACE") == ["RESTORE", "k", "1800000000010", "payload", "REPLACE", "ABSTTL"])
    }

    /// Anything already absolute, without expiry, or malformed travels as sent: each replica
    /// then gives Redis's own answer or error.
    @Test func everythingElseIsLeftAlone() {
        #expect(rewrite("SET", "k", "v") == nil)
        #expect(rewrite("SET", "k", "v", "KEEPTTL") == nil)
        #expect(rewrite("SET", "k", "v", "EXAT", "1900000000") == nil)
        #expect(rewrite("SET", "k", "v", "EX", "0") == nil)
        #expect(rewrite("SET", "k", "v", "EX", "ten") == nil)
        #expect(rewrite("EXPIRE", "k", "-1") == nil)
        #expect(rewrite("EXPIRE", "k", "9223372036854775807") == nil)
        #expect(rewrite("SETEX", "k", "0", "v") == nil)
        #expect(rewrite("GETEX", "k", "PERSIST") == nil)
        #expect(rewrite("RESTORE", "k", "0", "payload") == nil)
        #expect(rewrite("RESTORE", "k", "10", "payload", "ABSTTL") == nil)
    }
}
