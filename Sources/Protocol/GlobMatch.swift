/// Redis's glob matching (`stringmatchlen`): `*`, `?`, `[...]` with ranges and `^`, and `\`
/// escapes. Used by CONFIG GET now, and by KEYS/SCAN MATCH.
public enum GlobMatch {
    public static func matches(pattern: [UInt8], _ string: [UInt8], nocase: Bool = false) -> Bool {
        match(pattern[...], string[...], nocase: nocase)
    }

    private static func fold(_ c: UInt8, _ nocase: Bool) -> UInt8 {
        nocase && c >= 65 && c <= 90 ? c | 0x20 : c
    }

    private static func match(_ pattern: ArraySlice<UInt8>, _ string: ArraySlice<UInt8>, nocase: Bool) -> Bool {
        var p = pattern.startIndex
        var s = string.startIndex
        while p < pattern.endIndex, s <= string.endIndex {
            switch pattern[p] {
            case UInt8(ascii: "*"):
                while p + 1 < pattern.endIndex, pattern[p + 1] == UInt8(ascii: "*") { p += 1 }
                if p + 1 == pattern.endIndex { return true }
                var i = s
                while i <= string.endIndex {
                    if match(pattern[(p + 1)...], string[i...], nocase: nocase) { return true }
                    i += 1
                }
                return false
            case UInt8(ascii: "?"):
                if s == string.endIndex { return false }
                s += 1
            case UInt8(ascii: "["):
                if s == string.endIndex { return false }
                p += 1
                let negate = p < pattern.endIndex && pattern[p] == UInt8(ascii: "^")
                if negate { p += 1 }
                var found = false
                while p < pattern.endIndex, pattern[p] != UInt8(ascii: "]") {
                    if pattern[p] == UInt8(ascii: "\\"), p + 1 < pattern.endIndex {
                        p += 1
                        if fold(pattern[p], nocase) == fold(string[s], nocase) { found = true }
                    } else if p + 2 < pattern.endIndex, pattern[p + 1] == UInt8(ascii: "-") {
                        var lo = fold(pattern[p], nocase), hi = fold(pattern[p + 2], nocase)
                        if lo > hi { swap(&lo, &hi) }
                        let c = fold(string[s], nocase)
                        if c >= lo && c <= hi { found = true }
                        p += 2
                    } else if fold(pattern[p], nocase) == fold(string[s], nocase) {
                        found = true
                    }
                    p += 1
                }
                if p == pattern.endIndex { p -= 1 }  // unterminated class: Redis treats the end as ']'
                if negate { found.toggle() }
                if !found { return false }
                s += 1
            case UInt8(ascii: "\\") where p + 1 < pattern.endIndex:
                p += 1
                fallthrough
            default:
                if s == string.endIndex || fold(pattern[p], nocase) != fold(string[s], nocase) { return false }
                s += 1
            }
            p += 1
            if s == string.endIndex {
                while p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") { p += 1 }
                break
            }
        }
        return p == pattern.endIndex && s == string.endIndex
    }
}
