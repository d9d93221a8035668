import Synchronization

/// Dynomite's node states (values as in its gossip), set over the admin port.
public enum NodeState: UInt8, Sendable, CaseIterable {
    case standby = 1
    case writesOnly = 2
    case resuming = 3
    case normal = 4

    /// The name the admin port and INFO show.
    public var name: String {
        switch self {
        case .standby: return "STANDBY"
        case .writesOnly: return "WRITES_ONLY"
        case .resuming: return "RESUMING"
        case .normal: return "NORMAL"
        }
    }

    /// What `/state/<path>` sets.
    public init?(path: String) {
        switch path {
        case "standby": self = .standby
        case "writes_only": self = .writesOnly
        case "resuming": self = .resuming
        case "normal": self = .normal
        default: return nil
        }
    }

    /// STANDBY serves nothing; WRITES_ONLY and RESUMING serve writes but no reads.
    public var allowsReads: Bool { self == .normal }
    public var allowsWrites: Bool { self != .standby }
}

/// Settings an operator changes at runtime over the admin port.
public final class RuntimeSettings: Sendable {
    let stateValue: Atomic<UInt8>
    let readConsistencyValue: Atomic<UInt8>
    let writeConsistencyValue: Atomic<UInt8>
    /// Multiplies peer timeouts (1...10), as Dynomite's.
    let timeoutFactor = Atomic<Int>(2)

    init(config: DynamisConfig) {
        stateValue = Atomic(NodeState.normal.rawValue)
        readConsistencyValue = Atomic(Self.index(config.readConsistency))
        writeConsistencyValue = Atomic(Self.index(config.writeConsistency))
    }

    /// Built once: `allCases` makes a new array at every call, and the levels are read for
    /// every cluster request.
    private static let levels = DynamisConfig.Consistency.allCases

    static func index(_ level: DynamisConfig.Consistency) -> UInt8 {
        UInt8(DynamisConfig.Consistency.allCases.firstIndex(of: level)!)
    }

    public var state: NodeState {
        get { NodeState(rawValue: stateValue.load(ordering: .relaxed)) ?? .normal }
        set { stateValue.store(newValue.rawValue, ordering: .relaxed) }
    }

    public var readConsistency: DynamisConfig.Consistency {
        get { Self.levels[Int(readConsistencyValue.load(ordering: .relaxed))] }
        set { readConsistencyValue.store(Self.index(newValue), ordering: .relaxed) }
    }

    public var writeConsistency: DynamisConfig.Consistency {
        get { Self.levels[Int(writeConsistencyValue.load(ordering: .relaxed))] }
        set { writeConsistencyValue.store(Self.index(newValue), ordering: .relaxed) }
    }
}

/// The log verbosity (Dynomite's 0...11), changeable at runtime; the log handler reads it.
public enum RuntimeLog {
    public static let verbosity = Atomic<Int>(5)
}
