import Protocol

/// SRANDMEMBER, HRANDFIELD and ZRANDMEMBER with a negative count pick with repeats, |count|
/// times. Redis 7.0 builds such a reply whatever its size and dies of memory on a huge count;
/// here the reply stops at `maxBytes` and the client gets an error instead.
enum RepeatedPicks {
    /// Redis's own answer for a count of -2⁶³ (its range is ±LONG_MAX).
    static let outOfRange = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    static let maxBytes = 512 << 20
    static let tooLarge = "ERR count is too large: the reply would exceed 512 MB"
}

extension ReplyWriter {
    /// Writes an array of `count` picks (`perPick` elements each) with `pick`, or, should it
    /// grow past `RepeatedPicks.maxBytes`, only the error.
    mutating func repeatedPicks<E: Error>(_ count: Int, perPick: Int, _ pick: (inout ReplyWriter) throws(E) -> Void) throws(E) {
        // Every pick takes at least "$0\r\n\r\n".
        guard count <= RepeatedPicks.maxBytes / 6 else { return error(RepeatedPicks.tooLarge) }
        let start = buffer.writerIndex
        arrayHeader(count * perPick)
        for _ in 0..<count {
            try pick(&self)
            if buffer.writerIndex - start > RepeatedPicks.maxBytes {
                buffer.moveWriterIndex(to: start)
                return error(RepeatedPicks.tooLarge)
            }
        }
    }
}
