import Foundation
import NIOCore
import Protocol

/// Redis 7.0's HyperLogLog, byte for byte (`hyperloglog.c`): a string value starting with the
/// 16-byte header `HYLL`, encoding (0 dense, 1 sparse), three unused bytes and the cached
/// cardinality (8 bytes little-endian, bit 7 of the last byte set when stale), then 16,384
/// six-bit registers, densely packed or run-length coded (sparse opcodes ZERO, XZERO and VAL).
/// The same element hashing (MurmurHash64A, seed 0xadc83b19), the same sparse updates and
/// promotion rule (past 3,000 bytes or a register above 32) and the same estimator (Ertl's), so
/// PFADD, PFCOUNT, PFMERGE and even GET of the value answer as Redis does.
struct HyperLogLog {
    static let registers = 16384
    static let indexBits = 14
    static let q = 64 - indexBits
    static let headerSize = 16
    static let denseSize = headerSize + (registers * 6 + 7) / 8
    static let sparseMaxBytes = 3000
    static let invalidError = "INVALIDOBJ Corrupted HLL object detected"
    static let notHLLError = "WRONGTYPE Key is not a valid HyperLogLog string value."

    /// The whole string value: header, then registers.
    var bytes: [UInt8]

    /// A new, empty HLL: sparse, one XZERO opcode covering every register, cached count 0.
    static func empty() -> HyperLogLog {
        var bytes = [UInt8](repeating: 0, count: headerSize + 2)
        bytes[0] = UInt8(ascii: "H"); bytes[1] = UInt8(ascii: "Y"); bytes[2] = UInt8(ascii: "L"); bytes[3] = UInt8(ascii: "L")
        bytes[4] = 1
        let run = registers - 1
        bytes[headerSize] = UInt8(run >> 8) | 0x40
        bytes[headerSize + 1] = UInt8(run & 0xFF)
        return HyperLogLog(bytes: bytes)
    }

    /// Redis's `isHLLObjectOrReply` checks on a string value.
    static func isValid(_ value: ArraySlice<UInt8>) -> Bool {
        guard value.count >= headerSize else { return false }
        let b = value.startIndex
        guard value[b] == UInt8(ascii: "H"), value[b + 1] == UInt8(ascii: "Y"), value[b + 2] == UInt8(ascii: "L"),
              value[b + 3] == UInt8(ascii: "L"), value[b + 4] <= 1 else { return false }
        return value[b + 4] != 0 || value.count == denseSize
    }

    var isDense: Bool { bytes[4] == 0 }

    // MARK: - Hashing

    static func murmur64A(_ key: ArraySlice<UInt8>, seed: UInt64 = 0xadc8_3b19) -> UInt64 {
        let m: UInt64 = 0xc6a4_a793_5bd1_e995
        let r: UInt64 = 47
        var h = seed ^ (UInt64(key.count) &* m)
        var i = key.startIndex
        let blocksEnd = key.startIndex + (key.count - key.count & 7)
        while i < blocksEnd {
            var k: UInt64 = 0
            for j in 0..<8 { k |= UInt64(key[i + j]) << UInt64(8 * j) }
            k = k &* m
            k ^= k >> r
            k = k &* m
            h ^= k
            h = h &* m
            i += 8
        }
        let tail = key.count & 7
        if tail > 0 {
            for j in stride(from: tail - 1, through: 0, by: -1) { h ^= UInt64(key[i + j]) << UInt64(8 * j) }
            h = h &* m
        }
        h ^= h >> r
        h = h &* m
        h ^= h >> r
        return h
    }

    /// The register an element lands in and the length of its "000...1" pattern.
    static func patternLength(_ element: ArraySlice<UInt8>) -> (index: Int, count: UInt8) {
        var hash = murmur64A(element)
        let index = Int(hash & UInt64(registers - 1))
        hash >>= UInt64(indexBits)
        hash |= 1 << UInt64(q)
        var count: UInt8 = 1
        var bit: UInt64 = 1
        while hash & bit == 0 {
            count += 1
            bit <<= 1
        }
        return (index, count)
    }

