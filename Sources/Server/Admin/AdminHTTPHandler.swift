import Foundation
import NIOCore
import NIOHTTP1

/// Serves Dynomite's admin paths on `stats_listen`, one request per connection as Dynomite does.
final class AdminHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let admin: AdminRoutes
    private var head: HTTPRequestHead?

    init(admin: AdminRoutes) { self.admin = admin }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request): head = request
        case .body: break
        case .end:
            guard let request = head else { return }
            head = nil
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            admin.respond(method: request.method, uri: request.uri, authorization: request.headers.first(name: "Authorization"))
                .hop(to: context.eventLoop).whenSuccess { response in
                let (handler, context) = loopBound.value
                handler.send(response, keepAlive: request.isKeepAlive, context: context)
            }
        }
    }

    private func send(_ response: AdminResponse, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.utf8.count))
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: response.body)))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            done.whenComplete { _ in bound.value.close(promise: nil) }
        }
    }
}

/// One admin reply.
struct AdminResponse: Sendable {
    var status: HTTPResponseStatus = .ok
    var contentType = "text/plain"
    var body: String

    static func text(_ body: String) -> AdminResponse { AdminResponse(body: body) }
    static func json(_ object: Any) -> AdminResponse {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return AdminResponse(contentType: "application/json", body: String(decoding: data, as: UTF8.self))
    }
}
