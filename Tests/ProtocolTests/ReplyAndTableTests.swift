import NIOCore
import Testing
@testable import Protocol

@Suite struct ReplyWriterTests {
    func written(resp3: Bool = false, _ body: (inout ReplyWriter) -> Void) -> String {
        var writer = ReplyWriter(buffer: ByteBuffer(), resp3: resp3)
        body(&writer)
        return String(decoding: writer.buffer.readableBytesView, as: UTF8.self)
    }

    @Test func integersIncludingExtremes() {
        #expect(written { $0.integer(0) } == ":0\r\n")
        #expect(written { $0.integer(-1) } == ":-1\r\n")
        #expect(written { $0.integer(Int.max) } == ":9223372036854775807\r\n")
        #expect(written { $0.integer(Int.min) } == ":-9223372036854775808\r\n")
    }

    @Test func nullsAndMapsFollowTheProtocolVersion() {
        #expect(written { $0.null() } == "$-1\r\n")
        #expect(written(resp3: true) { $0.null() } == "_\r\n")
        #expect(written { $0.mapHeader(2) } == "*4\r\n")
        #expect(written(resp3: true) { $0.mapHeader(2) } == "%2\r\n")
        #expect(written { $0.bulk("hi") } == "$2\r\nhi\r\n")
    }

    @Test func errorsStayOnOneLine() {
        #expect(written { $0.error("ERR a\r\nb") } == "-ERR a  b\r\n")
    }
}

@Suite struct CommandTableTests {
    @Test func lookupIgnoresCase() {
        #expect(CommandTable.lookup("get")?.id == .get)
        #expect(CommandTable.lookup("GeT")?.id == .get)
        #expect(CommandTable.lookup("INCRBYFLOAT")?.id == .incrbyfloat)
        #expect(CommandTable.lookup("gett") == nil)
        #expect(CommandTable.lookup("") == nil)
    }

    /// The connection handles exactly MULTI, EXEC, DISCARD, WATCH and UNWATCH itself inside a
    /// transaction (the row's flag says so; nothing switches on the id).
    @Test func transactionControlRowsAreTheTransactionFamily() {
        let control = CommandTable.all.filter { $0.flags.contains(.transactionControl) }.map { "\($0.name)" }.sorted()
        #expect(control == ["discard", "exec", "multi", "unwatch", "watch"])
        #expect(CommandTable.all.filter { $0.flags.contains(.transactionControl) }.allSatisfy { $0.flags.contains(.connection) })
    }

    @Test func arityFollowsRedisConvention() {
        let get = CommandTable.lookup("get")!
        #expect(get.acceptsArgumentCount(2))
        #expect(!get.acceptsArgumentCount(3))
        let set = CommandTable.lookup("set")!
        #expect(set.acceptsArgumentCount(3) && set.acceptsArgumentCount(9))
        #expect(!set.acceptsArgumentCount(2))
    }

    /// The rules a row's cluster route and key spec must keep (the coordinator reads nothing else).
    @Test func routesAndKeySpecsAreConsistent() {
        for spec in CommandTable.all {
            // Every blocking command is refused in a cluster, with the reason.
            if spec.flags.contains(.blocking) {
                guard case .refused(let reason) = spec.route else { Issue.record("\(spec.name) blocks but routes \(spec.route)"); continue }
                #expect(reason.description.contains("blocking"))
            }
            switch spec.route {
            case .splitByKey(let merge):
                // Split commands take any number of keys from argument 1 on.
                #expect(spec.firstKey == 1 && spec.lastKey == -1 && spec.keySpec == .range, "\(spec.name)")
                #expect(merge == (spec.flags.contains(.write) ? (spec.keyStep == 2 ? .allOK : .sum) : (spec.name.description == "mget" ? .elements : .sum)), "\(spec.name)")
            case .anyReplica:
                // Only a read whose healthy replicas answer differently by nature may take one answer.
                #expect(spec.flags.contains(.readonly) && spec.flags.contains(.nondeterministicOutput), "\(spec.name)")
            case .everyNode, .localRack, .rackScan, .oneRackNode:
                #expect(spec.firstKey == 0 && spec.keySpec == .range, "\(spec.name) is keyspace-wide yet names keys")
            default:
                break
            }
            if case .counted(let at, _, _) = spec.keySpec { #expect(-spec.arity > at, "\(spec.name): its count must be a required argument") }
        }
        #expect(CommandTable.lookup("mget")!.route == .splitByKey(.elements))
        #expect(CommandTable.lookup("zunionstore")!.keySpec == .counted(at: 2, destination: true))
        #expect(CommandTable.lookup("blpop")!.route != .owners)
    }

    @Test func namesAreUniqueAndLowercase() {
        let names = CommandTable.all.map(\.text)
        #expect(Set(names).count == names.count)
        #expect(names.allSatisfy { $0 == $0.lowercased() })
    }
}

@Suite struct RedisIntegerAndGlobTests {
    @Test func strictIntegerSyntax() {
        #expect(RedisInteger.parse(Array("0".utf8)) == 0)
        #expect(RedisInteger.parse(Array("-42".utf8)) == -42)
        #expect(RedisInteger.parse(Array("9223372036854775807".utf8)) == Int.max)
        #expect(RedisInteger.parse(Array("-9223372036854775808".utf8)) == Int.min)
        for bad in ["", "-", "01", "+1", " 1", "1 ", "9223372036854775808", "1.0", "-0"] {
            #expect(RedisInteger.parse(Array(bad.utf8)) == nil, "\(bad)")
        }
    }

    @Test func globPatterns() {
        func m(_ p: String, _ s: String) -> Bool { GlobMatch.matches(pattern: Array(p.utf8), Array(s.utf8)) }
        // Redis's matcher never matches the empty string (KEYS * and MATCH * skip the matcher).
        #expect(m("*", "anything") && !m("*", ""))
        #expect(m("h?llo", "hello") && !m("h?llo", "hllo"))
        #expect(m("h[ae]llo", "hallo") && !m("h[ae]llo", "hillo"))
        #expect(m("h[^e]llo", "hallo") && !m("h[^e]llo", "hello"))
        #expect(m("h[a-b]llo", "hbllo") && !m("h[a-b]llo", "hcllo"))
        #expect(m("a\\*b", "a*b") && !m("a\\*b", "axb"))
        #expect(m("*ab*", "xxabyy") && !m("*ab*", "xxayy"))
        #expect(m("save", "save") && !m("save", "saves"))
    }
}