    // MARK: - Dense registers

    static func denseGet(_ r: [UInt8], _ base: Int, _ index: Int) -> UInt8 {
        let byte = base + index * 6 / 8, fb = (index * 6) & 7
        let b0 = UInt(r[byte]), b1 = byte + 1 < r.count ? UInt(r[byte + 1]) : 0
        return UInt8(((b0 >> UInt(fb)) | (b1 << UInt(8 - fb))) & 63)
    }

    static func denseSet(_ r: inout [UInt8], _ base: Int, _ index: Int, _ value: UInt8) {
        let byte = base + index * 6 / 8, fb = (index * 6) & 7
        let v = UInt(value)
        r[byte] &= ~UInt8(truncatingIfNeeded: UInt(63) << UInt(fb))
        r[byte] |= UInt8(truncatingIfNeeded: v << UInt(fb))
        // The last register's high bits would land in the byte after the string (Redis's NUL); they are zero.
        if byte + 1 < r.count {
            r[byte + 1] &= ~UInt8(truncatingIfNeeded: UInt(63) >> UInt(8 - fb))
            r[byte + 1] |= UInt8(truncatingIfNeeded: v >> UInt(8 - fb))
        }
    }

    // MARK: - Sparse opcodes

    private static func isZero(_ b: UInt8) -> Bool { b & 0xC0 == 0 }
    private static func isXZero(_ b: UInt8) -> Bool { b & 0xC0 == 0x40 }
    private static func isVal(_ b: UInt8) -> Bool { b & 0x80 != 0 }
    private static func zeroLength(_ b: UInt8) -> Int { Int(b & 0x3F) + 1 }
    private static func xzeroLength(_ b0: UInt8, _ b1: UInt8) -> Int { (Int(b0 & 0x3F) << 8 | Int(b1)) + 1 }
    private static func valValue(_ b: UInt8) -> UInt8 { (b >> 2) & 0x1F + 1 }
    private static func valLength(_ b: UInt8) -> Int { Int(b & 0x3) + 1 }
    private static func val(_ value: UInt8, _ length: Int) -> UInt8 { ((value - 1) << 2 | UInt8(length - 1)) | 0x80 }
    private static func zero(_ length: Int) -> UInt8 { UInt8(length - 1) }
    private static func xzero(_ length: Int) -> [UInt8] { [UInt8((length - 1) >> 8) | 0x40, UInt8((length - 1) & 0xFF)] }

    /// Converts to the dense encoding; false when the sparse data is corrupt.
    mutating func toDense() -> Bool {
        guard !isDense else { return true }
        var dense = [UInt8](repeating: 0, count: Self.denseSize)
        for i in 0..<Self.headerSize { dense[i] = bytes[i] }
        dense[4] = 0
        let valid = forEachSparseRun { first, length, value in
            for index in first..<(first + length) { Self.denseSet(&dense, Self.headerSize, index, value) }
        }
        guard valid else { return false }
        bytes = dense
        return true
    }

    /// Walks the sparse opcodes, calling `body` with each run of non-zero registers (first
    /// register, run length, value); false when the opcodes do not cover exactly every register.
    private func forEachSparseRun(_ body: (Int, Int, UInt8) -> Void) -> Bool {
        var index = 0, p = Self.headerSize
        while p < bytes.count {
            let b = bytes[p]
            if Self.isZero(b) {
                index += Self.zeroLength(b)
                p += 1
            } else if Self.isXZero(b) {
                guard p + 1 < bytes.count else { return false }
                index += Self.xzeroLength(b, bytes[p + 1])
                p += 2
            } else {
                let length = Self.valLength(b)
                guard index + length <= Self.registers else { return false }
                body(index, length, Self.valValue(b))
                index += length
                p += 1
            }
        }
        return index == Self.registers
    }

