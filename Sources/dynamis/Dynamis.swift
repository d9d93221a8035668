import Foundation
import Logging
import Server
import ServiceLifecycle

/// `dynamis`: a node of the Dynamis distributed key/value database. Its command line is
/// Dynomite's (`CommandLineOptions`), so Dynomite's launch scripts start it unchanged.
@main
struct Dynamis {
    let options: CommandLineOptions
    var confFile: String { options.confFile }
    var testConf: Bool { options.testConf }
    var verbosity: Int { options.verbosity }
    var logFile: String? { options.logFile }
    var pidFile: String? { options.pidFile }

    static func main() async {
        let options: CommandLineOptions
        do {
            options = try CommandLineOptions.parse(Array(CommandLine.arguments.dropFirst()))
        } catch {
            // As Dynomite: the complaint, the usage, exit status 1.
            FileHandle.standardError.write(Data("\(error.description)\n\(CommandLineOptions.usage)".utf8))
            exit(1)
        }
        if options.showVersion {
            print("dynamis \(NodeContext.version)")
            if options.showHelp { print(CommandLineOptions.usage, terminator: "") }
            if options.describeStats { print(StatsDescription.text, terminator: "") }
            exit(0)
        }
        if options.daemonize, ProcessInfo.processInfo.environment[Daemon.marker] == nil, !options.testConf {
            exit(Daemon.detach())
        }
        do {
            try await Dynamis(options: options).run()
        } catch let code as ExitStatus {
            exit(code.status)
        } catch {
            FileHandle.standardError.write(Data("dynamis: \(error)\n".utf8))
            exit(1)
        }
    }

    /// How long a SIGTERM/SIGINT shutdown may take before the process exits regardless.
    static let shutdownBoundSeconds = 10

    func run() async throws {
        let signals = TerminationSignals()
        var config: DynamisConfig
        do {
            config = try ConfigLoader.load(path: confFile)
        } catch {
            FileHandle.standardError.write(Data("dynamis: \(confFile): \(error)\n".utf8))
            if testConf { FileHandle.standardError.write(Data("dynamis: configuration file '\(confFile)' syntax is invalid\n".utf8)) }
            throw ExitStatus(1)
        }
        if let port = options.statsPort { config.statsListen.port = port }
        if let address = options.statsAddress { config.statsListen.host = address }
        if testConf {
            for warning in config.warnings { print("dynamis: \(confFile): warning: \(warning)") }
            print("dynamis: configuration file '\(confFile)' syntax is ok")
            return
        }
        RuntimeLog.verbosity.store(verbosity, ordering: .relaxed)
        let sink: LogSink
        do {
            sink = try LogSink(path: logFile)
        } catch {
            FileHandle.standardError.write(Data("dynamis: cannot open log file '\(logFile ?? "")': \(error)\n".utf8))
            throw ExitStatus(1)
        }
        LoggingSystem.bootstrap { label in
            LineLogHandler(label: label, sink: sink)
        }
        let logger = Logger(label: "dynamis")
        for notice in options.notices { logger.notice("\(notice)") }
        // The pid file exists before the ports open, as Dynomite writes it before it runs: whoever
        // sees the node listening can rely on it.
        if let pidFile {
            try? "\(ProcessInfo.processInfo.processIdentifier)\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
        }
        let node: DynamisNode
        do {
            node = try await DynamisNode.start(config: config, logger: logger)
        } catch {
            logger.critical("cannot start: \(error)")
            if let pidFile { try? FileManager.default.removeItem(atPath: pidFile) }
            throw ExitStatus(1)
        }
        // swift-service-lifecycle runs the node as a service; a SIGTERM/SIGINT (caught by
        // `TerminationSignals`, which also works when the parent left them blocked) triggers
        // the group's graceful shutdown, which the service answers by stopping the node.
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: NodeService(node: node, boundSeconds: Self.shutdownBoundSeconds, logger: logger))],
            logger: logger))
        let watcher = Task {
            let signal = await signals.wait()
            logger.notice("received \(signal), shutting down")
            await group.triggerGracefulShutdown()
        }
        defer { watcher.cancel() }
        do {
            try await group.run()
        } catch {
            logger.error("\(error)")
            if let pidFile { try? FileManager.default.removeItem(atPath: pidFile) }
            throw ExitStatus(1)
        }
        if let pidFile { try? FileManager.default.removeItem(atPath: pidFile) }
    }
}

/// An exit status chosen by `run` (the config or the node could not start).
struct ExitStatus: Error {
    let status: Int32
    init(_ status: Int32) { self.status = status }
}
