import NIOCore

/// One node-to-node message: a fixed binary header, then the payload (RESP or memcached request
/// or reply bytes, or the hello text). Many requests share a connection; a response carries its
/// request's id, so responses may come back in any order.
///
/// Header (big-endian, 26 bytes): magic "DY", version, type, flags (u16), id (u64), stamp
/// (u64: a request's write version, `WriteVersion`; 0 when none), payload length (u32).
/// Version 2 added the stamp; a version-1 peer is refused with a log line naming both.
public struct PeerFrame: Sendable {
    public enum Kind: UInt8, Sendable {
        /// Handshake messages as text (identity, challenge, proof, welcome), before any request.
        case hello = 1
        /// Execute on the receiving node's own storage and answer.
        case request = 2
        /// From another datacenter: the receiver coordinates the write in its own DC, then answers.
        case forwarded = 3
        /// The answer to the request with the same id.
        case response = 4
        /// The request could not be executed (state refusal, overload); the payload is the error text.
        case failure = 5
    }

    /// Request and response flags.
    public struct Flags: OptionSet, Sendable {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        /// The client speaks RESP3: the receiver writes RESP3 replies.
        public static let resp3 = Flags(rawValue: 1 << 0)
        /// The request is a write (the receiver checks its node state against it).
        public static let write = Flags(rawValue: 1 << 1)
        /// The payload is one memcached text-protocol request (and the reply is memcached's).
        public static let memcached = Flags(rawValue: 1 << 2)
    }

    public static let magic: UInt16 = 0x4459  // "DY"
    public static let version: UInt8 = 2
    public static let headerSize = 26
    /// Where the payload length sits in the header (the last field).
    public static let lengthOffset = 22
    /// Redis's largest bulk string plus room for the command around it.
    public static let maxPayload = 512 * 1024 * 1024 + 64 * 1024

    public var kind: Kind
    public var flags: Flags
    public var id: UInt64
    /// The coordinator's version of a write request (0: none).
    public var stamp: UInt64
    public var payload: ByteBuffer

    public init(kind: Kind, flags: Flags = [], id: UInt64, stamp: UInt64 = 0, payload: ByteBuffer) {
        self.kind = kind
        self.flags = flags
        self.id = id
        self.stamp = stamp
        self.payload = payload
    }

    /// Writes a frame whose payload the caller writes next: returns where the length goes, to
    /// be filled in by `finish` once the payload is written (no payload copy).
    @inlinable
    public static func begin(_ kind: Kind, flags: Flags = [], id: UInt64, stamp: UInt64 = 0, into out: inout ByteBuffer) -> Int {
        out.writeInteger(magic)
        out.writeInteger(version)
        out.writeInteger(kind.rawValue)
        out.writeInteger(flags.rawValue)
        out.writeInteger(id)
        out.writeInteger(stamp)
        let lengthAt = out.writerIndex
        out.writeInteger(UInt32(0))
        return lengthAt
    }

    @inlinable
    public static func finish(lengthAt: Int, in out: inout ByteBuffer) {
        out.setInteger(UInt32(out.writerIndex - lengthAt - 4), at: lengthAt)
    }

    /// The whole frame, header and payload.
    public func write(into out: inout ByteBuffer) {
        let lengthAt = Self.begin(kind, flags: flags, id: id, stamp: stamp, into: &out)
        var payload = payload
        out.writeBuffer(&payload)
        Self.finish(lengthAt: lengthAt, in: &out)
    }
}

/// Why a peer connection's bytes are not frames; the connection is closed.
public enum PeerFrameError: Error, Equatable, CustomStringConvertible, Sendable {
    case badMagic(UInt16)
    case unsupportedVersion(UInt8)
    case unknownKind(UInt8)
    case tooLarge(Int)

    public var description: String {
        switch self {
        case .badMagic(let m): return "not a Dynamis peer (frame starts with 0x\(String(m, radix: 16)))"
        case .unsupportedVersion(let v): return "peer speaks frame version \(v); this node speaks \(PeerFrame.version)"
        case .unknownKind(let k): return "unknown frame type \(k)"
        case .tooLarge(let n): return "frame payload of \(n) bytes is over the \(PeerFrame.maxPayload) byte limit"
        }
    }
}

/// Splits a peer connection's bytes into frames; the payload is a slice of the received
/// buffer. A malformed header throws, and the connection carrying it is closed.
public struct PeerFrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = PeerFrame

    public init() {}

    public mutating func decode(buffer: inout ByteBuffer) throws -> PeerFrame? {
        guard buffer.readableBytes >= PeerFrame.headerSize else {
            // A wrong first byte pair is reported at once rather than after 18 bytes.
            if buffer.readableBytes >= 2, let magic = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self),
               magic != PeerFrame.magic {
                throw PeerFrameError.badMagic(magic)
            }
            return nil
        }
        let start = buffer.readerIndex
        let magic = buffer.getInteger(at: start, as: UInt16.self)!
        guard magic == PeerFrame.magic else { throw PeerFrameError.badMagic(magic) }
        let version = buffer.getInteger(at: start + 2, as: UInt8.self)!
        guard version == PeerFrame.version else { throw PeerFrameError.unsupportedVersion(version) }
        let rawKind = buffer.getInteger(at: start + 3, as: UInt8.self)!
        guard let kind = PeerFrame.Kind(rawValue: rawKind) else { throw PeerFrameError.unknownKind(rawKind) }
        let length = Int(buffer.getInteger(at: start + PeerFrame.lengthOffset, as: UInt32.self)!)
        guard length <= PeerFrame.maxPayload else { throw PeerFrameError.tooLarge(length) }
        guard buffer.readableBytes >= PeerFrame.headerSize + length else { return nil }
        let flags = PeerFrame.Flags(rawValue: buffer.getInteger(at: start + 4, as: UInt16.self)!)
        let id = buffer.getInteger(at: start + 6, as: UInt64.self)!
        let stamp = buffer.getInteger(at: start + 14, as: UInt64.self)!
        buffer.moveReaderIndex(forwardBy: PeerFrame.headerSize)
        let payload = buffer.readSlice(length: length)!
        return PeerFrame(kind: kind, flags: flags, id: id, stamp: stamp, payload: payload)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> PeerFrame? {
        try decode(buffer: &buffer)
    }
}
