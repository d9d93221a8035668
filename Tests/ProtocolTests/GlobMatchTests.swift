import Protocol
import TestSupport
import Testing

/// Redis 7.0.15's `stringmatchlen_impl` (util.c) ported line by line, with its
/// `skipLongerMatches` cut-off: the model the iterative matcher must agree with. `calls` counts
/// its recursive calls. The C code reads the NUL after the pattern; `at` returns 0 there.
private struct RedisStringMatch {
    var calls = 0

    static func lower(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c | 0x20 : c }

    mutating func match(_ pattern: [UInt8], _ string: [UInt8], nocase: Bool) -> Bool {
        var skip = false
        return impl(pattern, 0, string, 0, nocase, &skip)
    }

    private mutating func impl(_ pat: [UInt8], _ p0: Int, _ str: [UInt8], _ s0: Int, _ nocase: Bool, _ skipLonger: inout Bool) -> Bool {
        calls += 1
        func at(_ i: Int) -> UInt8 { i < pat.count ? pat[i] : 0 }
        var p = p0, s = s0
        var patternLen = pat.count - p, stringLen = str.count - s
        while patternLen > 0 && stringLen > 0 {
            switch pat[p] {
            case UInt8(ascii: "*"):
                while patternLen > 1 && at(p + 1) == UInt8(ascii: "*") { p += 1; patternLen -= 1 }
                if patternLen == 1 { return true }
                while stringLen > 0 {
                    if impl(pat, p + 1, str, s, nocase, &skipLonger) { return true }
                    if skipLonger { return false }
                    s += 1; stringLen -= 1
                }
                skipLonger = true
                return false
            case UInt8(ascii: "?"):
                s += 1; stringLen -= 1
            case UInt8(ascii: "["):
                p += 1; patternLen -= 1
                let not = at(p) == UInt8(ascii: "^")
                if not { p += 1; patternLen -= 1 }
                var match = false
                while true {
                    if at(p) == UInt8(ascii: "\\") && patternLen >= 2 {
                        p += 1; patternLen -= 1
                        if at(p) == str[s] { match = true }
                    } else if at(p) == UInt8(ascii: "]") {
                        break
                    } else if patternLen == 0 {
                        p -= 1; patternLen += 1
                        break
                    } else if patternLen >= 3 && at(p + 1) == UInt8(ascii: "-") {
                        var start = at(p), end = at(p + 2), c = str[s]
                        if start > end { swap(&start, &end) }
                        if nocase { start = Self.lower(start); end = Self.lower(end); c = Self.lower(c) }
                        p += 2; patternLen -= 2
                        if c >= start && c <= end { match = true }
                    } else if nocase ? Self.lower(at(p)) == Self.lower(str[s]) : at(p) == str[s] {
                        match = true
                    }
                    p += 1; patternLen -= 1
                }
                if not { match.toggle() }
                if !match { return false }
                s += 1; stringLen -= 1
            default:
                if pat[p] == UInt8(ascii: "\\") && patternLen >= 2 { p += 1; patternLen -= 1 }
                let equal = nocase ? Self.lower(pat[p]) == Self.lower(str[s]) : pat[p] == str[s]
                if !equal { return false }
                s += 1; stringLen -= 1
            }
            p += 1; patternLen -= 1
            if stringLen == 0 {
                while at(p) == UInt8(ascii: "*") && patternLen > 0 { p += 1; patternLen -= 1 }
                break
            }
        }
        return patternLen == 0 && stringLen == 0
    }
}

@Suite struct GlobMatchTests {
    static func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func knownAnswers() {
        let cases: [(String, String, Bool)] = [
            ("*", "anything", true), ("*", "", false), ("", "", true), ("a*", "a", true),
            ("h?llo", "hello", true), ("h?llo", "hllo", false), ("h*llo", "heeeello", true),
            ("h[ae]llo", "hallo", true), ("h[ae]llo", "hillo", false), ("h[^e]llo", "hallo", true),
            ("h[^e]llo", "hello", false), ("h[a-b]llo", "hbllo", true), ("h[b-a]llo", "hallo", true),
            ("\\*", "*", true), ("\\*", "a", false), ("a\\", "a\\", true), ("[abc", "c", true),
            ("[]a]", "a", false), ("*a*b*c", "xxaxxbxxc", true), ("*a*b*c", "xxaxxcxxb", false),
            ("[\\]]", "]", true), ("user:1?", "user:12", true), ("user:1?", "user:123", false),
        ]
        for (pattern, string, expected) in cases {
            #expect(GlobMatch.matches(pattern: Self.b(pattern), Self.b(string)) == expected, "\(pattern) ~ \(string)")
        }
        #expect(GlobMatch.matches(pattern: Self.b("HE*O"), Self.b("hello"), nocase: true))
        #expect(!GlobMatch.matches(pattern: Self.b("HE*O"), Self.b("hello")))
    }

    /// Redis's regression test "pattern matching long nested loops" (CVE-2022-36021), and longer
    /// ones: the work stays within (string length + 1) × (pattern length + 1) steps.
    @Test func pathologicalPatternsStayPolynomial() {
        for (stars, length) in [(18, 60), (50, 300), (400, 5_000)] {
            let pattern = Array(repeating: Self.b("a*"), count: stars).flatMap { $0 } + Self.b("b")
            let string = [UInt8](repeating: UInt8(ascii: "a"), count: length)
            var steps = 0
            let matched = GlobMatch.matches(pattern: pattern[...], string[...], nocase: false, steps: &steps)
            #expect(!matched)
            #expect(steps <= (length + 1) * (pattern.count + 1), "\(steps) steps for \(stars) stars over \(length)")
        }
        // The same shapes with classes and `?`, which also cost one step each.
        let hostile = Array(repeating: Self.b("[a-z]*?*"), count: 200).flatMap { $0 } + Self.b("!")
        let string = [UInt8](repeating: UInt8(ascii: "q"), count: 2_000)
        var steps = 0
        #expect(!GlobMatch.matches(pattern: hostile[...], string[...], nocase: true, steps: &steps))
        #expect(steps <= (string.count + 1) * (hostile.count + 1))
    }

    /// Random patterns over a small alphabet full of metacharacters agree with Redis's own
    /// algorithm, quirks included (empty strings, unterminated classes, trailing escapes).
    @Test func agreesWithRedisOnRandomPatterns() {
        var random = SplitMix64(seed: 0x5EED_61_0B)
        let patternAlphabet = Self.b("ab*?[]^-\\A")
        let stringAlphabet = Self.b("abAB-]^\\*")
        var model = RedisStringMatch()
        var disagreements: [String] = []
        for _ in 0..<200_000 {
            let pattern = (0..<Int(random.next() % 9)).map { _ in random.pick(patternAlphabet) }
            let string = (0..<Int(random.next() % 8)).map { _ in random.pick(stringAlphabet) }
            let nocase = random.chance(30)
            let expected = model.match(pattern, string, nocase: nocase)
            if GlobMatch.matches(pattern: pattern, string, nocase: nocase) != expected, disagreements.count < 10 {
                disagreements.append("\(String(decoding: pattern, as: UTF8.self)) ~ \(String(decoding: string, as: UTF8.self)) nocase=\(nocase): redis \(expected)")
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements)")
    }
}
