import NIOCore
import Protocol

/// One event loop's forwarding to memcached: checked requests go as the bytes they came as.
final class MemcachedSession: ForwardingSession<MemcachedWire>, EngineSession {
    /// Memcached clients never send RESP.
    func execute(_ spec: CommandSpec, _ arguments: [ByteBuffer], origin: RequestOrigin, reply: inout ReplyWriter) -> Execution {
        reply.buffer.writeString("ERROR\r\n")
        return .answered
    }

    func execute(memcached request: MemcachedRequest, origin: RequestOrigin, reply: inout ReplyWriter) -> Execution {
        let kind: UInt8? = request.noreply ? nil : request.responseKind.rawValue
        var raw = request.raw
        if request.quiet {
            // The answer ends at the no-op's MN whether memcached suppressed it or not.
            raw = ByteBuffer()
            raw.reserveCapacity(request.raw.readableBytes + 4)
            raw.writeImmutableBuffer(request.raw)
            raw.writeStaticString("mn\r\n")
        }
        if let error = pool.connection(for: origin.client).send(raw: raw, kind: kind, origin: origin) { return .failed(error) }
        return kind != nil ? .later : .answered
    }
}
