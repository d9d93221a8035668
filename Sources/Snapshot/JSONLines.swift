/// The JSON Lines snapshot format: one key per line,
/// `{"key":K,"type":"hash","expire_at_ms":N,"value":V}` (`expire_at_ms` only with a TTL).
/// A byte string is a JSON string when it is valid UTF-8, otherwise `{"base64":"..."}`.
/// Values: string → byte string; list and set → array; hash → array of [field, value];
/// zset → array of [member, score], with `"inf"`/`"-inf"` for infinite scores.
public enum JSONLines {
    public static func encode(_ entry: RDBEntry, into out: inout [UInt8]) {
        out.append(contentsOf: #"{"key":"#.utf8)
        bytes(entry.key, into: &out)
        out.append(contentsOf: #","type":""#.utf8)
        out.append(contentsOf: entry.value.typeName.utf8)
        out.append(UInt8(ascii: "\""))
        if let expireAt = entry.expireAtMillis {
            out.append(contentsOf: #","expire_at_ms":"#.utf8)
            out.append(contentsOf: String(expireAt).utf8)
        }
        out.append(contentsOf: #","value":"#.utf8)
        switch entry.value {
        case .string(let s): bytes(s, into: &out)
        case .list(let items), .set(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                bytes(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .hash(let fields):
            out.append(UInt8(ascii: "["))
            for (i, f) in fields.enumerated() {
                out.append(contentsOf: i > 0 ? Array(",[".utf8) : Array("[".utf8))
                bytes(f.field, into: &out)
                out.append(UInt8(ascii: ","))
                bytes(f.value, into: &out)
                out.append(UInt8(ascii: "]"))
            }
            out.append(UInt8(ascii: "]"))
        case .zset(let members):
            out.append(UInt8(ascii: "["))
            for (i, m) in members.enumerated() {
                out.append(contentsOf: i > 0 ? Array(",[".utf8) : Array("[".utf8))
                bytes(m.member, into: &out)
                out.append(UInt8(ascii: ","))
                if m.score.isInfinite {
                    out.append(contentsOf: (m.score > 0 ? #""inf""# : #""-inf""#).utf8)
                } else {
                    out.append(contentsOf: "\(m.score)".utf8)
                }
                out.append(UInt8(ascii: "]"))
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "}"))
        out.append(UInt8(ascii: "\n"))
    }

    static func bytes(_ b: [UInt8], into out: inout [UInt8]) {
        guard String(validating: b, as: UTF8.self) != nil else {
            out.append(contentsOf: #"{"base64":""#.utf8)
            Base64.encode(b, into: &out)
            out.append(contentsOf: #""}"#.utf8)
            return
        }
        out.append(UInt8(ascii: "\""))
        let hex = Array("0123456789abcdef".utf8)
        for c in b {
            switch c {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "\n"): out.append(contentsOf: #"\n"#.utf8)
            case UInt8(ascii: "\r"): out.append(contentsOf: #"\r"#.utf8)
            case UInt8(ascii: "\t"): out.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20:
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(hex[Int(c >> 4)])
                out.append(hex[Int(c & 15)])
            default: out.append(c)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Decodes one line; `lineNumber` goes into errors.
    public static func decode(_ line: UnsafeRawBufferPointer, lineNumber: Int) throws(RDBError) -> RDBEntry {
        var parser = JSONParser(line)
        let fail = { (message: String) in RDBError("line \(lineNumber): \(message)", at: 0) }
        let root: JSONParser.Value
        do { root = try parser.document() } catch { throw fail(error.message) }
        guard case .object(let members) = root else { throw fail("a line must be a JSON object") }
        var key: [UInt8]?, type: String?, expireAt: Int64?, raw: JSONParser.Value?
        for (name, value) in members {
            switch name {
            case "key": key = try byteString(value, fail)
            case "type":
                guard case .string(let t) = value else { throw fail("\"type\" must be a string") }
                type = String(decoding: t, as: UTF8.self)
            case "expire_at_ms":
                switch value {
                case .null: break
                case .number(let text):
                    guard let v = Int64(text) else { throw fail("\"expire_at_ms\" must be an integer") }
                    expireAt = v
                default: throw fail("\"expire_at_ms\" must be an integer")
                }
            case "value": raw = value
            default: break  // room for later fields
            }
        }
        guard let key else { throw fail("missing \"key\"") }
        guard let type else { throw fail("missing \"type\"") }
        guard let raw else { throw fail("missing \"value\"") }
        let value: RDBValue
        switch type {
        case "string": value = .string(try byteString(raw, fail))
        case "list", "set":
            guard case .array(let items) = raw else { throw fail("a \(type) value must be an array") }
            var out: [[UInt8]] = []
            out.reserveCapacity(items.count)
            for item in items { out.append(try byteString(item, fail)) }
            value = type == "list" ? .list(out) : .set(out)
        case "hash":
            guard case .array(let items) = raw else { throw fail("a hash value must be an array of [field, value]") }
            var out: [RDBField] = []
            for item in items {
                guard case .array(let pair) = item, pair.count == 2 else { throw fail("a hash entry must be [field, value]") }
                out.append(RDBField(field: try byteString(pair[0], fail), value: try byteString(pair[1], fail)))
            }
            value = .hash(out)
        case "zset":
            guard case .array(let items) = raw else { throw fail("a zset value must be an array of [member, score]") }
            var out: [RDBScoredMember] = []
            for item in items {
                guard case .array(let pair) = item, pair.count == 2 else { throw fail("a zset entry must be [member, score]") }
                let score: Double?
                switch pair[1] {
                case .number(let text): score = Double(text)
                case .string(let s):
                    switch String(decoding: s, as: UTF8.self) {
                    case "inf", "+inf": score = .infinity
                    case "-inf": score = -.infinity
                    default: score = nil
                    }
                default: score = nil
                }
                guard let score, !score.isNaN else { throw fail("a zset score must be a number, \"inf\" or \"-inf\"") }
                out.append(RDBScoredMember(member: try byteString(pair[0], fail), score: score))
            }
            value = .zset(out)
        default: throw fail("unknown type \"\(type)\"")
        }
        return RDBEntry(key: key, value: value, expireAtMillis: expireAt)
    }

    private static func byteString(_ v: JSONParser.Value, _ fail: (String) -> RDBError) throws(RDBError) -> [UInt8] {
        switch v {
        case .string(let s): return s
        case .object(let members):
            guard members.count == 1, members[0].0 == "base64", case .string(let text) = members[0].1,
                  let decoded = Base64.decode(text) else { throw fail("a binary string must be {\"base64\":\"...\"}") }
            return decoded
        default: throw fail("expected a string")
        }
    }
}

/// A small JSON parser for snapshot lines: strings come back as UTF-8 bytes, numbers as text.
struct JSONParser {
    enum Value {
        case string([UInt8])
        case number(String)
        case object([(String, Value)])
        case array([Value])
        case bool(Bool)
        case null
    }

    struct Failure: Error { let message: String }

    let bytes: UnsafeRawBufferPointer
    var i = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func document() throws(Failure) -> Value {
        let v = try value(depth: 0)
        skipSpace()
        guard i == bytes.count else { throw Failure(message: "trailing characters at column \(i + 1)") }
        return v
    }

    private mutating func skipSpace() {
        while i < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[i]) { i += 1 }
    }

    private mutating func value(depth: Int) throws(Failure) -> Value {
        guard depth < 16 else { throw Failure(message: "nesting too deep") }
        skipSpace()
        guard i < bytes.count else { throw Failure(message: "unexpected end of line") }
        switch bytes[i] {
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "{"):
            i += 1
            var members: [(String, Value)] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw Failure(message: "expected a member name at column \(i + 1)") }
                let name = String(decoding: try string(), as: UTF8.self)
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw Failure(message: "expected ':' at column \(i + 1)") }
                i += 1
                members.append((name, try value(depth: depth + 1)))
                skipSpace()
                guard i < bytes.count else { throw Failure(message: "unterminated object") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                guard bytes[i] == UInt8(ascii: "}") else { throw Failure(message: "expected ',' or '}' at column \(i + 1)") }
                i += 1
                return .object(members)
            }
        case UInt8(ascii: "["):
            i += 1
            var items: [Value] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard i < bytes.count else { throw Failure(message: "unterminated array") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                guard bytes[i] == UInt8(ascii: "]") else { throw Failure(message: "expected ',' or ']' at column \(i + 1)") }
                i += 1
                return .array(items)
            }
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default:
            let start = i
            while i < bytes.count, "+-.eE0123456789".utf8.contains(bytes[i]) { i += 1 }
            guard i > start else { throw Failure(message: "unexpected character at column \(i + 1)") }
            return .number(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self))
        }
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count,
              word.withUTF8Buffer({ w in (0..<n).allSatisfy { bytes[i + $0] == w[$0] } }) else {
            throw Failure(message: "unexpected word at column \(i + 1)")
        }
        i += n
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard i + 4 <= bytes.count else { throw Failure(message: "truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw Failure(message: "bad \\u escape at column \(i + 1)")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    private mutating func string() throws(Failure) -> [UInt8] {
        i += 1
        var out: [UInt8] = []
        while i < bytes.count {
            let c = bytes[i]
            i += 1
            if c == UInt8(ascii: "\"") { return out }
            guard c == UInt8(ascii: "\\") else { out.append(c); continue }
            guard i < bytes.count else { break }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "n"): out.append(0x0a)
            case UInt8(ascii: "r"): out.append(0x0d)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0c)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xd800..<0xdc00).contains(scalar), i + 6 <= bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                    i += 2
                    let low = try hex4()
                    // A high surrogate must be followed by a low one (found by FuzzJSONLines: any
                    // other \u here overflowed the arithmetic and trapped).
                    guard (0xdc00..<0xe000).contains(low) else { throw Failure(message: "bad \\u surrogate pair") }
                    scalar = 0x10000 + ((scalar - 0xd800) << 10) + (low - 0xdc00)
                }
                guard let u = Unicode.Scalar(scalar) else { throw Failure(message: "bad \\u escape") }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default: throw Failure(message: "bad escape at column \(i)")
            }
        }
        throw Failure(message: "unterminated string")
    }
}