    /// The sparse opcodes as PFDEBUG DECODE writes them (`Z:8436 v:1,1 z:3`); nil when dense.
    func decodedOpcodes() -> String? {
        guard !isDense else { return nil }
        var words: [String] = []
        var p = Self.headerSize
        while p < bytes.count {
            let b = bytes[p]
            if Self.isZero(b) {
                words.append("z:\(Self.zeroLength(b))")
                p += 1
            } else if Self.isXZero(b) {
                words.append("Z:\(Self.xzeroLength(b, p + 1 < bytes.count ? bytes[p + 1] : 0))")
                p += 2
            } else {
                words.append("v:\(Self.valValue(b)),\(Self.valLength(b))")
                p += 1
            }
        }
        return words.joined(separator: " ")
    }

    /// Raises register `index` to `count`: 1 when it changed, 0 when not, -1 when corrupt
    /// (Redis's `hllSparseSet`, promoting to dense as Redis does).
    mutating func set(_ index: Int, _ count: UInt8) -> Int {
        if isDense {
            guard count > Self.denseGet(bytes, Self.headerSize, index) else { return 0 }
            Self.denseSet(&bytes, Self.headerSize, index, count)
            return 1
        }
        if count > 32 { return promote(index, count) }
        // Step 1: the opcode covering the register.
        var p = Self.headerSize, first = 0, span = 0
        var prev: Int?
        while p < bytes.count {
            var length = 1
            let b = bytes[p]
            if Self.isZero(b) {
                span = Self.zeroLength(b)
            } else if Self.isVal(b) {
                span = Self.valLength(b)
            } else {
                guard p + 1 < bytes.count else { return -1 }
                span = Self.xzeroLength(b, bytes[p + 1])
                length = 2
            }
            if index <= first + span - 1 { break }
            prev = p
            p += length
            first += span
        }
        guard span != 0, p < bytes.count else { return -1 }
        let opcode = bytes[p]
        let isZeroOp = Self.isZero(opcode), isXZeroOp = Self.isXZero(opcode)
        let runLength = isZeroOp ? Self.zeroLength(opcode) : isXZeroOp ? Self.xzeroLength(opcode, bytes[p + 1]) : Self.valLength(opcode)
        var updated = false
        if !isZeroOp, !isXZeroOp {
            if Self.valValue(opcode) >= count { return 0 }  // case A
            if runLength == 1 {  // case B
                bytes[p] = Self.val(count, 1)
                updated = true
            }
        }
        if !updated, isZeroOp, runLength == 1 {  // case C
            bytes[p] = Self.val(count, 1)
            updated = true
        }
        if !updated {
            // Case D: split the opcode around the register.
            var sequence: [UInt8] = []
            let last = first + span - 1
            if isZeroOp || isXZeroOp {
                if index != first {
                    let length = index - first
                    sequence += length > 64 ? Self.xzero(length) : [Self.zero(length)]
                }
                sequence.append(Self.val(count, 1))
                if index != last {
                    let length = last - index
                    sequence += length > 64 ? Self.xzero(length) : [Self.zero(length)]
                }
            } else {
                let current = Self.valValue(opcode)
                if index != first { sequence.append(Self.val(current, index - first)) }
                sequence.append(Self.val(count, 1))
                if index != last { sequence.append(Self.val(current, last - index)) }
            }
            let oldLength = isXZeroOp ? 2 : 1
            let delta = sequence.count - oldLength
            if delta > 0, bytes.count + delta > Self.sparseMaxBytes { return promote(index, count) }
            bytes.replaceSubrange(p..<(p + oldLength), with: sequence)
        }
        // Step 4: merge adjacent VAL opcodes of equal value, scanning up to 5 opcodes from prev.
        var q = prev ?? Self.headerSize
        var scan = 5
        while q < bytes.count, scan > 0 {
            scan -= 1
            let b = bytes[q]
            if Self.isXZero(b) {
                q += 2
                continue
            }
            if Self.isZero(b) {
                q += 1
                continue
            }
            if q + 1 < bytes.count, Self.isVal(bytes[q + 1]) {
                let v1 = Self.valValue(b), v2 = Self.valValue(bytes[q + 1])
                let length = Self.valLength(b) + Self.valLength(bytes[q + 1])
                if v1 == v2, length <= 4 {
                    bytes[q + 1] = Self.val(v1, length)
                    bytes.remove(at: q)
                    continue
                }
            }
            q += 1
        }
        invalidateCache()
        return 1
    }

