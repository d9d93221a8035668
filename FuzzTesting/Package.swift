// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for Dynamis's decoders, built apart from the main package so that the
// sanitizer flags never reach it:
//   swift build -c release --package-path FuzzTesting -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
// `make fuzz` builds and runs each for FUZZ_SECONDS on its corpus in FuzzTesting/Corpus/<target>.
func fuzzer(_ name: String, _ product: String) -> Target {
    .executableTarget(name: name, dependencies: [
        "FuzzDriver",
        .product(name: product, package: "Dynamis"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOEmbedded", package: "swift-nio"),
    ], path: "Sources/\(name)")
}

let package = Package(
    name: "DynamisFuzz",
    dependencies: [
        .package(name: "Dynamis", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .target(name: "FuzzDriver"),
        fuzzer("FuzzRESPRequest", "DynamisProtocol"),
        fuzzer("FuzzMemcachedRequest", "DynamisProtocol"),
        fuzzer("FuzzPeerFrame", "DynamisProtocol"),
        fuzzer("FuzzRESPReply", "DynamisProtocol"),
        fuzzer("FuzzRDB", "DynamisSnapshot"),
        fuzzer("FuzzDumpPayload", "DynamisSnapshot"),
        fuzzer("FuzzJSONLines", "DynamisSnapshot"),
        fuzzer("FuzzStoredRecords", "DynamisEngines"),
        fuzzer("FuzzConfig", "DynamisServer"),
    ],
    swiftLanguageModes: [.v6]
)
