import HTTPGet
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

/// The HTTP/1 client (Florida seeds, the snapshot tool) against a server that answers with
/// fixed bytes: HTTP/1.0 bodies ended by the close, HTTP/1.1 with a length, a non-200 status, a
/// server that closes without answering.
@Suite(.timeLimit(.minutes(3)))  // a hang, not slowness: the parallel run can starve a test for a minute
struct HTTPGetTests {
    /// Answers every connection with `response` once the request's blank line arrived, then closes.
    final class Canned: ChannelInboundHandler, @unchecked Sendable {  // one per channel, on its loop
        typealias InboundIn = ByteBuffer
        let response: String
        var seen = ""
        init(_ response: String) { self.response = response }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            seen += String(buffer: unwrapInboundIn(data))
            guard seen.contains("\r\n\r\n") else { return }
            let answer = response.replacingOccurrences(of: "{request}", with: seen.split(separator: "\r\n").first.map(String.init) ?? "")
            context.writeAndFlush(NIOAny(ByteBuffer(string: answer))).whenComplete { _ in context.close(promise: nil) }
        }
    }

    func exchange(_ response: String, version: HTTPVersion = .http1_1) throws -> Result<HTTPGet.Response, Error> {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let server = try ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Canned(response)) }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        defer { try? server.close().wait() }
        let future = HTTPGet.fetch(on: group.next(), host: "127.0.0.1", port: server.localAddress!.port!, uri: "/REST/v1/admin/get_seeds",
                                   version: version, headers: [("Authorization", "Bearer x")], timeout: .seconds(5))
        return Result { try future.wait() }
    }

    @Test func bodiesStatusesAndEarlyCloses() throws {
        // HTTP/1.0, no length: the body ends with the connection (Florida's way); the request line is echoed.
        let old = try exchange("HTTP/1.0 200 OK\r\n\r\n{request}\nseeds", version: .http1_0).get()
        #expect(old.status == 200)
        #expect(old.body == "GET /REST/v1/admin/get_seeds HTTP/1.0\nseeds")
        let sized = try exchange("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").get()
        #expect(sized.status == 200 && sized.body == "hello")
        let refused = try exchange("HTTP/1.1 401 Unauthorized\r\nContent-Length: 3\r\n\r\nno\n").get()
        #expect(refused.status == 401 && refused.body == "no\n")
        // Closed before any response: a failure, not an empty success.
        guard case .failure = try exchange("") else { Issue.record("an empty answer was taken as a response"); return }
        // A length promised and not delivered: a failure too.
        guard case .failure = try exchange("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort") else {
            Issue.record("a truncated body was taken as a response"); return
        }
    }
}