    private mutating func promote(_ index: Int, _ count: UInt8) -> Int {
        guard toDense() else { return -1 }
        return set(index, count)
    }

    /// PFADD's step for one element.
    mutating func add(_ element: ArraySlice<UInt8>) -> Int {
        let (index, count) = Self.patternLength(element)
        return set(index, count)
    }

    // MARK: - Cardinality

    var cachedCount: UInt64? {
        guard bytes[15] & 0x80 == 0 else { return nil }
        var card: UInt64 = 0
        for i in 0..<8 { card |= UInt64(bytes[8 + i]) << UInt64(8 * i) }
        return card
    }

    mutating func setCachedCount(_ card: UInt64) {
        for i in 0..<8 { bytes[8 + i] = UInt8(truncatingIfNeeded: card >> UInt64(8 * i)) }
    }

    mutating func invalidateCache() { bytes[15] |= 0x80 }

    /// Raises `max[i]` to this HLL's register i; false when corrupt.
    func merge(into max: inout [UInt8]) -> Bool {
        if isDense {
            for i in 0..<Self.registers {
                let v = Self.denseGet(bytes, Self.headerSize, i)
                if v > max[i] { max[i] = v }
            }
            return true
        }
        return forEachSparseRun { first, length, value in
            for index in first..<(first + length) where value > max[index] { max[index] = value }
        }
    }

    /// The registers, one byte each; nil when corrupt.
    func rawRegisters() -> [UInt8]? {
        var raw = [UInt8](repeating: 0, count: Self.registers)
        return merge(into: &raw) ? raw : nil
    }

    /// Ertl's estimator over a register histogram, as Redis 7.0's `hllCount`.
    static func estimate(_ raw: [UInt8]) -> UInt64 {
        var histogram = [Int](repeating: 0, count: 64)
        for r in raw { histogram[Int(r)] += 1 }
        let m = Double(registers)
        var z = m * tau((m - Double(histogram[q + 1])) / m)
        for j in stride(from: q, through: 1, by: -1) {
            z += Double(histogram[j])
            z *= 0.5
        }
        z += m * sigma(Double(histogram[0]) / m)
        let alphaInfinity = 0.721347520444481703680
        return UInt64((alphaInfinity * m * m / z).rounded(.toNearestOrAwayFromZero))
    }

    private static func sigma(_ x: Double) -> Double {
        if x == 1 { return .infinity }
        var x = x, y = 1.0, z = x, previous = 0.0
        repeat {
            x *= x
            previous = z
            z += x * y
            y += y
        } while previous != z
        return z
    }

    private static func tau(_ x: Double) -> Double {
        if x == 0 || x == 1 { return 0 }
        var x = x, y = 1.0, z = 1 - x, previous = 0.0
        repeat {
            x = x.squareRoot()
            previous = z
            y *= 0.5
            z -= pow(1 - x, 2) * y
        } while previous != z
        return z / 3
    }
}

/// PFADD, PFCOUNT, PFMERGE and PFDEBUG over string values holding `HyperLogLog`s, read and
/// written through `StringStore`.
extension RocksDBSession {
    /// The HLL a string holds; nil when missing. A string that is no HLL is refused.
    private func hll(_ value: [UInt8]?) throws(StoreError) -> HyperLogLog? {
        guard let value else { return nil }
        guard HyperLogLog.isValid(value[...]) else { throw .invalid(HyperLogLog.notHLLError) }
        return HyperLogLog(bytes: value)
    }

