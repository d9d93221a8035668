import NIOCore
import Protocol

/// Cuts a peer channel's bytes into frames inside the handler that uses them. A separate
/// `ByteToMessageHandler` stage ran unspecialized (a generic class) and boxed every frame in
/// `NIOAny`: metadata lookups and dynamic casts per frame, 4% of a coordinator's CPU.
struct PeerFrameReader {
    private var decoder = PeerFrameDecoder()
    /// Bytes of a frame not complete yet.
    private var pending: ByteBuffer?
    /// Set after a malformed frame: nothing more is read from the connection.
    private(set) var failed = false

    /// Hands each complete frame in `data` (after what was pending) to `each`, in order.
    /// A malformed frame throws; the caller closes the connection.
    mutating func read(_ data: ByteBuffer, _ each: (PeerFrame) -> Void) throws {
        guard !failed else { return }
        var buffer: ByteBuffer
        if var previous = pending {
            pending = nil
            var data = data
            previous.writeBuffer(&data)
            buffer = previous
        } else {
            buffer = data
        }
        do {
            while let frame = try decoder.decode(buffer: &buffer) { each(frame) }
        } catch {
            failed = true
            throw error
        }
        if buffer.readableBytes > 0 {
            buffer.discardReadBytes()
            pending = buffer
        }
    }
}
