extension CommandTable {
    /// Strings.
    static let stringRows: [CommandSpec] = [
        .init("get", .get, arity: 2, [.readonly, .fast], keys: (1, 1, 1), group: "string"),
        .init("set", .set, arity: -3, [.write, .denyOOM, .wholeValue], keys: (1, 1, 1), relativeExpiry: .option(first: 3), group: "string"),
        .init("setnx", .setnx, arity: 3, [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "string"),
        .init("setex", .setex, arity: 4, [.write, .denyOOM, .wholeValue], keys: (1, 1, 1), relativeExpiry: .setex(milliseconds: false), group: "string"),
        .init("psetex", .psetex, arity: 4, [.write, .denyOOM, .wholeValue], keys: (1, 1, 1), relativeExpiry: .setex(milliseconds: true), group: "string"),
        .init("getset", .getset, arity: 3, [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "string"),
        .init("getdel", .getdel, arity: 2, [.write, .fast], keys: (1, 1, 1), group: "string"),
        .init("getex", .getex, arity: -2, [.write, .fast], keys: (1, 1, 1), relativeExpiry: .option(first: 2), group: "string"),
        .init("mget", .mget, arity: -2, [.readonly, .fast], keys: (1, -1, 1), route: .splitByKey(.elements), group: "string"),
        .init("mset", .mset, arity: -3, [.write, .denyOOM, .wholeValue], keys: (1, -1, 2), route: .splitByKey(.allOK), group: "string"),
        .init("msetnx", .msetnx, arity: -3, [.write, .denyOOM], keys: (1, -1, 2), group: "string"),
        .init("append", .append, arity: 3, [.write, .denyOOM, .fast, .groupable], keys: (1, 1, 1), group: "string"),
        .init("strlen", .strlen, arity: 2, [.readonly, .fast], keys: (1, 1, 1), group: "string"),
        .init("getrange", .getrange, arity: 4, [.readonly], keys: (1, 1, 1), group: "string"),
        .init("substr", .substr, arity: 4, [.readonly], keys: (1, 1, 1), group: "string"),
        .init("setrange", .setrange, arity: 4, [.write, .denyOOM], keys: (1, 1, 1), group: "string"),
        .init("incr", .incr, arity: 2, [.write, .denyOOM, .fast, .groupable], keys: (1, 1, 1), group: "string"),
        .init("decr", .decr, arity: 2, [.write, .denyOOM, .fast, .groupable], keys: (1, 1, 1), group: "string"),
        .init("incrby", .incrby, arity: 3, [.write, .denyOOM, .fast, .groupable], keys: (1, 1, 1), group: "string"),
        .init("decrby", .decrby, arity: 3, [.write, .denyOOM, .fast, .groupable], keys: (1, 1, 1), group: "string"),
        .init("incrbyfloat", .incrbyfloat, arity: 3, [.write, .denyOOM, .fast], keys: (1, 1, 1), group: "string"),
        .init("lcs", .lcs, arity: -3, [.readonly], keys: (1, 2, 1), group: "string"),
    ]
}
