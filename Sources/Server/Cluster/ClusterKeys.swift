import NIOCore
import Engines
import Protocol

/// Where a command's keys are in its arguments: the row's first/last/step, or its `KeySpec`
/// (a `numkeys` count, SORT's or GEORADIUS's STORE destination).
enum ClusterKeys {
    /// Argument indexes of the keys, or nil when the arguments are malformed (the engine then
    /// answers with Redis's error, wherever it runs).
    static func indexes(_ spec: CommandSpec, _ args: [ByteBuffer]) -> [Int]? {
        switch spec.keySpec {
        case .counted(let at, let allowZero, let destination):
            guard let keys = counted(args, at: at, allowZero: allowZero) else { return nil }
            return destination ? [1] + keys : keys
        case .sortStore:
            // The STORE destination must live with the sorted key.
            var j = 2
            while j < args.count {
                if args[j].isOption("STORE"), j + 1 < args.count { return [1, j + 1] }
                j += args[j].isOption("LIMIT") ? 3 : (args[j].isOption("BY") || args[j].isOption("GET")) ? 2 : 1
            }
            return [1]
        case .geoStore(let optionsFrom):
            // So must GEORADIUS's STORE/STOREDIST destination.
            return KeySpec.geoStoreDestination(args, optionsFrom: optionsFrom).map { [1, $0] } ?? [1]
        case .range:
            break
        }
        guard spec.firstKey > 0 else { return [] }
        let last = spec.lastKey < 0 ? args.count + spec.lastKey : spec.lastKey
        guard last < args.count, spec.firstKey <= last else { return nil }
        return Array(stride(from: spec.firstKey, through: last, by: spec.keyStep))
    }

    /// `numkeys` at `at`, then that many keys.
    private static func counted(_ args: [ByteBuffer], at index: Int, allowZero: Bool = false) -> [Int]? {
        guard index < args.count, let count = args[index].redisIntegerValue, count >= (allowZero ? 0 : 1),
              count <= args.count - index - 1 else { return nil }
        return Array((index + 1)..<(index + 1 + count))
    }
}
