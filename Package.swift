// swift-tools-version:6.0
import PackageDescription

// Release builds skip the runtime exclusivity checks on our own modules, as SwiftNIO's
// benchmarks do: under load they were a tenth of a coordinator's CPU. Debug builds, which run
// the tests, keep them, so a violation still traps there.
let fast: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "Dynamis",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "dynamis", targets: ["dynamis"]),
        .executable(name: "dynamis-snapshot", targets: ["dynamis-snapshot"]),
        // For the fuzzers in FuzzTesting/ (a package of their own, so sanitizers never touch this build).
        .library(name: "DynamisProtocol", targets: ["Protocol"]),
        .library(name: "DynamisSnapshot", targets: ["Snapshot"]),
        .library(name: "DynamisEngines", targets: ["Engines"]),
        .library(name: "DynamisServer", targets: ["Server"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
    ],
    targets: [
        // Pure values: tokens, hash functions, topology. Imports nothing but the standard library.
        .target(name: "Ring", swiftSettings: fast),
        // Wire codecs and the command table.
        .target(name: "Protocol", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
        ], swiftSettings: fast),
        .systemLibrary(name: "CRocksDB", pkgConfig: "rocksdb",
                       providers: [.apt(["librocksdb-dev"])]),
        // RDB and JSON Lines snapshot codecs, DUMP payloads. Pure Swift, no dependencies.
        .target(name: "Snapshot", swiftSettings: fast),
        .target(name: "Engines", dependencies: [
            "Protocol", "CRocksDB", "Snapshot",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: fast),
        // The HTTP/1 client (NIOHTTP1): Florida seeds, the snapshot tool's admin-port calls.
        .target(name: "HTTPGet", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ], swiftSettings: fast),
        .target(name: "Server", dependencies: [
            "Ring", "Protocol", "Engines", "HTTPGet",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOCertificateReloading", package: "swift-nio-extras"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Yams", package: "Yams"),
        ], swiftSettings: fast),
        .executableTarget(name: "dynamis", dependencies: [
            "Server",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: fast),
        // Export, import and backup tool (issue 7); its source lives with the other tools.
        .executableTarget(name: "dynamis-snapshot", dependencies: [
            "Snapshot", "Engines", "Protocol", "Ring", "HTTPGet",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "tools/dynamis-snapshot", swiftSettings: fast),
        // Raw RocksDB put/get rate through the C API: the ceiling for SET (bench/ only).
        .executableTarget(name: "rocksdb-raw-bench", dependencies: ["CRocksDB"], path: "bench/RocksDBRawBench"),

        .target(name: "TestSupport", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
        ], path: "Tests/TestSupport"),
        .testTarget(name: "RingTests", dependencies: [
            "Ring", .product(name: "PropertyBased", package: "swift-property-based"),
        ]),
        .testTarget(name: "ProtocolTests", dependencies: [
            "Protocol", "TestSupport", .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .testTarget(name: "EnginesTests", dependencies: [
            "Engines", "Protocol", "TestSupport", .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
        ]),
        .testTarget(name: "SnapshotTests", dependencies: ["Snapshot", "TestSupport"]),
        .testTarget(name: "ServerTests", dependencies: [
            "Server", "Ring", "Snapshot", "TestSupport", "dynamis", "dynamis-snapshot", "HTTPGet", .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
