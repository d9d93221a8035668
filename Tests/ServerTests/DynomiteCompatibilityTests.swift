import Foundation
@testable import Server
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Dynomite's command line and generated configs start Dynamis unchanged (issue 21).
@Suite(.timeLimit(.minutes(2)))
struct DynomiteCompatibilityTests {
    typealias O = CommandLineOptions

    @Test func getoptStyleArguments() throws {
        // Dynomite's tooling: `dynomite -o LOG -c YML -v6`.
        var options = try O.parse(["-o", "/tmp/log", "-c", "node.yml", "-v6"])
        #expect(options.logFile == "/tmp/log")
        #expect(options.confFile == "node.yml")
        #expect(options.verbosity == 6)
        // Attached values, clustered flags, long forms with = or a separate value, prefixes, `--`.
        options = try O.parse(["-olog", "-cconf.yml", "-dt", "-v", "11", "--pid-file=/tmp/p", "--stats-port", "9999", "--stats-a=127.0.0.2",
                               "operand", "--", "-Q"])
        #expect(options.logFile == "log" && options.confFile == "conf.yml" && options.daemonize && options.testConf)
        #expect(options.verbosity == 11 && options.pidFile == "/tmp/p" && options.statsPort == 9999 && options.statsAddress == "127.0.0.2")
        #expect(try O.parse(["--verbosity=3"]).verbosity == 3)
        #expect(try O.parse(["--verbose", "4"]).verbosity == 4)
        #expect(try O.parse(["-v", "40"]).verbosity == 11)  // Dynomite clamps to its most verbose level
        // A value may start with a dash: getopt takes the next argument whatever it is.
        #expect(throws: O.Failure("option -v requires a number")) { try O.parse(["-v", "-c"]) }
        #expect(try O.parse(["-h"]).showHelp && O.parse(["-h"]).showVersion)
        #expect(try O.parse(["-D"]).describeStats)
        #expect(try O.parse(["--version"]).showVersion)
        #expect(try O.parse(["-dc", "x.yml"]).confFile == "x.yml")
    }

    @Test func flagsWithoutEffectAreAcceptedAndNamed() throws {
        let options = try O.parse(["-g", "-i", "30000", "-m", "16384", "-M", "200000", "-x", "1", "-y"])
        #expect(options.notices.count == 6)
        #expect(options.notices.contains { $0.hasPrefix("-m 16384 (mbuf size) has no effect") })
        #expect(options.notices.contains { $0.hasPrefix("-g (gossip) has no effect") })
    }

    @Test func refusalsUseDynomitesWords() {
        let cases: [([String], String)] = [
            (["-Q"], "invalid option -- 'Q'"), (["-?"], "invalid option -- '?'"), (["-c"], "option -c requires a file name"),
            (["-v"], "option -v requires a number"), (["-vx"], "option -v requires a number"), (["-a"], "option -a requires a string"),
            (["-s", "0"], "option -s value 0 is not a valid port"), (["-s", "70000"], "option -s value 70000 is not a valid port"),
            (["-m", "0"], "option -m requires a non-zero number"), (["-m", "100"], "mbuf chunk size must be between 512 and 512000 bytes"),
            (["-m", "1000"], "mbuf chunk size must be a multiple of 16"), (["-M", "5"], "max allocated messages buffer must be between 100000 and 1000000 messages"),
            (["-x", "0"], "option -x requires a non-zero number"), (["--colour"], "unrecognized option '--colour'"),
            (["--stats"], "option '--stats' is ambiguous"), (["--help=1"], "option '--help' doesn't allow an argument"),
        ]
        for (arguments, message) in cases {
            #expect(throws: O.Failure(message), "\(arguments)") { try O.parse(arguments) }
        }
    }

