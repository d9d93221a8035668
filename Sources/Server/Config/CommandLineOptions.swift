/// The node's command line, parsed as Dynomite's `getopt_long` parses it (`src/dynomite.c`,
/// short options `hVtdDgv:o:c:s:i:a:p:m:M:x:y`): clustered flags (`-dt`), values attached or
/// separate (`-v6`, `-v 6`, `--verbose=6`, `--verbose 6`), unambiguous long-option prefixes,
/// `--` ending the options, and operands ignored, so Dynomite's launch scripts start Dynamis
/// unchanged. Flags with no Dynamis meaning are accepted and named in `notices`.
public struct CommandLineOptions: Equatable, Sendable {
    public var showHelp = false
    public var showVersion = false
    public var testConf = false
    public var daemonize = false
    public var describeStats = false
    /// Dynomite's log level, 0 (emergencies) to 11 (everything); larger values clamp to 11.
    public var verbosity = 5
    public var logFile: String?
    public var confFile = "conf/dynamis.yml"
    /// `-s` and `-a`: replace the port and the address of the config's `stats_listen`.
    public var statsPort: Int?
    public var statsAddress: String?
    public var pidFile: String?
    /// Lines for the log: flags accepted for Dynomite's sake that change nothing here.
    public var notices: [String] = []

    public init() {}

