import NIOCore
import Protocol

/// The bitmap family over string values, with Redis 7.0's arguments, errors and edge cases
/// (`bitops.c`): SETBIT, GETBIT, BITCOUNT and BITPOS (BYTE and BIT ranges), BITOP, BITFIELD and
/// BITFIELD_RO.
extension RocksDBSession {
    static let bitOffsetError = "ERR bit offset is not an integer or out of range"
    /// Redis refuses offsets whose byte lies at or past `proto-max-bulk-len` (512 MB).
    static let maxBitOffset = Int(maxStringLength) * 8 - 1

    /// A bit offset as Redis parses it; nil when it is not a whole number in range.
    static func bitOffset(_ argument: ByteBuffer) -> Int? {
        guard let value = argument.redisInteger, value >= 0, value <= maxBitOffset else { return nil }
        return value
    }

    func setbit(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        guard let offset = Self.bitOffset(args[2]) else { return reply.error(Self.bitOffsetError) }
        guard args[3].readableBytes == 1, let digit = args[3].readableBytesView.first,
              digit == UInt8(ascii: "0") || digit == UInt8(ascii: "1") else {
            return reply.error("ERR bit is not an integer or out of range")
        }
        let previous = try strings.setBit(args[1], at: offset, to: digit == UInt8(ascii: "1"))
        reply.integer(previous ? 1 : 0)
    }

    func getbit(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        guard let offset = Self.bitOffset(args[2]) else { return reply.error(Self.bitOffsetError) }
        reply.integer(try strings.bit(args[1], at: offset) ? 1 : 0)
    }

    /// A BYTE or BIT range over a string of `length` bytes, resolved as Redis resolves it:
    /// negative indexes from the end, clamped; nil when the range is empty.
    private static func bitRange(start: Int, end: Int, length: Int, bits: Bool) -> (first: Int, last: Int)? {
        let total = bits ? length * 8 : length
        var start = start, end = end
        if start < 0 { start = total + start }
        if end < 0 { end = total + end }
        if start < 0 { start = 0 }
        if end < 0 { end = 0 }
        if end >= total { end = total - 1 }
        guard start <= end else { return nil }
        // In bits from here on.
        return bits ? (start, end) : (start * 8, end * 8 + 7)
    }

    /// BYTE or BIT (case-insensitive); nil for anything else.
    private static func rangeUnit(_ argument: ByteBuffer) -> Bool? {
        if argument.isOption("BIT") { return true }
        if argument.isOption("BYTE") { return false }
        return nil
    }

    func bitcount(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        // Redis looks the key up first: a missing key counts 0 whatever the other arguments.
        guard let value = try strings.bytes(args[1]) else { return reply.integer(0) }
        var range: (first: Int, last: Int)?
        switch args.count {
        case 2:
            range = value.isEmpty ? nil : (0, value.count * 8 - 1)
        case 4, 5:
            guard let start = args[2].redisInteger, let end = args[3].redisInteger else { return reply.error(RedisError.notInteger) }
            var bits = false
            if args.count == 5 {
                guard let unit = Self.rangeUnit(args[4]) else { return reply.error(RedisError.syntax) }
                bits = unit
            }
            if start < 0, end < 0, start > end { return reply.integer(0) }
            range = Self.bitRange(start: start, end: end, length: value.count, bits: bits)
        default:
            return reply.error(RedisError.syntax)
        }
        guard let range else { return reply.integer(0) }
        reply.integer(Self.countBits(value, range.first, range.last))
    }

    /// Set bits from bit `first` through bit `last` (inclusive) of `value`.
    static func countBits(_ value: ArraySlice<UInt8>, _ first: Int, _ last: Int) -> Int {
        let base = value.startIndex
        let firstByte = first >> 3, lastByte = last >> 3
        var count = 0
        for i in firstByte...lastByte { count += value[base + i].nonzeroBitCount }
        // Take off the bits of the edge bytes outside the range.
        let head = value[base + firstByte] & ~(UInt8(0xFF) >> UInt8(first & 7))
        let tail = value[base + lastByte] & (UInt8(0xFF) >> UInt8((last & 7) + 1))
        return count - head.nonzeroBitCount - ((last & 7) == 7 ? 0 : tail.nonzeroBitCount)
    }

