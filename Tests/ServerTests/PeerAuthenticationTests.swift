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

@Suite("DNS TXT messages")
struct DNSMessageTests {
    @Test func queryAndAnswerRoundTrip() throws {
        let query = DNSMessage.txtQuery(name: "_dynomite.ec2-internal", id: 0x1234)
        #expect(Array(query.prefix(4)) == [0x12, 0x34, 0x01, 0x00])
        #expect(Array(query[12...]) == [9] + Array("_dynomite".utf8) + [12] + Array("ec2-internal".utf8) + [0, 0, 16, 0, 1])
        // An answer with two character-strings in one record, behind a compression pointer.
        let rdata: [UInt8] = [3] + Array("a|b".utf8) + [2] + Array("|c".utf8)
        let answer: [UInt8] = [0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0] + Array(query[12...])
            + [0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 0, 0, 0, UInt8(rdata.count)] + rdata
        #expect(try DNSMessage.txtStrings(answer, id: 0x1234) == ["a|b|c"])
        #expect(throws: DNSMessage.Malformed.self) { try DNSMessage.txtStrings(answer, id: 0x9999) }
        #expect(throws: DNSMessage.Malformed.self) { try DNSMessage.txtStrings(Array(answer.dropLast(2)), id: 0x1234) }
        var nxdomain = answer
        nxdomain[3] = 0x83
        #expect(throws: DNSMessage.Malformed.self) { try DNSMessage.txtStrings(nxdomain, id: 0x1234) }
    }
}
