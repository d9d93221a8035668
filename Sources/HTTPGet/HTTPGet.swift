import NIOCore
import NIOHTTP1
import NIOPosix

/// One HTTP/1 request with `Connection: close`, through NIOHTTP1's codec: the node's Florida
/// seed poller and `dynamis-snapshot`'s admin-port calls are the project's HTTP clients.
public enum HTTPGet {
    /// A response: the status code and the body as text.
    public struct Response: Sendable {
        public let status: Int
        public let body: String
    }

    /// What went wrong before a whole response arrived.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Sends `method uri` as `version` to host:port on `eventLoop` and collects the response; the
    /// connection is closed once the response ended or after `timeout`.
    public static func fetch(on eventLoop: EventLoop, host: String, port: Int, method: HTTPMethod = .GET, uri: String,
                             version: HTTPVersion = .http1_1, headers: [(String, String)] = [],
                             timeout: TimeAmount = .seconds(10)) -> EventLoopFuture<Response> {
        let done = eventLoop.makePromise(of: Response.self)
        var head = HTTPRequestHead(version: version, method: method, uri: uri)
        head.headers.add(name: "Host", value: host)
        head.headers.add(name: "Connection", value: "close")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector(done))
                }
            }
            .connect(host: host, port: port)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    channel.write(HTTPClientRequestPart.head(head), promise: nil)
                    channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
                    // A server that never answers or never closes does not hold the caller forever.
                    let timer = channel.eventLoop.scheduleTask(in: timeout) {
                        done.fail(Failure(description: "no complete response from \(host):\(port) within \(timeout.nanoseconds / 1_000_000_000) s"))
                        channel.close(promise: nil)
                    }
                    done.futureResult.whenComplete { _ in
                        timer.cancel()
                        channel.close(promise: nil)
                    }
                case .failure(let error):
                    done.fail(error)
                }
            }
        return done.futureResult
    }
}

/// Collects one response (head, body, end); a connection closed before the end fails it.
private final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    private let done: EventLoopPromise<HTTPGet.Response>
    private var status: Int?
    private var body = ByteBuffer()

    init(_ done: EventLoopPromise<HTTPGet.Response>) { self.done = done }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): status = Int(head.status.code)
        case .body(var part): body.writeBuffer(&part)
        case .end:
            guard let status else { return }
            done.succeed(HTTPGet.Response(status: status, body: String(buffer: body)))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        done.fail(HTTPGet.Failure(description: "the connection closed before a complete response"))
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        done.fail(error)
        context.close(promise: nil)
    }
}
