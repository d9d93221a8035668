/// liblzf decompression: RDB strings that Redis compressed (`rdbcompression yes`). Dynamis
/// never compresses what it writes, so only the reader exists.
public enum LZF {
    /// Decompresses `input` into exactly `length` bytes; nil when the data is corrupt.
    public static func decompress(_ input: UnsafeRawBufferPointer, length: Int) -> [UInt8]? {
        var out = [UInt8]()
        out.reserveCapacity(length)
        var i = 0
        let n = input.count
        while i < n {
            let control = Int(input[i])
            i += 1
            if control < 32 {
                let run = control + 1
                guard i + run <= n, out.count + run <= length else { return nil }
                out.append(contentsOf: input[i..<(i + run)])
                i += run
            } else {
                var run = control >> 5
                if run == 7 {
                    guard i < n else { return nil }
                    run += Int(input[i])
                    i += 1
                }
                guard i < n else { return nil }
                let back = ((control & 0x1f) << 8) + Int(input[i]) + 1
                i += 1
                run += 2
                guard back <= out.count, out.count + run <= length else { return nil }
                // The copy may overlap what it appends: byte by byte, as liblzf does.
                var from = out.count - back
                for _ in 0..<run {
                    out.append(out[from])
                    from += 1
                }
            }
        }
        return out.count == length ? out : nil
    }
}