    /// A config as Dynomite's cluster tooling writes it (0 connections meaning the default, its
    /// buffer and gossip keys, an unknown secure_server_option) loads, naming what is ignored.
    @Test func dynomiteGeneratedConfigLoads() throws {
        let config = try ConfigLoader.parse("""
            dyn_o_mite:
              datacenter: dc1
              rack: rack1
              dyn_listen: 127.0.0.1:8101
              listen: 127.0.0.1:8102
              dyn_seeds:
              - 127.0.0.2:8101:rack2:dc1:0
              tokens: '0'
              servers:
              - 127.0.0.1:22122:1
              data_store: 0
              stats_listen: 127.0.0.1:22222
              local_peer_connections: 0
              remote_peer_connections: 0
              datastore_connections: 0
              mbuf_size: 16384
              max_msgs: 300000
              gos_interval: 10000
              env: network
              auto_eject_hosts: true
              server_failure_limit: 3
              stats_interval: 30000
              secure_server_option: sometimes
              pem_key_file: conf/dynomite.pem
            """)
        #expect(config.localPeerConnections == 1 && config.remotePeerConnections == 1 && config.datastoreConnections == 1)
        #expect(config.secureServerOption == "none")
        for key in ["mbuf_size", "max_msgs", "gos_interval", "env", "auto_eject_hosts", "server_failure_limit", "stats_interval",
                    "secure_server_option", "pem_key_file"] {
            #expect(config.warnings.contains { $0.contains("'\(key)'") }, "\(key): \(config.warnings)")
        }
        // Dynomite's test tooling writes secure_server_option datacenter with its shared RSA
        // key and no certificates: accepted, with the plaintext links said in a warning.
        let tooling = try ConfigLoader.parse("dyn_o_mite:\n  listen: 127.0.0.1:1\n  secure_server_option: datacenter\n  pem_key_file: conf/dynomite.pem\n")
        #expect(tooling.secureServerOption == "none")
        #expect(tooling.warnings.contains { $0.contains("PLAINTEXT") && $0.contains("'datacenter'") })
        // Without the key Dynomite refuses to start, and so does Dynamis (no certificates either).
        #expect(throws: ConfigError.self) { try ConfigLoader.parse("dyn_o_mite:\n  listen: 127.0.0.1:1\n  secure_server_option: datacenter\n") }
        // Half a set of certificates is a mistake, key or not.
        #expect(throws: ConfigError.self) {
            try ConfigLoader.parse("dyn_o_mite:\n  listen: 127.0.0.1:1\n  secure_server_option: all\n  pem_key_file: k.pem\n  tls_cert_file: c.pem\n")
        }
        #expect(throws: ConfigError.self) { try ConfigLoader.parse("dyn_o_mite:\n  listen: 127.0.0.1:1\n  mbuf_size: 1000\n") }
        #expect(throws: ConfigError.self) { try ConfigLoader.parse("dyn_o_mite:\n  listen: 127.0.0.1:1\n  max_msgs: 10\n") }
    }

    /// `dynamis -d -p PIDFILE -o LOG -c YML -v6`: the command returns at once with status 0, the
    /// node runs in its own session, writes its pid, serves, and `-s` moved its admin port.
    @Test func daemonizedNodeServesAndStopsByItsPidFile() throws {
        let directory = TemporaryDirectory("daemon")
        defer { directory.remove() }
        let port = freePort(), admin = freePort()
        let config = directory.path + "/node.yml"
        try """
            dyn_o_mite:
              listen: 127.0.0.1:\(port)
              stats_listen: 127.0.0.1:1
              tokens: '0'
              data_store: rocksdb
              data_dir: \(directory.path)/data
              local_peer_connections: 0
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let pidFile = directory.path + "/dynamis.pid", log = directory.path + "/dynamis.log"
        // system(3), not Process: Foundation's Process on Linux waits for every holder of its
        // pipes, and the daemon is meant to outlive the command.
        let status = system("\(DynamisBinary.path) -d -p \(pidFile) -o\(log) -c \(config) -v6 -s\(admin) -m 16384 > \(directory.path)/launcher.log 2>&1")
        #expect(status == 0)
        var daemon: Int32 = 0
        defer { if daemon > 0 { kill(daemon, SIGKILL) } }
        guard waitForPort(port, seconds: 20, while: { true }) else {
            Issue.record("the daemon did not listen: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
            return
        }
        daemon = Int32((try String(contentsOfFile: pidFile, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        #expect(daemon > 0)
        #expect(getsid(daemon) == daemon)  // a session of its own, as after Dynomite's setsid()
        #expect(try RESPTestClient(port: port).command("PING") == .simple("PONG"))
        #expect(try httpRequest(port: admin, path: "/ping").status == 200)
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text.contains("-m 16384 (mbuf size) has no effect"))
        // Not this process's child, so it cannot be waited for: its last act, removing the pid
        // file, says that it shut down.
        kill(daemon, SIGTERM)
        let deadline = Date().addingTimeInterval(15)
        while FileManager.default.fileExists(atPath: pidFile), Date() < deadline { usleep(20_000) }
        #expect(!FileManager.default.fileExists(atPath: pidFile), "the daemon did not stop on SIGTERM")
        if !FileManager.default.fileExists(atPath: pidFile) { daemon = 0 }
    }
}
