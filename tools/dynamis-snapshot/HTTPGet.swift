import Foundation
import HTTPGet
import NIOCore
import NIOPosix

/// One GET to a node's admin port (`HTTPGet`, NIOHTTP1), waited for: the tool is synchronous.
func httpGet(host: String, port: Int, path: String, bearer: String?) throws -> (status: Int, body: String) {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    defer { try? group.syncShutdownGracefully() }
    let headers = bearer.map { [("Authorization", "Bearer \($0)")] } ?? []
    do {
        // A backup of a big node takes a while: the admin port answers when the checkpoint is made.
        let response = try HTTPGet.fetch(on: group.next(), host: host, port: port, uri: path, headers: headers,
                                         timeout: .seconds(3600)).wait()
        return (response.status, response.body)
    } catch {
        throw ToolError("admin port \(host):\(port): \(error)")
    }
}
