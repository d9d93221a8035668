import Foundation
import Logging
import NIOCore
import NIOPosix

/// Dynomite's `dns_provider`: the seed list is a DNS TXT record (`DYNOMITE_DNS_NAME`, default
/// `_dynomite.ec2-internal`, or `dns_name`), asked of the first nameserver in /etc/resolv.conf
/// (or `dns_server`) every `seeds_check_interval`. Several TXT records are joined with `|`.
final class DNSSeedProvider: Sendable {
    private let eventLoop: EventLoop
    private let logger: Logger
    private let name: String
    private let server: (host: String, port: Int)
    private let interval: Int
    private let applier: SeedListApplier

    init(node: NodeContext, loops: LoopSessions, eventLoop: EventLoop, logger: Logger) {
        self.eventLoop = eventLoop
        self.logger = logger
        let config = node.config
        name = config.dnsName ?? ProcessInfo.processInfo.environment["DYNOMITE_DNS_NAME"] ?? "_dynomite.ec2-internal"
        server = config.dnsServer.map { ($0.host, $0.port) } ?? (Self.systemNameserver() ?? "127.0.0.1", 53)
        interval = config.seedsCheckInterval
        applier = SeedListApplier(provider: "dns_provider", node: node, loops: loops, logger: logger)
    }

    /// The first `nameserver` of /etc/resolv.conf.
    static func systemNameserver() -> String? {
        guard let text = try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8) else { return nil }
        for line in text.split(whereSeparator: \.isNewline) {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if words.count >= 2, words[0] == "nameserver" { return String(words[1]) }
        }
        return nil
    }

    func start() -> RepeatedTask {
        logger.notice("dns_provider: polling TXT \(name) at \(server.host):\(server.port) every \(interval) ms")
        return eventLoop.scheduleRepeatedAsyncTask(initialDelay: .zero, delay: .milliseconds(Int64(interval))) { _ in
            self.query().map { records in
                if records.isEmpty {
                    self.logger.warning("dns_provider: no TXT record for \(self.name); keeping the current seeds")
                } else {
                    self.applier.received(records.joined(separator: "|"))
                }
            }.recover { error in
                self.logger.warning("dns_provider: cannot query \(self.name) at \(self.server.host):\(self.server.port): \(error)")
            }
        }
    }

    private func query() -> EventLoopFuture<[String]> {
        let id = UInt16.random(in: 0...UInt16.max)
        let done = eventLoop.makePromise(of: [String].self)
        let remote: SocketAddress
        do { remote = try SocketAddress.makeAddressResolvingHost(server.host, port: server.port) } catch {
            return eventLoop.makeFailedFuture(error)
        }
        DatagramBootstrap(group: eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(DNSReplyHandler(id: id, done: done))
                }
            }
            .bind(host: remote.protocol == .inet6 ? "::" : "0.0.0.0", port: 0)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    let packet = AddressedEnvelope(remoteAddress: remote, data: ByteBuffer(bytes: DNSMessage.txtQuery(name: self.name, id: id)))
                    channel.writeAndFlush(packet, promise: nil)
                    channel.eventLoop.scheduleTask(in: .seconds(5)) {
                        done.fail(DNSMessage.Malformed(description: "no reply within 5 s"))
                        channel.close(promise: nil)
                    }
                    done.futureResult.whenComplete { _ in channel.close(promise: nil) }
                case .failure(let error):
                    done.fail(error)
                }
            }
        return done.futureResult
    }
}

/// Takes the reply to one query; anything else arriving on the socket is ignored.
private final class DNSReplyHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    private let id: UInt16
    private let done: EventLoopPromise<[String]>

    init(id: UInt16, done: EventLoopPromise<[String]>) {
        self.id = id
        self.done = done
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Array(unwrapInboundIn(data).data.readableBytesView)
        do throws(DNSMessage.Malformed) {
            done.succeed(try DNSMessage.txtStrings(bytes, id: id))
        } catch {
            done.fail(error)
        }
    }
}
