import Testing
@testable import Server

@Suite("Peer authentication")
struct PeerAuthenticationTests {
    static func hex(_ b: [UInt8]) -> String { b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }

    @Test func hmacMD5MatchesRFC2202() {
        #expect(Self.hex(PeerAuthentication.hmacMD5(key: [UInt8](repeating: 0x0b, count: 16), message: Array("Hi There".utf8)))
                == "9294727a3638bb1c13f48ef8158bfc9d")
        #expect(Self.hex(PeerAuthentication.hmacMD5(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8)))
                == "750c783e6ab0b503eaa86e310a5db738")
        #expect(Self.hex(PeerAuthentication.hmacMD5(key: [UInt8](repeating: 0xaa, count: 80),
                                                    message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)))
                == "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd")
    }

    @Test func proofsDependOnSecretNonceAndRole() {
        let a = PeerAuthentication(secret: "s3cret"), b = PeerAuthentication(secret: "other")
        #expect(a.connectorProof("n1") == PeerAuthentication(secret: "s3cret").connectorProof("n1"))
        #expect(a.connectorProof("n1") != b.connectorProof("n1"))
        #expect(a.connectorProof("n1") != a.connectorProof("n2"))
        #expect(a.connectorProof("n1") != a.listenerProof("n1"))
        #expect(PeerAuthentication.nonce() != PeerAuthentication.nonce())
    }
}
