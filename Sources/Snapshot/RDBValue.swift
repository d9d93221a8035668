/// A key's value, independent of how any RDB encoding stored it.
public enum RDBValue: Sendable, Equatable {
    case string([UInt8])
    case list([[UInt8]])
    case set([[UInt8]])
    case hash([RDBField])
    case zset([RDBScoredMember])

    /// The Redis type name (`TYPE`'s answer).
    public var typeName: String {
        switch self {
        case .string: "string"
        case .list: "list"
        case .set: "set"
        case .hash: "hash"
        case .zset: "zset"
        }
    }

    /// Elements (1 for a string).
    public var count: Int {
        switch self {
        case .string: 1
        case .list(let v), .set(let v): v.count
        case .hash(let v): v.count
        case .zset(let v): v.count
        }
    }

    /// Payload bytes (for progress and summaries).
    public var byteCount: Int {
        switch self {
        case .string(let v): v.count
        case .list(let v), .set(let v): v.reduce(0) { $0 + $1.count }
        case .hash(let v): v.reduce(0) { $0 + $1.field.count + $1.value.count }
        case .zset(let v): v.reduce(0) { $0 + $1.member.count + 8 }
        }
    }
}

/// One hash field.
public struct RDBField: Sendable, Equatable {
    public var field: [UInt8]
    public var value: [UInt8]
    public init(field: [UInt8], value: [UInt8]) {
        self.field = field
        self.value = value
    }
}

/// One sorted-set member.
public struct RDBScoredMember: Sendable, Equatable {
    public var member: [UInt8]
    public var score: Double
    public init(member: [UInt8], score: Double) {
        self.member = member
        self.score = score
    }
}

/// One key of a snapshot: name, value and absolute expiry (unix milliseconds), if any.
public struct RDBEntry: Sendable, Equatable {
    public var key: [UInt8]
    public var value: RDBValue
    public var expireAtMillis: Int64?
    public init(key: [UInt8], value: RDBValue, expireAtMillis: Int64? = nil) {
        self.key = key
        self.value = value
        self.expireAtMillis = expireAtMillis
    }
}

/// A corrupt or unsupported snapshot, and where in it.
public struct RDBError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// Byte offset in the file or payload where the problem was found.
    public var offset: Int
    public init(_ message: String, at offset: Int) {
        self.message = message
        self.offset = offset
    }
    public var description: String { "\(message) at byte \(offset)" }
}
