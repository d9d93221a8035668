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
}
