/// Which side of its range a node's token marks.
public enum TokenOwnership: String, Sendable, CaseIterable {
    /// DynomiteDB's documented rule: a node owns from its token up to the next node's token − 1,
    /// wrapping; the Dynamis default.
    case rangeStart = "start"
    /// C Dynomite's code: a node owns the range that ends at its token (previous token + 1 up to
    /// its own), wrapping; select it to take over an existing Dynomite deployment's data in place.
    case rangeEnd = "end"
}
