import Logging
import NIOCertificateReloading
import NIOCore
import NIOSSL
import Ring

/// The node's TLS: one certificate and key (reloaded from their files without a restart), one
/// cluster CA, and the three contexts built on them: the client port's, and the peer links'
/// listener and connector sides (mutual TLS: a peer must present a certificate the CA signed).
/// TLS 1.0 and 1.1 are never offered; `tls_protocols` picks 1.2, 1.3 or both.
public final class NodeTLS: Sendable {
    let reloader: TimedCertificateReloader
    /// The client port's context; its client-certificate check follows `tls_auth_clients`.
    let clientContext: NIOSSLContext
    let peerListenerContext: NIOSSLContext
    let peerConnectorContext: NIOSSLContext
    let settings: TLSSettings

    /// Loads the certificate, key and CA, failing with the config key at fault.
    public init(settings: TLSSettings, logger: Logger) throws(ConfigError) {
        guard let cert = settings.certFile, let key = settings.keyFile, let ca = settings.caCertFile else {
            throw ConfigError(key: "tls_cert_file", "tls_cert_file, tls_key_file and tls_ca_cert_file are all required for TLS")
        }
        self.settings = settings
        let configuration = TimedCertificateReloader.Configuration(
            refreshInterval: .seconds(max(settings.reloadIntervalSeconds, 1)),
            certificateSource: .init(location: .file(path: cert), format: .pem),
            privateKeySource: .init(location: .file(path: key), format: .pem)
        ) {
            $0.onCertificateLoadFailed = { failure in
                logger.error("TLS: cannot reload the certificate '\(cert)' and key '\(key)'; keeping the current pair: \(failure.error)")
            }
        }
        do {
            reloader = try TimedCertificateReloader.makeReloaderValidatingSources(configuration: configuration)
        } catch {
            throw ConfigError(key: "tls_cert_file", "cannot load the certificate '\(cert)' with the key '\(key)': \(error)")
        }
        do {
            _ = try NIOSSLCertificate.fromPEMFile(ca)
        } catch {
            throw ConfigError(key: "tls_ca_cert_file", "cannot load the CA certificate '\(ca)': \(error)")
        }
        func versions(_ configuration: inout TLSConfiguration) {
            configuration.minimumTLSVersion = settings.allowTLS12 ? .tlsv12 : .tlsv13
            configuration.maximumTLSVersion = settings.allowTLS13 ? .tlsv13 : .tlsv12
        }
        do {
            var client = try TLSConfiguration.makeServerConfiguration(certificateReloader: reloader)
            client.trustRoots = .file(ca)
            switch settings.authClients {
            case .yes: client.certificateVerification = .noHostnameVerification
            case .optional: client.certificateVerification = .optionalVerification
            case .no: client.certificateVerification = .none
            }
            versions(&client)
            clientContext = try NIOSSLContext(configuration: client)

            var listener = try TLSConfiguration.makeServerConfigurationWithMTLS(certificateReloader: reloader, trustRoots: .file(ca))
            versions(&listener)
            peerListenerContext = try NIOSSLContext(configuration: listener)

            var connector = try TLSConfiguration.makeClientConfiguration(certificateReloader: reloader)
            connector.trustRoots = .file(ca)
            // Peers are reached by address; the CA's signature is what identifies a cluster member.
            connector.certificateVerification = .noHostnameVerification
            versions(&connector)
            peerConnectorContext = try NIOSSLContext(configuration: connector)
        } catch {
            throw ConfigError(key: "tls_cert_file", "cannot build the TLS configuration: \(error)")
        }
    }

    /// Rereads the certificate and key files (the node schedules this every `tls_reload_interval`).
    func reload() {
        try? reloader.reload()
    }

    /// Whether the link between this node and `peer` must be encrypted, by Dynomite's
    /// `secure_server_option`: `rack` encrypts links that leave the rack, `datacenter` those
    /// that leave the datacenter, `all` every link.
    static func linkRequiresTLS(option: String, localRack: String, localDatacenter: String, peerRack: String, peerDatacenter: String) -> Bool {
        switch option {
        case "all": return true
        case "datacenter": return peerDatacenter != localDatacenter
        case "rack": return peerDatacenter != localDatacenter || peerRack != localRack
        default: return false
        }
    }

    /// How a TLS failure reads in the log: what went wrong, and the usual reason.
    static func describe(_ error: Error) -> String? {
        guard error is NIOSSLError || error is BoringSSLError else { return nil }
        return "TLS handshake failed (\(error)): a certificate missing, expired or not signed by the CA in tls_ca_cert_file, or no protocol version in common"
    }
}

/// First on an incoming peer connection: tells a TLS ClientHello (its first byte is a
/// handshake record, 0x16) from a plaintext peer frame (magic `DY`), puts the TLS handler in
/// place for the former, and tells the peer handler which it got, so that it can refuse a
/// plaintext link where `secure_server_option` wants TLS. Holds channelActive back until then,
/// so nothing is written in the clear on a connection that turns out to be TLS.
final class PeerTLSSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let tls: NIOSSLContext?
    private let detected: (Bool) -> Void
    private let logger: Logger
    private var sawActive = false

    init(tls: NIOSSLContext?, logger: Logger, detected: @escaping (Bool) -> Void) {
        self.tls = tls
        self.logger = logger
        self.detected = detected
    }

    func channelActive(context: ChannelHandlerContext) { sawActive = true }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let isTLS = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) == 0x16
        if isTLS {
            guard let tls else {
                logger.error("peer \(context.remoteAddress?.description ?? "?") opened a TLS link, but this node has no TLS configured (tls_cert_file, secure_server_option); closing it")
                context.close(promise: nil)
                return
            }
            do {
                try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls), position: .after(self))
            } catch {
                context.close(promise: nil)
                return
            }
        }
        detected(isTLS)
        if sawActive { context.fireChannelActive() }
        context.fireChannelRead(data)
        context.pipeline.syncOperations.removeHandler(self, promise: nil)
    }
}
