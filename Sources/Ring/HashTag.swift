/// A `hash_tag` pair such as `{}`: only the bytes between the first opening character and the
/// next closing one are hashed, so related keys land on the same owner.
public struct HashTag: Sendable, Equatable {
    public let open: UInt8
    public let close: UInt8

    public init(open: UInt8, close: UInt8) {
        self.open = open
        self.close = close
    }

    /// Parses the config form: exactly two characters.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 2 else { return nil }
        self.init(open: bytes[0], close: bytes[1])
    }

    /// The part of `key` to hash: the tagged bytes, or the whole key when a tag character is
    /// missing or the tag is empty.
    @inlinable
    public func hashedPart(of key: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        guard let start = key.firstIndex(of: open) else { return key }
        let from = start + 1
        guard from < key.count,
              let end = key[from...].firstIndex(of: close), end > from
        else { return key }
        return UnsafeRawBufferPointer(rebasing: key[from..<end])
    }
}

/// Computes a key's data token: the configured hash over the hash-tagged part of the key.
public struct KeyTokenizer: Sendable {
    public let hash: HashFunction
    public let tag: HashTag?

    public init(hash: HashFunction = .murmur, tag: HashTag? = nil) {
        self.hash = hash
        self.tag = tag
    }

    @inlinable
    public func token(of key: UnsafeRawBufferPointer) -> UInt32 {
        if let tag { return hash.token(of: tag.hashedPart(of: key)) }
        return hash.token(of: key)
    }

    public func token<Bytes: Collection>(of key: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        Array(key).withUnsafeBytes { token(of: $0) }
    }
}