    func pfadd(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        let updated = try strings.edit(args[1]) { (edit: inout StringStore.Edit) throws(StoreError) -> Bool in
            var updated = edit.value == nil
            var hll = try hll(edit.take()) ?? .empty()
            for element in args.dropFirst(2) {
                switch hll.add(Array(element.readableBytesView)[...]) {
                case 1: updated = true
                case -1: throw .invalid(HyperLogLog.invalidError)
                default: break
                }
            }
            if updated {
                hll.invalidateCache()
                edit.write(hll.bytes)
            }
            return updated
        }
        reply.integer(updated ? 1 : 0)
    }

    func pfcount(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        if args.count > 2 {
            // The cardinality of the union, computed on a merged copy; nothing is cached.
            var max = [UInt8](repeating: 0, count: HyperLogLog.registers)
            for key in args.dropFirst() {
                guard let hll = try hll(try strings.bytes(key).map(Array.init)) else { continue }
                guard hll.merge(into: &max) else { throw .invalid(HyperLogLog.invalidError) }
            }
            return reply.integer(Int(HyperLogLog.estimate(max)))
        }
        // A stale cached count is recomputed and stored back in the value, as Redis does.
        let count = try strings.edit(args[1]) { (edit: inout StringStore.Edit) throws(StoreError) -> UInt64 in
            guard var hll = try hll(edit.take()) else { return 0 }
            if let cached = hll.cachedCount { return cached }
            guard let raw = hll.rawRegisters() else { throw .invalid(HyperLogLog.invalidError) }
            let card = HyperLogLog.estimate(raw)
            hll.setCachedCount(card)
            edit.write(hll.bytes)
            return card
        }
        reply.integer(Int(count))
    }

    func pfmerge(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        try strings.edit(args[1], readingAlso: args.dropFirst(2)) { (edit: inout StringStore.Edit) throws(StoreError) in
            var max = [UInt8](repeating: 0, count: HyperLogLog.registers)
            var useDense = false
            let destination = try hll(edit.take())
            if let destination {
                useDense = destination.isDense
                guard destination.merge(into: &max) else { throw .invalid(HyperLogLog.invalidError) }
            }
            for key in args.dropFirst(2) {
                guard let hll = try hll(try strings.bytes(key).map(Array.init)) else { continue }
                if hll.isDense { useDense = true }
                guard hll.merge(into: &max) else { throw .invalid(HyperLogLog.invalidError) }
            }
            var merged = destination ?? .empty()
            if useDense, !merged.toDense() { throw .invalid(HyperLogLog.invalidError) }
            for (index, value) in max.enumerated() where value != 0 { _ = merged.set(index, value) }
            merged.invalidateCache()
            edit.write(merged.bytes)
        }
        reply.ok()
    }
}

/// PFDEBUG and PFSELFTEST: Redis's debugging commands for the HLL encodings.
extension RocksDBSession {
    /// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key (Redis's `pfdebugCommand`: the key is looked up
    /// before the subcommand is read; GETREG and TODENSE store a sparse HLL as dense).
    func pfdebug(_ args: [ByteBuffer], _ reply: inout ReplyWriter) throws(StoreError) {
        try strings.edit(args[2]) { (edit: inout StringStore.Edit) throws(StoreError) in
            guard var hll = try hll(edit.take()) else { return reply.error("ERR The specified key does not exist") }
            let subcommand = args[1]
            if subcommand.isOption("GETREG") || subcommand.isOption("TODENSE") {
                let converted = !hll.isDense
                if converted {
                    guard hll.toDense() else { throw .invalid(HyperLogLog.invalidError) }
                    edit.write(hll.bytes)
                }
                guard subcommand.isOption("GETREG") else { return reply.integer(converted ? 1 : 0) }
                reply.arrayHeader(HyperLogLog.registers)
                for i in 0..<HyperLogLog.registers { reply.integer(Int(HyperLogLog.denseGet(hll.bytes, HyperLogLog.headerSize, i))) }
            } else if subcommand.isOption("DECODE") {
                guard let decoded = hll.decodedOpcodes() else { return reply.error("ERR HLL encoding is not sparse") }
                reply.bulk(decoded)
            } else if subcommand.isOption("ENCODING") {
                reply.simple(hll.isDense ? "dense" : "sparse")
            } else {
                reply.error("ERR Unknown PFDEBUG subcommand '\(subcommand.text)'")
            }
        }
    }

