import NIOCore

extension ByteBuffer {
    /// ASCII case-insensitive comparison with an upper-case option word.
    @inlinable
    public func isOption(_ word: StaticString) -> Bool {
        guard readableBytes == word.utf8CodeUnitCount else { return false }
        return withUnsafeReadableBytes { bytes in
            let expected = word.utf8Start
            for i in 0..<bytes.count {
                let b = bytes[i]
                if (b >= 97 && b <= 122 ? b - 32 : b) != expected[i] { return false }
            }
            return true
        }
    }
}
