import Foundation
import NIOCore
import NIOPosix

/// One HTTP/1.1 GET with `Connection: close`: the admin port is all the tool talks HTTP to.
func httpGet(host: String, port: Int, path: String, bearer: String?) throws -> (status: Int, body: String) {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    defer { try? group.syncShutdownGracefully() }
    let done = group.next().makePromise(of: ByteBuffer.self)
    let channel: Channel
    do {
        channel = try ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(CollectUntilClose(done))
                }
            }
            .connect(host: host, port: port).wait()
    } catch {
        throw ToolError("cannot connect to the admin port \(host):\(port): \(error)")
    }
    var request = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n"
    if let bearer { request += "Authorization: Bearer \(bearer)\r\n" }
    request += "\r\n"
    try channel.writeAndFlush(ByteBuffer(string: request)).wait()
    let response = String(buffer: try done.futureResult.wait())
    guard let headEnd = response.range(of: "\r\n\r\n"),
          let status = Int(response.split(separator: " ", maxSplits: 2).dropFirst().first ?? "") else {
        throw ToolError("malformed HTTP response from \(host):\(port)")
    }
    return (status, String(response[headEnd.upperBound...]))
}

private final class CollectUntilClose: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private var collected = ByteBuffer()
    private let done: EventLoopPromise<ByteBuffer>

    init(_ done: EventLoopPromise<ByteBuffer>) { self.done = done }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var b = unwrapInboundIn(data)
        collected.writeBuffer(&b)
    }

    func channelInactive(context: ChannelHandlerContext) { done.succeed(collected) }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        done.fail(error)
        context.close(promise: nil)
    }
}
