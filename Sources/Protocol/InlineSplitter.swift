/// Splits an inline command line into words the way Redis's `sdssplitargs` does: blanks
/// separate words, double quotes take C escapes (\n, \xHH, ...), single quotes take only \'.
/// Returns nil for unbalanced quotes or a closing quote not followed by a blank.
enum InlineSplitter {
    static func split(_ line: [UInt8]) -> [[UInt8]]? {
        var words: [[UInt8]] = []
        var i = 0
        let n = line.count
        func isBlank(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 || c == 11 || c == 12 || c == 0 }
        func hexValue(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        while true {
            while i < n, isBlank(line[i]) { i += 1 }
            if i >= n { return words }
            var word: [UInt8] = []
            var inDouble = false
            var inSingle = false
            var done = false
            while !done {
                if inDouble {
                    guard i < n else { return nil }
                    let c = line[i]
                    if c == UInt8(ascii: "\\"), i + 3 < n, line[i + 1] == UInt8(ascii: "x"),
                       let h = hexValue(line[i + 2]), let l = hexValue(line[i + 3]) {
                        word.append(h << 4 | l)
                        i += 3
                    } else if c == UInt8(ascii: "\\"), i + 1 < n {
                        i += 1
                        switch line[i] {
                        case UInt8(ascii: "n"): word.append(10)
                        case UInt8(ascii: "r"): word.append(13)
                        case UInt8(ascii: "t"): word.append(9)
                        case UInt8(ascii: "b"): word.append(8)
                        case UInt8(ascii: "a"): word.append(7)
                        default: word.append(line[i])
                        }
                    } else if c == UInt8(ascii: "\"") {
                        if i + 1 < n, !isBlank(line[i + 1]) { return nil }
                        done = true
                    } else {
                        word.append(c)
                    }
                } else if inSingle {
                    guard i < n else { return nil }
                    let c = line[i]
                    if c == UInt8(ascii: "\\"), i + 1 < n, line[i + 1] == UInt8(ascii: "'") {
                        i += 1
                        word.append(UInt8(ascii: "'"))
                    } else if c == UInt8(ascii: "'") {
                        if i + 1 < n, !isBlank(line[i + 1]) { return nil }
                        done = true
                    } else {
                        word.append(c)
                    }
                } else {
                    if i >= n { done = true; break }
                    let c = line[i]
                    switch c {
                    case 32, 10, 13, 9, 0:
                        done = true
                    case UInt8(ascii: "\""):
                        inDouble = true
                    case UInt8(ascii: "'"):
                        inSingle = true
                    default:
                        word.append(c)
                    }
                }
                if i < n { i += 1 }
            }
            words.append(word)
        }
    }
}
