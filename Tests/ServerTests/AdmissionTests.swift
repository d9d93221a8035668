import NIOCore
import Protocol
import Testing
@testable import Server

/// The one admission rule every entry point asks (clients, MULTI, the coordinator's own replica,
/// peers): Dynomite's node states, without sockets.
@Suite struct AdmissionTests {
    @Test func nodeStatesAdmitAsDynomitesDo() {
        let expected: [(NodeState, read: Bool, write: Bool)] = [
            (.normal, true, true), (.standby, false, false), (.writesOnly, false, true), (.resuming, false, true),
        ]
        for (state, read, write) in expected {
            #expect((Admission.check(state, isWrite: false) == nil) == read, "\(state.name) read")
            #expect((Admission.check(state, isWrite: true) == nil) == write, "\(state.name) write")
        }
        #expect(NodeState.allCases.count == expected.count)
        let refusal = Admission.check(.standby, isWrite: false)
        #expect(refusal == .nodeState)
        #expect(refusal?.text == "ERR Dynomite: Dynomite's current state does not allow this request")
        #expect(refusal?.memcachedText == "Dynomite: Dynomite's current state does not allow this request")
    }

    /// Refused rows always; blocking commands only where a connection is shared (a forwarding
    /// engine's backend pool, a peer's link), never on the RocksDB engine's own client path.
    @Test func unsupportedCommandsAreRefusedWithRedisStyleText() {
        let subscribe = CommandTable.lookup("subscribe")!, blpop = CommandTable.lookup("blpop")!, get = CommandTable.lookup("get")!
        #expect(Admission.check(subscribe, sharedConnection: false) == .unsupported("subscribe"))
        #expect(Admission.check(blpop, sharedConnection: true) == .unsupported("blpop"))
        #expect(Admission.check(blpop, sharedConnection: false) == nil)
        #expect(Admission.check(get, sharedConnection: true) == nil)
        #expect(Admission.Refusal.unsupported("blpop").text
                == "ERR 'blpop' is not supported by Dynamis: it needs per-connection state on one server (subscriptions, transactions, blocking pops, replication)")
    }

    /// The front of the RESP entry points, in Redis 7.0's order: the name, the argument count,
    /// then authentication; what each entry point offers (peer-only rows are hidden from clients,
    /// connection rows from peers, backend-only rows on the RocksDB engine).
    @Test func requestsAreLookedUpThenCountedThenAuthenticated() {
        func args(_ words: String...) -> [ByteBuffer] { words.map { ByteBuffer(string: $0) } }
        let anonymous = Admission.Entry.client(authenticated: false), client = Admission.Entry.client(authenticated: true)
        func rejection(_ a: [ByteBuffer], _ entry: Admission.Entry, forwards: Bool = false) -> Admission.Rejection? {
            if case .failure(let r) = Admission.command(a, from: entry, forwardsCommands: forwards) { return r }
            return nil
        }
        #expect(rejection(args("nope", "x"), client) == .unknownCommand)
        #expect(rejection(args("GET"), anonymous) == .arity("get"))  // before NOAUTH, as redis-server 7.0
        #expect(rejection(args("GET", "a"), anonymous) == .noAuth)
        #expect(rejection(args("AUTH", "pw"), anonymous) == nil)
        #expect(rejection(args("get", "a"), client) == nil)
        #expect(rejection(args("dynamis.topology"), client) == .unknownCommand)
        #expect(rejection(args("dynamis.topology"), .peer) == nil)
        #expect(rejection(args("PING"), .peer) == .unknownCommand)
        #expect(rejection(args("GET", "a", "b"), .peer) == .arity("get"))
        #expect(rejection(args("EVAL", "return 1", "0"), client) == .unknownCommand)
        #expect(rejection(args("EVAL", "return 1", "0"), client, forwards: true) == nil)
        #expect(Admission.Rejection.arity("get").message(args("GET")) == "ERR wrong number of arguments for 'get' command")
        #expect(Admission.Rejection.noAuth.message([]) == "NOAUTH Authentication required.")
        #expect(Admission.Rejection.unknownCommand.message(args("nope", "x")) == "ERR unknown command 'nope', with args beginning with: 'x' ")
        #expect(Admission.Rejection.arity("get").cause == .arity && Admission.Rejection.noAuth.cause == .noauth)
    }
}
