/// The two DNS messages `dns_provider` needs (RFC 1035): a recursive TXT query, and the TXT
/// strings of its answer.
enum DNSMessage {
    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    static func txtQuery(name: String, id: UInt16) -> [UInt8] {
        var out: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in name.split(separator: ".") {
            let bytes = Array(label.utf8.prefix(63))
            out.append(UInt8(bytes.count))
            out += bytes
        }
        out += [0, 0, 16, 0, 1]  // root; QTYPE TXT; QCLASS IN
        return out
    }

    /// The answer's TXT records, each the concatenation of its character-strings.
    static func txtStrings(_ m: [UInt8], id: UInt16) throws(Malformed) -> [String] {
        guard m.count >= 12 else { throw Malformed(description: "a DNS reply shorter than its header") }
        guard UInt16(m[0]) << 8 | UInt16(m[1]) == id else { throw Malformed(description: "a DNS reply to another query") }
        let rcode = m[3] & 0x0f
        guard rcode == 0 else { throw Malformed(description: "DNS error code \(rcode)") }
        let questions = Int(m[4]) << 8 | Int(m[5])
        let answers = Int(m[6]) << 8 | Int(m[7])
        var i = 12
        func skipName() throws(Malformed) {
            while true {
                guard i < m.count else { throw Malformed(description: "a truncated name") }
                let length = Int(m[i])
                if length & 0xc0 == 0xc0 { i += 2; return }  // compression pointer ends the name
                i += 1
                if length == 0 { return }
                i += length
            }
        }
        for _ in 0..<questions {
            try skipName()
            i += 4
        }
        var out: [String] = []
        for _ in 0..<answers {
            try skipName()
            guard i + 10 <= m.count else { throw Malformed(description: "a truncated answer") }
            let type = Int(m[i]) << 8 | Int(m[i + 1])
            let length = Int(m[i + 8]) << 8 | Int(m[i + 9])
            i += 10
            guard i + length <= m.count else { throw Malformed(description: "a truncated record") }
            if type == 16 {
                var text: [UInt8] = []
                var j = i
                while j < i + length {
                    let n = Int(m[j])
                    guard j + 1 + n <= i + length else { throw Malformed(description: "a truncated TXT string") }
                    text += m[(j + 1)..<(j + 1 + n)]
                    j += 1 + n
                }
                out.append(String(decoding: text, as: UTF8.self))
            }
            i += length
        }
        return out
    }
}
