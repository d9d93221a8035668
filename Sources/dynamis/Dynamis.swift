import ArgumentParser
import Foundation
import Logging
import Server
import ServiceLifecycle

/// `dynamis`: a node of the Dynamis distributed key/value database.
@main
struct Dynamis: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dynamis",
        abstract: "A Dynamo-style distributed key/value database speaking the Redis protocol.",
        discussion: "Flags follow Dynomite's where they make sense.")

    @Option(name: [.customShort("c"), .customLong("conf-file")], help: "Config file (Dynomite's YAML format).")
    var confFile = "conf/dynamis.yml"

    @Flag(name: [.customShort("t"), .customLong("test-conf")], help: "Check the config file and exit (0: valid, 1: invalid).")
    var testConf = false

    @Option(name: [.customShort("v"), .customLong("verbose")], help: "Log level 0..11, as Dynomite (5 = notice, 6 = info, 7+ = debug, 9+ = trace).")
    var verbosity = 5

    @Option(name: [.customShort("o"), .customLong("output")], help: "Log file (default: standard error).")
    var logFile: String?

    @Option(name: [.customShort("p"), .customLong("pid-file")], help: "Write the process id to this file.")
    var pidFile: String?

    @Flag(name: [.customShort("V"), .customLong("version")], help: "Print the version and exit.")
    var showVersion = false

    /// How long a SIGTERM/SIGINT shutdown may take before the process exits regardless.
    static let shutdownBoundSeconds = 10

    func validate() throws {
        guard (0...11).contains(verbosity) else { throw ValidationError("-v takes a level from 0 to 11") }
    }

    func run() async throws {
        let signals = TerminationSignals()
        if showVersion {
            print("dynamis \(NodeContext.version)")
            return
        }
        let config: DynamisConfig
        do {
            config = try ConfigLoader.load(path: confFile)
        } catch {
            FileHandle.standardError.write(Data("dynamis: \(confFile): \(error)\n".utf8))
            throw ExitCode(1)
        }
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
            throw ExitCode(1)
        }
        LoggingSystem.bootstrap { label in
            LineLogHandler(label: label, sink: sink)
        }
        let logger = Logger(label: "dynamis")
        let node: DynamisNode
        do {
            node = try await DynamisNode.start(config: config, logger: logger)
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
        if let pidFile {
            try? "\(ProcessInfo.processInfo.processIdentifier)\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
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
            throw ExitCode(1)
        }
        if let pidFile { try? FileManager.default.removeItem(atPath: pidFile) }
    }
}
