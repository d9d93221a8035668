#if canImport(Glibc)
import Glibc
#endif

/// Counts what a run did; draws a one-line progress bar on a terminal and prints the summary.
final class Progress {
    let verb: String
    private let quiet: Bool
    private let drawing: Bool
    private let started = monotonicSeconds()
    private var lastDraw = 0.0
    var total: Int?
    private(set) var keys = 0
    private(set) var bytes = 0
    var skipped: [String: Int] = [:]
    var errors = 0
    var firstErrors: [String] = []
    private var byType: [String: Int] = [:]

    init(verb: String, quiet: Bool) {
        self.verb = verb
        self.quiet = quiet
        drawing = !quiet && isatty(STDERR_FILENO) == 1
    }

    func done(type: String, bytes count: Int) {
        keys += 1
        bytes += count
        byType[type, default: 0] += 1
        if drawing, keys & 1023 == 0 { drawIfDue() }
    }

    func skip(_ reason: String) { skipped[reason, default: 0] += 1 }

    func error(_ message: String) {
        errors += 1
        if firstErrors.count < 5 { firstErrors.append(message) }
    }

    private func drawIfDue() {
        let now = monotonicSeconds()
        guard now - lastDraw >= 0.2 else { return }
        lastDraw = now
        let elapsed = max(now - started, 0.001)
        let rate = Double(keys) / elapsed
        var line = "\r\(verb) \(keys) keys  \(megabytes(bytes))  \(Int(rate)) keys/s"
        if let total, total > 0 {
            let fraction = min(Double(keys) / Double(total), 1)
            let filled = Int(fraction * 30)
            line += "  [" + String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled) + "]"
            line += " \(Int(fraction * 100))%"
            if rate > 0 { line += "  ETA \(Int(Double(max(total - keys, 0)) / rate))s" }
        }
        writeStderr(line + "\u{1B}[K")
    }

    var seconds: Double { monotonicSeconds() - started }

    /// The summary line (also on a pipe; `--quiet` silences it).
    func finish() {
        if drawing { writeStderr("\r\u{1B}[K") }
        guard !quiet else {
            for e in firstErrors { writeStderr("error: \(e)\n") }
            return
        }
        let types = byType.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        let skips = skipped.values.reduce(0, +)
        var line = "\(verb) \(keys) keys"
        if !types.isEmpty { line += " (\(types))" }
        line += ", \(megabytes(bytes)), \(String(format1(seconds))) s, \(Int(Double(keys) / max(seconds, 0.001))) keys/s"
        line += ", skipped \(skips)"
        if skips > 0 { line += " (" + skipped.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")" }
        line += ", errors \(errors)"
        print(line)
        for e in firstErrors { writeStderr("error: \(e)\n") }
    }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func wallMillis() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

private func megabytes(_ n: Int) -> String { "\(format1(Double(n) / 1_000_000)) MB" }

private func format1(_ v: Double) -> String {
    let tenths = Int((v * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}

func writeStderr(_ text: String) {
    var bytes = Array(text.utf8)
    bytes.withUnsafeMutableBytes { raw in _ = write(STDERR_FILENO, raw.baseAddress, raw.count) }
}
