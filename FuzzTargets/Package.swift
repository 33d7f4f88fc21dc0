// swift-tools-version: 6.0
// The libFuzzer targets (docs/FUZZING.md): a package of their own, so the main build and
// `swift build --build-tests` never compile them; `scripts/fuzz` builds this one with
// `--sanitize fuzzer --sanitize address -Xswiftc -sanitize=fuzzer,address` into .build-fuzz.
import Foundation
import PackageDescription

// A path dependency is named after its folder, which is whatever the clone is called (this
// folder is not called `Fuzz` because a clone called `fuzz` would then share its name).
let prism = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

func fuzzTarget(_ name: String, _ products: [String]) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["FuzzSupport"] + products.map { .product(name: $0, package: prism) }
    )
}

let package = Package(
    name: "PrismFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(path: "..")],
    targets: [
        .target(name: "FuzzSupport", dependencies: [.product(name: "WireProtocol", package: prism)]),
        fuzzTarget("json-parser", ["JSON"]),
        fuzzTarget("write-request", ["WriteNodeHost", "WireProtocol"]),
        fuzzTarget("query-request", ["ProjectionRuntime", "WireProtocol"]),
        fuzzTarget("event-frames", ["WireProtocol"]),
        fuzzTarget("catch-up-reply", ["WireProtocol"]),
        fuzzTarget("log-format", ["EventStore"]),
    ]
)
