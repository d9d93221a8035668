import Foundation
import ArgumentParser
import Engines
import NIOCore
import Ring
import Snapshot

#if canImport(Glibc)
import Glibc
#endif

/// `dynamis-snapshot`: export, import and back up Dynamis nodes and clusters.
@main
struct SnapshotTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dynamis-snapshot",
        abstract: "Export, import and back up Dynamis nodes and clusters (Redis RDB or JSON Lines).",
        subcommands: [Export.self, Import.self, Backup.self])
}

/// Where the data is: a live node (`HOST:PORT`) or a stopped node's data directory.
struct Source: ParsableArguments {
    @Option(name: .long, help: "AUTH password of the node (requirepass).")
    var password: String?
    @Option(name: .long, help: "Offline mode: the data directory of a stopped RocksDB node.")
    var dataDir: String?
    @Option(name: .long, help: "Offline mode: the node's `hash` (default: as recorded in the directory, else murmur).")
    var hash: String?
    @Option(name: .long, help: "Offline mode: the node's `hash_tag`, e.g. {} (default none).")
    var hashTag: String?
    @Flag(name: .long, help: "The address is one node of a Dynamis cluster: work on the whole cluster through it.")
    var cluster = false
    @Flag(name: .long, help: "No progress bar and no summary (errors are still printed).")
    var quiet = false
    @Option(name: .long, help: "Parallel connections to a live node (each lands on one of its event loops).")
    var connections: Int = 2

    /// The channels to use: `connections` to a live node, or the one offline engine.
    func open(address: String?, creating: Bool) throws -> ([any CommandChannel], dynamis: Bool) {
        let (first, dynamis) = try openOne(address: address, creating: creating)
        var all = [first]
        if address != nil {
            do {
                while all.count < max(1, connections) { all.append(try openOne(address: address, creating: creating).0) }
            } catch {
                for c in all { c.close() }
                throw error
            }
        }
        return (all, dynamis)
    }

    private func openOne(address: String?, creating: Bool) throws -> (any CommandChannel, dynamis: Bool) {
        switch (address, dataDir) {
        case (nil, nil): throw ValidationError("give an address (HOST:PORT) or --data-dir")
        case (.some, .some): throw ValidationError("give either an address or --data-dir, not both")
        case (nil, let directory?):
            if cluster { throw ValidationError("--cluster needs a live node's address, not --data-dir") }
            var hash = self.hash ?? "murmur"
            var hashTag = self.hashTag
            if self.hash == nil, self.hashTag == nil, FileManager.default.fileExists(atPath: directory + "/CURRENT") {
                // Neither given: use the key hash the directory records (its node's config).
                var options = RocksDBOptions(directory: directory)
                options.fsync = .no
                if let stored = try? RocksDBEngine.storedKeyHashIdentity(options: options) {
                    let parts = stored.split(separator: " ", maxSplits: 1).map(String.init)
                    hash = parts[0]
                    hashTag = parts.count > 1 ? parts[1] : nil
                }
            }
            guard let function = HashFunction(rawValue: hash) else { throw ValidationError("unknown hash '\(hash)'") }
            var identity = function.rawValue
            var tag: HashTag?
            if let hashTag {
                guard let t = HashTag(hashTag) else { throw ValidationError("hash tag must be two characters, e.g. {}") }
                tag = t
                identity += " " + hashTag
            }
            return (try LocalEngineChannel(directory: directory, tokenizer: KeyTokenizer(hash: function, tag: tag),
                                           identity: identity, create: creating), true)
        case (let address?, nil):
            let (host, port) = try parseAddress(address)
            let channel = try NetworkChannel(host: host, port: port, password: password)
            let info = try channel.execute(Command("INFO", "server"))
            let text = { if case .bulk(let b?) = info { return String(decoding: b, as: UTF8.self) } else { return "" } }()
            let isDynamis = text.contains("dynamis_version:")
            if cluster {
                let dynamis = try channel.execute(Command("INFO", "dynamis"))
                guard case .bulk(let b?) = dynamis,
                      let line = String(decoding: b, as: UTF8.self).split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("peers:") }),
                      let peers = Int(line.dropFirst("peers:".count).trimmingCharacters(in: .whitespaces)), peers > 0 else {
                    channel.close()
                    throw ToolError("\(address) is not a member of a Dynamis cluster (INFO dynamis shows no peers); drop --cluster")
                }
            }
            return (channel, isDynamis)
        }
    }
}

func parseAddress(_ text: String) throws -> (String, Int) {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
        throw ValidationError("'\(text)' is not HOST:PORT")
    }
    return (String(text[..<colon]), port)
}

extension SnapshotTool {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write every key of a node (or cluster) to an RDB or JSON Lines file.")

        @Option(name: .long, help: "The node to read, HOST:PORT (Dynamis or redis-server).")
        var from: String?
        @OptionGroup var source: Source
        @Option(name: .long, help: "rdb or jsonl (default: from the --out extension, else rdb).")
        var format: String?
        @Option(name: .long, help: "The file to write (written as FILE.partial, renamed when complete).")
        var out: String
        @Option(name: .long, help: "Keys per pipelined round trip.")
        var batch: Int = 512

