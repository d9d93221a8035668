extension CommandTable {
    /// Bitmaps (strings read and written by bit).
    static let bitmapRows: [CommandSpec] = [
        .init("getbit", .getbit, arity: 3, [.readonly, .fast], keys: (1, 1, 1), group: "bitmap"),
        .init("setbit", .setbit, arity: 4, [.write, .denyOOM], keys: (1, 1, 1), group: "bitmap"),
        .init("bitcount", .bitcount, arity: -2, [.readonly], keys: (1, 1, 1), group: "bitmap"),
        .init("bitpos", .bitpos, arity: -3, [.readonly], keys: (1, 1, 1), group: "bitmap"),
        .init("bitop", .bitop, arity: -4, [.write, .denyOOM], keys: (2, -1, 1), group: "bitmap"),
        .init("bitfield", .bitfield, arity: -2, [.write, .denyOOM], keys: (1, 1, 1), group: "bitmap"),
        .init("bitfield_ro", .bitfieldRO, arity: -2, [.readonly, .fast], keys: (1, 1, 1), group: "bitmap"),
    ]
}
