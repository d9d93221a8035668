extension CommandTable {
    /// Geo (sorted sets of geohash scores).
    static let geoRows: [CommandSpec] = [
        .init("geoadd", .geoadd, arity: -5, [.write, .denyOOM], keys: (1, 1, 1), wakes: .argument(1), group: "geo"),
        .init("geopos", .geopos, arity: -2, [.readonly], keys: (1, 1, 1), group: "geo"),
        .init("geodist", .geodist, arity: -4, [.readonly], keys: (1, 1, 1), group: "geo"),
        .init("geohash", .geohash, arity: -2, [.readonly], keys: (1, 1, 1), group: "geo"),
        // Writes only with STORE/STOREDIST, whose key routing finds (ClusterKeys).
        .init("georadius", .georadius, arity: -6, [.write, .denyOOM], keys: (1, 1, 1), keySpec: .geoStore(optionsFrom: 6), wakes: .geoStore(optionsFrom: 6), group: "geo"),
        .init("georadius_ro", .georadiusRO, arity: -6, [.readonly], keys: (1, 1, 1), group: "geo"),
        .init("georadiusbymember", .georadiusbymember, arity: -5, [.write, .denyOOM], keys: (1, 1, 1), keySpec: .geoStore(optionsFrom: 5), wakes: .geoStore(optionsFrom: 5), group: "geo"),
        .init("georadiusbymember_ro", .georadiusbymemberRO, arity: -5, [.readonly], keys: (1, 1, 1), group: "geo"),
        .init("geosearch", .geosearch, arity: -7, [.readonly], keys: (1, 1, 1), group: "geo"),
        .init("geosearchstore", .geosearchstore, arity: -8, [.write, .denyOOM], keys: (1, 2, 1), wakes: .argument(1), group: "geo"),
    ]
}