    /// A command line Dynamis refuses, in Dynomite's words.
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public let description: String
        init(_ text: String) { description = "dynamis: " + text }
    }

    private enum Kind { case flag, number, file, string }

    /// Every option: its short letter, long names (the first is the one Dynomite documents), and value kind.
    private static let table: [(short: Character, long: [String], kind: Kind)] = [
        ("h", ["help"], .flag), ("V", ["version"], .flag), ("t", ["test-conf"], .flag),
        ("d", ["daemonize"], .flag), ("D", ["describe-stats"], .flag), ("g", ["gossip"], .flag),
        ("v", ["verbose", "verbosity"], .number), ("o", ["output"], .file), ("c", ["conf-file"], .file),
        ("s", ["stats-port"], .number), ("i", ["stats-interval"], .number), ("a", ["stats-addr"], .string),
        ("p", ["pid-file"], .file), ("m", ["mbuf-size"], .number), ("M", ["max-msgs"], .number),
        ("x", ["admin-operation"], .number), ("y", ["admin-param"], .flag),
    ]

    /// Parses the arguments after the program name.
    public static func parse(_ arguments: [String]) throws(Failure) -> CommandLineOptions {
        var options = CommandLineOptions()
        var i = 0
        func value(for short: Character, attached: Substring?) throws(Failure) -> String {
            if let attached { return String(attached) }
            guard i + 1 < arguments.count else { throw Failure(missingValue(short)) }
            i += 1
            return arguments[i]
        }
        while i < arguments.count {
            let argument = arguments[i]
            if argument == "--" { break }
            if argument.hasPrefix("--") {
                let body = argument.dropFirst(2)
                let name = body.prefix { $0 != "=" }
                let attached = body.contains("=") ? body.drop { $0 != "=" }.dropFirst() : nil
                let exact = table.filter { $0.long.contains(String(name)) }
                let candidates = exact.isEmpty ? table.filter { $0.long.contains { $0.hasPrefix(name) } } : exact
                guard candidates.count == 1, !name.isEmpty else {
                    throw Failure(candidates.count > 1 ? "option '--\(name)' is ambiguous" : "unrecognized option '--\(name)'")
                }
                let option = candidates[0]
                if option.kind == .flag {
                    guard attached == nil else { throw Failure("option '--\(option.long[0])' doesn't allow an argument") }
                    try options.apply(option.short, nil)
                } else {
                    try options.apply(option.short, try value(for: option.short, attached: attached))
                }
            } else if argument.hasPrefix("-"), argument.count > 1 {
                var rest = argument.dropFirst()
                while let letter = rest.first {
                    rest = rest.dropFirst()
                    guard let option = table.first(where: { $0.short == letter }) else {
                        throw Failure("invalid option -- '\(letter)'")
                    }
                    if option.kind == .flag {
                        try options.apply(letter, nil)
                    } else {
                        try options.apply(letter, try value(for: letter, attached: rest.isEmpty ? nil : rest))
                        break
                    }
                }
            }
            // Anything else is an operand, which Dynomite ignores.
            i += 1
        }
        return options
    }

    private static func missingValue(_ letter: Character) -> String {
        switch letter {
        case "o", "c", "p": return "option -\(letter) requires a file name"
        case "a": return "option -\(letter) requires a string"
        default: return "option -\(letter) requires a number"
        }
    }

    /// Dynomite's `dn_atoi`: digits only, else -1.
    private static func number(_ text: String) -> Int {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let value = Int(text) else { return -1 }
        return value
    }

    private mutating func apply(_ letter: Character, _ text: String?) throws(Failure) {
        let value = text.map(Self.number) ?? 0
        switch letter {
        case "h":
            showHelp = true
            showVersion = true
        case "V": showVersion = true
        case "t": testConf = true
        case "d": daemonize = true
        case "D":
            describeStats = true
            showVersion = true
        case "g":
            notices.append("-g (gossip) has no effect: Dynamis learns its peers from dyn_seeds or the seed provider")
        case "v":
            guard value >= 0 else { throw Failure("option -v requires a number") }
            verbosity = min(value, 11)
        case "o": logFile = text
        case "c": confFile = text ?? confFile
        case "s":
            guard value >= 0 else { throw Failure("option -s requires a number") }
            guard (1...65535).contains(value) else { throw Failure("option -s value \(value) is not a valid port") }
            statsPort = value
        case "a": statsAddress = text
        case "i":
            guard value >= 0 else { throw Failure("option -i requires a number") }
            notices.append("-i \(value) (stats interval) has no effect: Dynamis computes /info and /metrics when asked")
        case "p": pidFile = text
        case "m":
            guard value > 0 else { throw Failure("option -m requires a non-zero number") }
            guard (512...512_000).contains(value) else { throw Failure("mbuf chunk size must be between 512 and 512000 bytes") }
            guard value % 16 == 0 else { throw Failure("mbuf chunk size must be a multiple of 16") }
            notices.append("-m \(value) (mbuf size) has no effect: Dynamis reads into buffers sized by the request")
        case "M":
            guard value > 0 else { throw Failure("option -M requires a non-zero number") }
            guard (100_000...1_000_000).contains(value) else {
                throw Failure("max allocated messages buffer must be between 100000 and 1000000 messages")
            }
            notices.append("-M \(value) (max messages) has no effect: Dynamis bounds each connection's requests in flight instead")
        case "x":
            guard value > 0 else { throw Failure("option -x requires a non-zero number") }
            notices.append("-x \(value) (admin operation) has no effect in Dynamis")
        case "y":
            notices.append("-y (admin parameter) has no effect in Dynamis")
        default:
            throw Failure("invalid option -- '\(letter)'")
        }
    }

    /// Dynomite's usage text, with Dynamis's defaults.
    public static let usage = """
        Usage: dynamis [-?hVdDt] [-v verbosity level] [-o output file]
                          [-c conf file] [-s stats port] [-a stats addr]
                          [-i stats interval] [-p pid file] [-m mbuf size]
                          [-M max alloc messages]

        Options:
          -h, --help             : this help
          -V, --version          : show version and exit
          -t, --test-conf        : test configuration for syntax errors and exit
          -g, --gossip           : accepted; no effect (peers come from dyn_seeds)
          -d, --daemonize        : run as a daemon
          -D, --describe-stats   : print stats description and exit
          -v, --verbosity=N            : set logging level (default: 5, min: 0, max: 11)
          -o, --output=S               : set logging file (default: stderr)
          -c, --conf-file=S            : set configuration file (default: conf/dynamis.yml)
          -s, --stats-port=N           : set stats monitoring port (default: the config's stats_listen)
          -a, --stats-addr=S           : set stats monitoring ip (default: the config's stats_listen)
          -i, --stats-interval=N       : accepted; no effect (stats are computed when asked)
          -p, --pid-file=S             : set pid file (default: off)
          -m, --mbuf-size=N            : accepted; no effect
          -M, --max-msgs=N             : accepted; no effect
          -x, --admin-operation=N      : accepted; no effect

        """
}
