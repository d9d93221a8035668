/// Redis's glob matching (`stringmatchlen`): `*`, `?`, `[...]` with ranges and `^`, and `\`
/// escapes, with Redis 7.0's answers for every quirk (an empty string matches only the empty
/// pattern; an unterminated class ends at the pattern's end; a trailing `\` is a literal).
///
/// Redis's own matcher recursed at every `*` and took exponential time on patterns such as
/// `a*a*a*…*b` (CVE-2022-36021). This one is iterative: it remembers only the last `*` and, on a
/// mismatch, retries from one character further. That is enough for globs, because every other
/// element consumes exactly one character, so a later `*` can always absorb what an earlier one
/// would have. The work is at most (string length + 1) × (pattern length + 1) element steps, and
/// no stack is used, however long or hostile the pattern.
public enum GlobMatch {
    /// Whether `string` matches `pattern`.
    public static func matches(pattern: [UInt8], _ string: [UInt8], nocase: Bool = false) -> Bool {
        var steps = 0
        return matches(pattern: pattern[...], string[...], nocase: nocase, steps: &steps)
    }

    /// Whether `string` matches `pattern` (a key read straight from storage, without copying it).
    public static func matches(pattern: [UInt8], _ string: ArraySlice<UInt8>, nocase: Bool = false) -> Bool {
        var steps = 0
        return matches(pattern: pattern[...], string, nocase: nocase, steps: &steps)
    }

    /// The matcher, counting in `steps` the pattern elements it examined (tests bound the work by it).
    public static func matches(
        pattern: ArraySlice<UInt8>, _ string: ArraySlice<UInt8>, nocase: Bool, steps: inout Int
    ) -> Bool {
        // Redis's loop runs only while both are non-empty: "*" does not match "".
        if string.isEmpty { return pattern.isEmpty }
        return pattern.withUnsafeBufferPointer { p in
            string.withUnsafeBufferPointer { s in match(p, s, nocase: nocase, steps: &steps) }
        }
    }

    @inline(__always)
    private static func lower(_ c: UInt8) -> UInt8 {
        c >= 65 && c <= 90 ? c | 0x20 : c
    }

    private static let star = UInt8(ascii: "*"), question = UInt8(ascii: "?"), open = UInt8(ascii: "[")
    private static let close = UInt8(ascii: "]"), caret = UInt8(ascii: "^"), backslash = UInt8(ascii: "\\")
    private static let dash = UInt8(ascii: "-")

    private static func match(
        _ pattern: UnsafeBufferPointer<UInt8>, _ string: UnsafeBufferPointer<UInt8>, nocase: Bool, steps: inout Int
    ) -> Bool {
        let m = pattern.count, n = string.count
        var p = 0, s = 0
        // The last `*` seen: the pattern index after it and the string index it is retried from.
        var resumeP = -1, resumeS = 0
        while s < n {
            steps += 1
            if p < m {
                let c = pattern[p]
                if c == star {
                    while p + 1 < m, pattern[p + 1] == star { p += 1 }
                    if p + 1 == m { return true }
                    resumeP = p + 1
                    resumeS = s
                    p += 1
                    continue
                }
                if c == question {
                    p += 1
                    s += 1
                    continue
                }
                if c == open {
                    let (matched, next) = matchClass(pattern, from: p, string[s], nocase: nocase, steps: &steps)
                    if matched {
                        p = next
                        s += 1
                        continue
                    }
                } else {
                    var literal = p
                    if c == backslash, p + 1 < m { literal += 1 }
                    let equal = nocase ? lower(pattern[literal]) == lower(string[s]) : pattern[literal] == string[s]
                    if equal {
                        p = literal + 1
                        s += 1
                        continue
                    }
                }
            }
            // A mismatch (or pattern exhausted with string left): let the last `*` take one more character.
            guard resumeP >= 0 else { return false }
            resumeS += 1
            s = resumeS
            p = resumeP
        }
        while p < m, pattern[p] == star { p += 1 }
        return p == m
    }

    /// Matches one character against the class that opens at `pattern[open]`, exactly as Redis
    /// parses it; returns whether it matched and the pattern index after the class.
    private static func matchClass(
        _ pattern: UnsafeBufferPointer<UInt8>, from open: Int, _ c: UInt8, nocase: Bool, steps: inout Int
    ) -> (Bool, Int) {
        let m = pattern.count
        var p = open + 1
        let negate = p < m && pattern[p] == caret
        if negate { p += 1 }
        var found = false
        while true {
            steps += 1
            if p < m, pattern[p] == backslash, p + 1 < m {
                // Redis compares an escaped class member exactly, even under nocase.
                p += 1
                if pattern[p] == c { found = true }
            } else if p < m, pattern[p] == close {
                break
            } else if p >= m {
                // Unterminated: Redis treats the pattern's end as the closing bracket.
                p = m - 1
                break
            } else if p + 2 < m, pattern[p + 1] == dash {
                var start = pattern[p], end = pattern[p + 2], x = c
                if start > end { swap(&start, &end) }
                if nocase {
                    start = lower(start)
                    end = lower(end)
                    x = lower(x)
                }
                if x >= start && x <= end { found = true }
                p += 2
            } else if nocase ? lower(pattern[p]) == lower(c) : pattern[p] == c {
                found = true
            }
            p += 1
        }
        if negate { found.toggle() }
        return (found, p + 1)
    }
}