    /// PFSELFTEST: Redis's two checks of the implementation, answering +OK or a TESTFAILED error.
    /// Dense registers keep random values without touching their neighbours; a sparse and a dense
    /// HLL fed the same unique elements agree at every power of ten, the sparse one stays sparse
    /// below half `sparseMaxBytes`, and the estimate stays within six standard errors. Redis runs
    /// 1,000 register cycles and 10 million elements; this runs 100 and 1 million, so the event
    /// loop is held well under a second in a release build.
    func pfselftest(_ reply: inout ReplyWriter) {
        var random = SystemRandomNumberGenerator()
        var registers = HyperLogLog.empty()
        _ = registers.toDense()
        var expected = [UInt8](repeating: 0, count: HyperLogLog.registers)
        for _ in 0..<100 {
            for i in 0..<HyperLogLog.registers {
                expected[i] = UInt8.random(in: 0...63, using: &random)
                HyperLogLog.denseSet(&registers.bytes, HyperLogLog.headerSize, i, expected[i])
            }
            for i in 0..<HyperLogLog.registers {
                let value = HyperLogLog.denseGet(registers.bytes, HyperLogLog.headerSize, i)
                guard value == expected[i] else {
                    return reply.error("TESTFAILED Register error, counter \(i) wrong value \(value) (should be \(expected[i]))")
                }
            }
        }
        var dense = HyperLogLog.empty()
        _ = dense.toDense()
        var sparse = HyperLogLog.empty()
        let relativeError = 1.04 / Double(HyperLogLog.registers).squareRoot()
        let seed = random.next()
        var checkpoint = 1
        for j in 1...1_000_000 {
            let element = withUnsafeBytes(of: (UInt64(j) ^ seed).littleEndian) { Array($0) }
            _ = dense.add(element[...])
            _ = sparse.add(element[...])
            guard j == checkpoint else { continue }
            if j < HyperLogLog.sparseMaxBytes / 2, sparse.isDense { return reply.error("TESTFAILED sparse encoding not used") }
            guard let denseRaw = dense.rawRegisters(), let sparseRaw = sparse.rawRegisters() else {
                return reply.error(HyperLogLog.invalidError)
            }
            let estimate = HyperLogLog.estimate(denseRaw)
            guard estimate == HyperLogLog.estimate(sparseRaw) else { return reply.error("TESTFAILED dense/sparse disagree") }
            let absoluteError = abs(checkpoint - Int(estimate))
            let maximum = j == 10 ? 1 : Int((relativeError * 6 * Double(checkpoint)).rounded(.up))
            guard absoluteError <= maximum else {
                return reply.error("TESTFAILED Too big error. card:\(checkpoint) abserr:\(absoluteError)")
            }
            checkpoint *= 10
        }
        reply.ok()
    }
}

extension RocksDBSession {
    /// HyperLogLog: the RocksDB engine's handlers (the rows are in `Protocol/Commands/`).
    static let hyperLogLogCommands: [(CommandID, RocksDBHandler)] = [
        (.pfadd, .store { s, a, r throws(StoreError) in try s.pfadd(a, &r) }),
        (.pfcount, .store { s, a, r throws(StoreError) in try s.pfcount(a, &r) }),
        (.pfmerge, .store { s, a, r throws(StoreError) in try s.pfmerge(a, &r) }),
        (.pfdebug, .store { s, a, r throws(StoreError) in try s.pfdebug(a, &r) }),
        (.pfselftest, .run { s, _, r throws(RocksDBError) in s.pfselftest(&r) }),
    ]
}
