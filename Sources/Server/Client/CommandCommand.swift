import NIOCore
import Protocol

/// COMMAND, COMMAND COUNT/LIST/INFO/DOCS, in Redis 7's reply shapes, from the command table.
extension ClientConnectionHandler {
    func commandCommand(_ args: [ByteBuffer]) {
        if args.count == 1 {
            replyWriter.arrayHeader(node.commands.count)
            for spec in node.commands { writeInfo(spec) }
            return
        }
        let sub = args[1].lowercasedText
        switch sub {
        case "count":
            replyWriter.integer(node.commands.count)
        case "list":
            replyWriter.arrayHeader(node.commands.count)
            for spec in node.commands { replyWriter.bulk(spec.text) }
        case "info":
            let names = args.dropFirst(2)
            if names.isEmpty {
                replyWriter.arrayHeader(node.commands.count)
                for spec in node.commands { writeInfo(spec) }
                return
            }
            replyWriter.arrayHeader(names.count)
            for name in names {
                if let spec = CommandTable.lookup(name), node.commands.contains(where: { $0.isSame(as: spec) }) { writeInfo(spec) } else { replyWriter.nullArray() }
            }
        case "docs":
            let names = args.dropFirst(2)
            let specs = names.isEmpty ? node.commands : names.compactMap { CommandTable.lookup($0) }.filter { spec in node.commands.contains { $0.isSame(as: spec) } }
            replyWriter.mapHeader(specs.count)
            for spec in specs {
                replyWriter.bulk(spec.text)
                replyWriter.mapHeader(4)
                replyWriter.bulk("summary"); replyWriter.bulk("\(spec.text.uppercased()) (see the Redis documentation)")
                replyWriter.bulk("since"); replyWriter.bulk("1.0.0")
                replyWriter.bulk("group"); replyWriter.bulk(spec.group.description)
                replyWriter.bulk("complexity"); replyWriter.bulk("O(1)")
            }
        default:
            replyWriter.error("ERR unknown subcommand '\(args[1].text)'. Try COMMAND HELP.")
        }
    }

    private func writeInfo(_ spec: CommandSpec) {
        replyWriter.arrayHeader(10)
        replyWriter.bulk(spec.text)
        replyWriter.integer(spec.arity)
        let flags = spec.flagNames
        replyWriter.setHeader(flags.count)
        for flag in flags { replyWriter.simple(flag) }
        replyWriter.integer(spec.firstKey)
        replyWriter.integer(spec.lastKey)
        replyWriter.integer(spec.keyStep)
        replyWriter.setHeader(1)
        replyWriter.simple("@" + spec.group.description)
        replyWriter.setHeader(0)
        replyWriter.arrayHeader(0)
        replyWriter.arrayHeader(0)
    }
}
