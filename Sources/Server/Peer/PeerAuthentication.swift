import Ring

/// The peer link handshake: mutual challenge–response over the shared secret (`peer_secret`,
/// else `requirepass`), so the secret itself never crosses the wire and a node that lacks it
/// can neither join nor pose as a peer.
///
/// Connector → listener: `<name dc rack token>` (identity). Listener → connector, with a secret:
/// `challenge <nonce>` (sent at accept); without: `welcome`. Connector: `auth <proof(nonce)>
/// <cnonce>`. Listener: `welcome <proof(cnonce)>`, or it closes. Nothing else flows before the
/// welcome. Proofs are HMAC-MD5 (HMAC needs no collision resistance) with a role label.
struct PeerAuthentication: Sendable {
    let secret: [UInt8]?

    init(secret: String?) {
        self.secret = secret.map { Array($0.utf8) }
    }

    static func nonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return hex((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// What the connector sends for the listener's nonce.
    func connectorProof(_ nonce: Substring) -> String { proof("dynamis-peer-connector:" + nonce) }
    /// What the listener sends back for the connector's nonce.
    func listenerProof(_ nonce: Substring) -> String { proof("dynamis-peer-listener:" + nonce) }

    private func proof(_ message: String) -> String {
        Self.hex(Self.hmacMD5(key: secret ?? [], message: Array(message.utf8)))
    }

    static func hmacMD5(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var block = key.count > 64 ? key.withUnsafeBytes { MD5.digest($0) } : key
        block += [UInt8](repeating: 0, count: 64 - block.count)
        let inner = block.map { $0 ^ 0x36 } + message
        let innerDigest = inner.withUnsafeBytes { MD5.digest($0) }
        let outer = block.map { $0 ^ 0x5c } + innerDigest
        return outer.withUnsafeBytes { MD5.digest($0) }
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Constant-time comparison of two proofs.
    static func matches(_ a: Substring, _ b: String) -> Bool {
        ConstantTime.equals(a.utf8, b)
    }
}
