extension CommandTable {
    /// Spoken between nodes (hinted handoff, read repair, anti-entropy, membership); clients see the state ones too.
    static let nodeRows: [CommandSpec] = [
        // A key's whole state with its version, for hinted handoff and read repair between nodes.
        .init("dynamis.state", .dynamisState, arity: -2, [.readonly, .fast], keys: (1, 1, 1), group: "generic"),
        // That state written on a replica with its version, only if not older.
        .init("dynamis.apply", .dynamisApply, arity: -4, [.write, .wholeValue], keys: (1, 1, 1), group: "generic"),
        // Anti-entropy (DESIGN.md §5c): this node's segment digests and (key, version) lists of a
        // token range. Keyless: a node answers for its own copy, wherever the request came from.
        .init("dynamis.digest", .dynamisDigest, arity: -3, [.readonly], group: "generic"),
        .init("dynamis.keyversions", .dynamisKeyVersions, arity: -3, [.readonly], group: "generic"),
        // Membership gossip (DESIGN.md §5b): a peer's epoch in, this node's newest epoch out.
        .init("dynamis.topology", .dynamisTopology, arity: -1, [.admin, .peerOnly], group: "server"),
    ]
}