        func run() throws {
            let kind = format ?? (out.hasSuffix(".jsonl") || out.hasSuffix(".json") ? "jsonl" : "rdb")
            guard let kind = Importer.Format(rawValue: kind) else { throw ValidationError("--format is rdb or jsonl") }
            let (channels, dynamis) = try source.open(address: from, creating: false)
            defer { for c in channels { c.close() } }
            let channel = channels[0]
            if source.cluster {
                // One replica per token range: the local rack's owners.
                for c in channels { _ = try c.execute(Command("DYNO_CONFIG:CONN_CONSISTENCY", "DC_ONE")) }
            }
            let progress = Progress(verb: "exported", quiet: source.quiet)
            if case .integer(let n) = try channel.execute(Command("DBSIZE")), !source.cluster { progress.total = Int(n) }
            let output = try OutputFile(path: out)
            do {
                let exporter = Exporter(channels: channels, progress: progress, deduplicate: !dynamis, batchSize: max(1, batch))
                switch kind {
                case .rdb:
                    var writer = RDBFileWriter(aux: [("redis-ver", "7.0.0"), ("redis-bits", "64"),
                                                     ("ctime", String(wallMillis() / 1000)), ("dynamis-snapshot", "1")])
                    try exporter.run { entry in
                        writer.append(entry)
                        if writer.pendingBytes >= 1 << 20 { try output.write(writer.drain()) }
                    }
                    writer.finish()
                    try output.write(writer.drain())
                case .jsonl:
                    var buffer: [UInt8] = []
                    buffer.reserveCapacity(1 << 20 + 4096)
                    try exporter.run { entry in
                        JSONLines.encode(entry, into: &buffer)
                        if buffer.count >= 1 << 20 {
                            try output.write(buffer)
                            buffer.removeAll(keepingCapacity: true)
                        }
                    }
                    try output.write(buffer)
                }
                try output.commit()
            } catch {
                output.abandon()
                progress.finish()
                throw error
            }
            progress.finish()
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Load an RDB (v1 to v11) or JSON Lines file into a node (or cluster) through RESTORE.")

        @Option(name: .long, help: "The node to write, HOST:PORT.")
        var to: String?
        @OptionGroup var source: Source
        @Argument(help: "The snapshot file.")
        var file: String
        @Option(name: .long, help: "rdb or jsonl (default: detected from the file's first bytes).")
        var format: String?
        @Flag(name: .long, help: "Overwrite keys that exist (default: skip them).")
        var replace = false
        @Option(name: .long, help: "Which database of a multi-database RDB to import (others are skipped).")
        var db: Int = 0
        @Option(name: .long, help: "Keys per pipelined batch.")
        var batch: Int = 512

        func run() throws {
            let mapped = try MappedFile(path: file)
            let detected: Importer.Format = mapped.bytes.starts(with: Array("REDIS".utf8)) ? .rdb : .jsonl
            let kind = try format.map { f in
                guard let k = Importer.Format(rawValue: f) else { throw ValidationError("--format is rdb or jsonl") }
                return k
            } ?? detected
            let progress = Progress(verb: "imported", quiet: source.quiet)
            let (channels, _) = try source.open(address: to, creating: true)
            defer { for c in channels { c.close() } }
            var writers: [any EntryWriter] = []
            for c in channels {
                if let local = c as? LocalEngineChannel { writers.append(local.bulkWriter()) } else { writers.append(RestoreWriter(channel: c)) }
            }
            var importer = Importer(file: mapped, format: kind, writers: writers, progress: progress,
                                    replace: replace, database: db)
            importer.batchSize = max(1, batch)
            progress.total = try importer.validate()
            try importer.run()
            progress.finish()
            if progress.errors > 0 {
                throw ToolError("\(progress.errors) keys were not imported (see above); re-running the import is safe")
            }
        }
    }

    struct Backup: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a RocksDB checkpoint of a live node into a new directory (restore: start a node with data_dir set to it).")

        @Option(name: .long, help: "The node's admin (stats) address, HOST:PORT (port 22222 by default).")
        var admin: String
        @Option(name: .long, help: "Absolute path of the directory to create, on the node's machine.")
        var dir: String
        @Option(name: .long, help: "The node's requirepass, if set.")
        var password: String?

        func run() throws {
            let (host, port) = try parseAddress(admin)
            guard dir.hasPrefix("/") else { throw ValidationError("--dir must be an absolute path (it is created by the node)") }
            let (status, body) = try httpGet(host: host, port: port, path: "/backup?dir=" + percentEncode(dir), bearer: password)
            guard status == 200 else { throw ToolError("backup failed (HTTP \(status)): \(body.trimmingCharacters(in: .whitespacesAndNewlines))") }
            print(body.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }
}

func percentEncode(_ text: String) -> String {
    var out = ""
    for b in text.utf8 {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "/"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
            out.append(Character(Unicode.Scalar(b)))
        default:
            out += "%" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true)
        }
    }
    return out
}
