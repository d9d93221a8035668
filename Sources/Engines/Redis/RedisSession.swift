import NIOCore
import Protocol

/// One event loop's forwarding to redis-server: every routed command goes as RESP.
final class RedisSession: ForwardingSession<RESPWire>, EngineSession {
    func execute(_ spec: CommandSpec, _ arguments: [ByteBuffer], origin: RequestOrigin, reply: inout ReplyWriter) -> Bool {
        if let error = pool.connection(for: origin.client).send(arguments, origin: origin) {
            reply.error(error.message)
            return false
        }
        return true
    }
}