    func bitpos(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        guard let bit = args[2].redisInteger else { return reply.error(RedisError.notInteger) }
        guard bit == 0 || bit == 1 else { return reply.error("ERR The bit argument must be 1 or 0.") }
        // A missing key is an endless run of zeros.
        guard let value = try strings.bytes(args[1]) else { return reply.integer(bit == 1 ? -1 : 0) }
        var range: (first: Int, last: Int)?
        var endGiven = false
        switch args.count {
        case 3:
            range = value.isEmpty ? nil : (0, value.count * 8 - 1)
        case 4, 5, 6:
            guard let start = args[3].redisInteger else { return reply.error(RedisError.notInteger) }
            var bits = false
            if args.count == 6 {
                guard let unit = Self.rangeUnit(args[5]) else { return reply.error(RedisError.syntax) }
                bits = unit
            }
            var end = value.count - 1
            if args.count >= 5 {
                guard let given = args[4].redisInteger else { return reply.error(RedisError.notInteger) }
                end = given
                endGiven = true
            }
            range = Self.bitRange(start: start, end: end, length: value.count, bits: bits)
        default:
            return reply.error(RedisError.syntax)
        }
        // An empty range holds neither a 0 nor a 1.
        guard let range else { return reply.integer(-1) }
        let base = value.startIndex
        for position in range.first...range.last where (value[base + position >> 3] >> UInt8(7 - position & 7)) & 1 == bit {
            return reply.integer(position)
        }
        // No 1 found: -1. No 0 found: past the string's end counts as zeros, unless the caller
        // gave the range's end.
        reply.integer(bit == 1 || endGiven ? -1 : range.last + 1)
    }

    func bitop(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        enum Operation { case and, or, xor, not }
        let operation: Operation
        if args[1].isOption("AND") { operation = .and }
        else if args[1].isOption("OR") { operation = .or }
        else if args[1].isOption("XOR") { operation = .xor }
        else if args[1].isOption("NOT") { operation = .not }
        else { return reply.error(RedisError.syntax) }
        if operation == .not, args.count != 4 { return reply.error("ERR BITOP NOT must be called with a single source key.") }
        let length = try strings.store(args[2], from: args.dropFirst(3)) { sources in
            let length = sources.map(\.count).max() ?? 0
            var result = [UInt8](repeating: 0, count: length)
            for i in 0..<length {
                func byte(_ s: ArraySlice<UInt8>) -> UInt8 { i < s.count ? s[s.startIndex + i] : 0 }
                var output = byte(sources[0])
                switch operation {
                case .not: output = ~output
                case .and: for s in sources.dropFirst() { output &= byte(s) }
                case .or: for s in sources.dropFirst() { output |= byte(s) }
                case .xor: for s in sources.dropFirst() { output ^= byte(s) }
                }
                result[i] = output
            }
            return result
        }
        reply.integer(length)
    }
}

/// BITFIELD and BITFIELD_RO: typed integers at bit offsets of a string (Redis 7.0's
/// `bitfieldGeneric`: every operation is parsed before any runs, writes grow the string to the
/// farthest bit they reach, OVERFLOW applies to the operations after it).
extension RocksDBSession {
    private struct BitfieldOp {
        enum Kind { case get, set, incrby }
        enum Overflow { case wrap, sat, fail }
        let kind: Kind
        let signed: Bool
        let bits: Int
        let offset: Int
        let value: Int64
        let overflow: Overflow
    }

    private static let bitfieldTypeError = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."

