import Foundation
import Logging
import Server
import NIOConcurrencyHelpers

/// Where log lines go: standard error or a file (`-o`).
final class LogSink: Sendable {
    private let handle: FileHandle
    private let lock = NIOLock()

    init(path: String?) throws {
        if let path {
            if !FileManager.default.fileExists(atPath: path) {
                _ = FileManager.default.createFile(atPath: path, contents: nil)
            }
            guard let handle = FileHandle(forWritingAtPath: path) else {
                throw CocoaError(.fileWriteNoPermission)
            }
            handle.seekToEndOfFile()
            self.handle = handle
        } else {
            handle = FileHandle.standardError
        }
    }

    func write(_ line: String) {
        lock.withLock { handle.write(Data(line.utf8)) }
    }
}

/// One line per event: time, level, message, metadata. The level follows `RuntimeLog`, which
/// `-v` sets and the admin port changes.
struct LineLogHandler: LogHandler {
    let label: String
    let sink: LogSink
    var metadata: Logger.Metadata = [:]

    var logLevel: Logger.Level {
        get { LogLevels.level(forDynomiteVerbosity: RuntimeLog.verbosity.load(ordering: .relaxed)) }
        set { RuntimeLog.verbosity.store(LogLevels.verbosity(for: newValue), ordering: .relaxed) }
    }

    init(label: String, sink: LogSink) {
        self.label = label
        self.sink = sink
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        let level = event.level
        let message = event.message
        let suffix = all.isEmpty ? "" : " " + all.map { "\($0)=\($1)" }.sorted().joined(separator: " ")
        let time = Date().formatted(.iso8601)
        sink.write("[\(time)] \(level) \(message)\(suffix)\n")
    }
}

/// Dynomite's `-v 0..11` levels mapped onto swift-log's.
enum LogLevels {
    static func level(forDynomiteVerbosity v: Int) -> Logger.Level {
        switch v {
        case ...2: return .critical
        case 3: return .error
        case 4: return .warning
        case 5: return .notice
        case 6: return .info
        case 7, 8: return .debug
        default: return .trace
        }
    }

    static func verbosity(for level: Logger.Level) -> Int {
        switch level {
        case .critical: return 2
        case .error: return 3
        case .warning: return 4
        case .notice: return 5
        case .info: return 6
        case .debug: return 7
        case .trace: return 9
        }
    }
}
