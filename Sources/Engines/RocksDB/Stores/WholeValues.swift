import NIOCore

/// A key's whole value, of whichever type, read and written through its type's store: what
/// RENAME, COPY, DUMP, RESTORE, SORT ... STORE, bulk loads and versioned state transfer move.
extension RocksDBStorage {
    /// A key's whole value, detached from where it is stored.
    enum StoredValue {
        case string([UInt8])
        case hash([(field: [UInt8], value: [UInt8])])
        case set([[UInt8]])
        case list([[UInt8]])
        case zset([ZEntry])
    }

    /// Reads a live key's value and expiry; nil when missing. The record says the type; the
    /// type's store reads the value.
    func readValue(_ key: ByteBuffer, now: Int64) throws(RocksDBError) -> (StoredValue, expireAt: Int64)? {
        guard let record = try readRecord(key, now: now) else { return nil }
        let expireAt = record.meta.expireAt
        do throws(StoreError) {
            switch record.meta.type {
            case .string: return (.string(Array(record.stringValue)), expireAt)
            case .hash: return (.hash(try hashes.all(key)), expireAt)
            case .set: return (.set(try sets.members(key)), expireAt)
            case .zset: return (.zset(try zsets.entries(key)), expireAt)
            case .list: return (.list(try lists.all(key)), expireAt)
            }
        } catch .storage(let error) {
            throw error
        } catch {
            return nil  // a record the type's store cannot read as its type: unreadable, as a missing key
        }
    }

    /// Stages `value` under `key` (replacing whatever is there) with a fresh generation, through
    /// the value's type's store. The caller holds the key's stripe.
    func stageValue(_ value: StoredValue, expireAt: Int64, at key: ByteBuffer) {
        switch value {
        case .string(let bytes): strings.replace(key, with: bytes, expireAt: expireAt)
        case .hash(let fields): hashes.replace(key, with: fields, expireAt: expireAt)
        case .set(let members): sets.replace(key, with: members, expireAt: expireAt)
        case .list(let values): lists.replace(key, with: values, expireAt: expireAt)
        case .zset(let entries): zsets.replace(key, with: entries, expireAt: expireAt)
        }
    }
}