    func bitfield(_ args: [ByteBuffer], _ reply: inout ReplyWriter, readOnly: Bool) throws(StoreError) {
        var ops: [BitfieldOp] = []
        var overflow = BitfieldOp.Overflow.wrap
        var j = 2
        while j < args.count {
            let remaining = args.count - j - 1
            let kind: BitfieldOp.Kind
            if args[j].isOption("GET"), remaining >= 2 { kind = .get }
            else if args[j].isOption("SET"), remaining >= 3 { kind = .set }
            else if args[j].isOption("INCRBY"), remaining >= 3 { kind = .incrby }
            else if args[j].isOption("OVERFLOW"), remaining >= 1 {
                if args[j + 1].isOption("WRAP") { overflow = .wrap }
                else if args[j + 1].isOption("SAT") { overflow = .sat }
                else if args[j + 1].isOption("FAIL") { overflow = .fail }
                else { return reply.error("ERR Invalid OVERFLOW type specified") }
                j += 2
                continue
            } else {
                return reply.error(RedisError.syntax)
            }
            // The type: i1..i64 or u1..u63, lower-case letter as Redis wants it.
            let type = Array(args[j + 1].readableBytesView)
            guard let letter = type.first, letter == UInt8(ascii: "i") || letter == UInt8(ascii: "u"),
                  let bits = RedisInteger.parse(type.dropFirst()), bits >= 1, bits <= (letter == UInt8(ascii: "i") ? 64 : 63) else {
                return reply.error(Self.bitfieldTypeError)
            }
            // The offset: a bit number, or #N for the N-th field of this width.
            var offsetText = Array(args[j + 2].readableBytesView)
            let multiplied = offsetText.first == UInt8(ascii: "#")
            if multiplied { offsetText.removeFirst() }
            guard let raw = RedisInteger.parse(offsetText) else { return reply.error(Self.bitOffsetError) }
            let (offset, overflowed) = multiplied ? raw.multipliedReportingOverflow(by: bits) : (raw, false)
            guard !overflowed, offset >= 0, offset >> 3 < maxStringLength else { return reply.error(Self.bitOffsetError) }
            var value: Int64 = 0
            if kind != .get {
                guard let v = args[j + 3].redisInteger else { return reply.error(RedisError.notInteger) }
                value = Int64(v)
            }
            ops.append(BitfieldOp(kind: kind, signed: letter == UInt8(ascii: "i"), bits: bits, offset: offset, value: value, overflow: overflow))
            j += kind == .get ? 3 : 4
        }
        let writes = ops.filter { $0.kind != .get }
        if writes.isEmpty {
            let value = try strings.bytes(args[1]) ?? []
            reply.arrayHeader(ops.count)
            for op in ops { reply.integer(Self.readField(value, op.offset, op.bits, signed: op.signed)) }
            return
        }
        if readOnly { return reply.error("ERR BITFIELD_RO only supports the GET subcommand") }
        try strings.edit(args[1]) { (edit: inout StringStore.Edit) throws(StoreError) in
            var value = edit.take() ?? []
            // Grown to the farthest bit any write reaches, even a write that OVERFLOW FAIL stops.
            let highest = writes.map { $0.offset + $0.bits - 1 }.max()!
            if value.count < highest / 8 + 1 { value.append(contentsOf: repeatElement(0, count: highest / 8 + 1 - value.count)) }
            reply.arrayHeader(ops.count)
            for op in ops {
                if op.kind == .get {
                    reply.integer(Self.readField(value[...], op.offset, op.bits, signed: op.signed))
                    continue
                }
                let old = Self.readField(value[...], op.offset, op.bits, signed: op.signed)
                let (newValue, overflowed) = op.signed
                    ? Self.signedResult(old: old, op)
                    : Self.unsignedResult(old: UInt64(bitPattern: Int64(old)), op)
                if overflowed, op.overflow == .fail {
                    reply.null()
                    continue
                }
                reply.integer(op.kind == .incrby ? Int(Int64(bitPattern: newValue)) : old)
                Self.writeField(&value, op.offset, op.bits, newValue)
            }
            edit.write(value)
        }
    }

    /// The field's bits as an integer (sign-extended for signed types); bits past the string
    /// read as zero.
    private static func readField(_ value: ArraySlice<UInt8>, _ offset: Int, _ bits: Int, signed: Bool) -> Int {
        var result: UInt64 = 0
        for position in offset..<(offset + bits) {
            let byte = position >> 3
            let bit = byte < value.count ? (value[value.startIndex + byte] >> UInt8(7 - position & 7)) & 1 : 0
            result = result << 1 | UInt64(bit)
        }
        if signed, bits < 64, result & (1 << UInt64(bits - 1)) != 0 { result |= ~0 << UInt64(bits) }
        return Int(Int64(bitPattern: result))
    }

