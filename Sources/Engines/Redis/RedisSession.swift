import NIOCore
import Protocol

/// One event loop's forwarding to redis-server: every routed command goes as RESP. Clients that
/// said HELLO 3 use a second pool whose connections speak RESP3 (opened on the first such
/// request), so redis-server's own RESP3 replies reach them untouched. A client that switches
/// protocol mid-stream moves to the other pool: its requests already sent on the first one still
/// answer in order, but need not run before the ones that follow on the second.
final class RedisSession: ForwardingSession<RESPWire>, EngineSession {
    private let makeRESP3Pool: () -> BackendPool<RESPWire>
    private var resp3Pool: BackendPool<RESPWire>?

    init(pool: BackendPool<RESPWire>, resp3: @escaping () -> BackendPool<RESPWire>) {
        makeRESP3Pool = resp3
        super.init(pool: pool)
    }

    func execute(_ spec: CommandSpec, _ arguments: [ByteBuffer], origin: RequestOrigin, reply: inout ReplyWriter) -> Execution {
        let pool: BackendPool<RESPWire>
        if reply.resp3 {
            if resp3Pool == nil { resp3Pool = makeRESP3Pool() }
            pool = resp3Pool!
        } else {
            pool = self.pool
        }
        if let error = pool.connection(for: origin.client).send(arguments, origin: origin) { return .failed(error) }
        return .later
    }

    override var hasPendingWrites: Bool { super.hasPendingWrites || (resp3Pool?.hasUnflushedRequests ?? false) }

    override func endOfBurst() -> String? {
        resp3Pool?.flush()
        return super.endOfBurst()
    }

    override func close() {
        resp3Pool?.close()
        super.close()
    }
}