    private static func writeField(_ value: inout [UInt8], _ offset: Int, _ bits: Int, _ field: UInt64) {
        for j in 0..<bits {
            let position = offset + j
            let mask = UInt8(0x80) >> UInt8(position & 7)
            if field & (1 << UInt64(bits - 1 - j)) != 0 { value[position >> 3] |= mask } else { value[position >> 3] &= ~mask }
        }
    }

    /// Redis's `checkUnsignedBitfieldOverflow` applied: the value to store and whether it overflowed.
    private static func unsignedResult(old: UInt64, _ op: BitfieldOp) -> (UInt64, Bool) {
        let (base, increment) = op.kind == .incrby ? (old, op.value) : (UInt64(bitPattern: op.value), Int64(0))
        let max: UInt64 = (1 << UInt64(op.bits)) - 1
        let maxIncrement = Int64(bitPattern: max &- base)
        let minIncrement = Int64(bitPattern: 0 &- base)
        let wrapped = (base &+ UInt64(bitPattern: increment)) & max
        if base > max || (increment > 0 && increment > maxIncrement) {
            return (op.overflow == .sat ? max : wrapped, true)
        }
        if increment < 0 && increment < minIncrement {
            return (op.overflow == .sat ? 0 : wrapped, true)
        }
        return (base &+ UInt64(bitPattern: increment), false)
    }

    /// Redis's `checkSignedBitfieldOverflow` applied.
    private static func signedResult(old: Int, _ op: BitfieldOp) -> (UInt64, Bool) {
        let (base, increment) = op.kind == .incrby ? (Int64(old), op.value) : (op.value, Int64(0))
        let bits = op.bits
        let max: Int64 = bits == 64 ? .max : (1 << Int64(bits - 1)) - 1
        let min = -max - 1
        let maxIncrement = Int64(bitPattern: UInt64(bitPattern: max) &- UInt64(bitPattern: base))
        let minIncrement = min &- base
        var wrapped = UInt64(bitPattern: base) &+ UInt64(bitPattern: increment)
        if bits < 64 {
            let mask: UInt64 = ~0 << UInt64(bits)
            if wrapped & (1 << UInt64(bits - 1)) != 0 { wrapped |= mask } else { wrapped &= ~mask }
        }
        if base > max || (bits != 64 && increment > maxIncrement) || (base >= 0 && increment > 0 && increment > maxIncrement) {
            return (op.overflow == .sat ? UInt64(bitPattern: max) : wrapped, true)
        }
        if base < min || (bits != 64 && increment < minIncrement) || (base < 0 && increment < 0 && increment < minIncrement) {
            return (op.overflow == .sat ? UInt64(bitPattern: min) : wrapped, true)
        }
        return (UInt64(bitPattern: base &+ increment), false)
    }
}

extension RocksDBSession {
    /// Bitmaps: the RocksDB engine's handlers (the rows are in `Protocol/Commands/`).
    static let bitmapCommands: [(CommandID, RocksDBHandler)] = [
        (.getbit, .store { s, a, r throws(StoreError) in try s.getbit(a, &r) }),
        (.setbit, .store { s, a, r throws(StoreError) in try s.setbit(a, &r) }),
        (.bitcount, .store { s, a, r throws(StoreError) in try s.bitcount(a, &r) }),
        (.bitpos, .store { s, a, r throws(StoreError) in try s.bitpos(a, &r) }),
        (.bitop, .store { s, a, r throws(StoreError) in try s.bitop(a, &r) }),
        (.bitfield, .store { s, a, r throws(StoreError) in try s.bitfield(a, &r, readOnly: false) }),
        (.bitfieldRO, .store { s, a, r throws(StoreError) in try s.bitfield(a, &r, readOnly: true) }),
    ]
}
