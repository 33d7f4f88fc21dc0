// swift-tools-version: 6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Prism",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "ZeroMQ", targets: ["ZeroMQ"]),
        .library(name: "JSON", targets: ["JSON"]),
        .library(name: "EventModel", targets: ["EventModel"]),
        .library(name: "EventStore", targets: ["EventStore"]),
        .library(name: "WireProtocol", targets: ["WireProtocol"]),
        .library(name: "Security", targets: ["Security"]),
        .library(name: "SecurityOptions", targets: ["SecurityOptions"]),
        .library(name: "Subscription", targets: ["Subscription"]),
        .library(name: "WriteNodeHost", targets: ["WriteNodeHost"]),
        .library(name: "OrdersDomain", targets: ["OrdersDomain"]),
        .library(name: "ProjectionRuntime", targets: ["ProjectionRuntime"]),
        .library(name: "PostgresStore", targets: ["PostgresStore"]),
        .library(name: "RedisStore", targets: ["RedisStore"]),
        .library(name: "OrdersReadModels", targets: ["OrdersReadModels"]),
        .library(name: "HTTPEndpoint", targets: ["HTTPEndpoint"]),
        .library(name: "MetricsSupport", targets: ["MetricsSupport"]),
        .library(name: "Telemetry", targets: ["Telemetry"]),
        .library(name: "OutboxRelay", targets: ["OutboxRelay"]),
        .executable(name: "write-node", targets: ["write-node"]),
        .executable(name: "orders-projector", targets: ["orders-projector"]),
        .executable(name: "search-projector", targets: ["search-projector"]),
        .executable(name: "status-projector", targets: ["status-projector"]),
        .executable(name: "history-projector", targets: ["history-projector"]),
        .executable(name: "prism", targets: ["prism"]),
        .executable(name: "prism-store", targets: ["prism-store"]),
        .executable(name: "outbox-relay", targets: ["outbox-relay"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // MARK: - Libraries
        .systemLibrary(
            name: "CZeroMQ",
            pkgConfig: "libzmq",
            providers: [.apt(["libzmq3-dev"])]
        ),
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"], swiftSettings: swiftSettings),
        // libsodium (libzmq's own crypto, installed with libzmq3-dev): SHA-256 key fingerprints.
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        // CURVE key files, the authorized keys, the ZAP handler and the per-request role checks.
        .target(
            name: "Security",
            dependencies: [
                "ZeroMQ", "CSodium", "WireProtocol", "MetricsSupport",
                .product(name: "Logging", package: "swift-log"), .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // JSON values, the parser and the one byte writer: no dependencies.
        .target(name: "JSON", swiftSettings: swiftSettings),
        // Latency histograms in the one shape `stats` reports them: JSON and HDR histograms only.
        .target(
            name: "Latency",
            dependencies: ["JSON", .product(name: "Histogram", package: "hdrhistogram-swift")],
            swiftSettings: swiftSettings
        ),
        // The event vocabulary and the decider contract: only JSON beneath it, so a domain or a
        // client links neither SQLite nor ZeroMQ.
        .target(name: "EventModel", dependencies: ["JSON"], swiftSettings: swiftSettings),
        .target(
            name: "EventStore",
            dependencies: [
                "EventModel",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "WireProtocol", dependencies: ["EventModel"], swiftSettings: swiftSettings),
        .target(
            name: "Subscription",
            dependencies: ["ZeroMQ", "WireProtocol", "EventModel", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WriteNodeHost",
            dependencies: [
                "ZeroMQ", "EventStore", "WireProtocol", "Latency", "Security", "MetricsSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // Depends on WireProtocol only for the JSON parser and writer and `FieldReader`; that
        // links no ZeroMQ and no SQLite.
        .target(name: "OrdersDomain", dependencies: ["EventModel", "WireProtocol"], swiftSettings: swiftSettings),
        .target(
            name: "ProjectionRuntime",
            dependencies: [
                "ZeroMQ", "WireProtocol", "EventStore", "Subscription", "Latency", "Security", "MetricsSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // Read models in a PostgreSQL server: the connection, the namespace schema and its checkpoint.
        .target(
            name: "PostgresStore",
            dependencies: [
                "ProjectionRuntime", "WireProtocol", "EventStore", "JSON",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // hiredis (RESP2, synchronous): the Redis read models' client.
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        // A read model's keys in a Redis server: the URL, a small client over hiredis, the namespace,
        // the checkpoint inside each batch's MULTI/EXEC.
        .target(
            name: "RedisStore",
            dependencies: ["CHiredis", "ProjectionRuntime", "WireProtocol", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "OrdersReadModels",
            dependencies: [
                "ProjectionRuntime", "PostgresStore", "RedisStore", "WireProtocol", "EventStore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // An application's PostgreSQL changes (a transactional outbox, or CDC) appended to the write
        // node with exact expected versions; PostgresSession is its PostgreSQL client.
        .target(
            name: "OutboxRelay",
            dependencies: [
                "ZeroMQ", "WireProtocol", "JSON", "EventModel", "PostgresStore", "ProjectionRuntime", "Latency", "Security",
                "OrdersDomain", "CSodium", "MetricsSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),

        // The metrics scrape and the dashboard: GET routes and server-sent events over NIO's HTTP/1.1.
        .target(
            name: "HTTPEndpoint",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Metrics the libraries keep through swift-metrics alone (no backend): counters that follow
        // a total counted elsewhere, a gauge per state.
        .target(
            name: "MetricsSupport",
            dependencies: [.product(name: "CoreMetrics", package: "swift-metrics")],
            swiftSettings: swiftSettings
        ),
        // The Prometheus side, linked by the executables: `--metrics-endpoint`, the swift-metrics
        // backend over swift-prometheus and the `/metrics` route.
        .target(
            name: "Telemetry",
            dependencies: [
                "HTTPEndpoint",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // `--keys` and `--identity`, apart from CommandLineSupport so `prism` takes them without linking SQLite.
        .target(
            name: "SecurityOptions",
            dependencies: ["Security", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CommandLineSupport",
            dependencies: [
                "ProjectionRuntime", "WireProtocol", "JSON", "Security", "SecurityOptions", "Telemetry", "HTTPEndpoint",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: - Executables
        .executableTarget(
            name: "write-node",
            dependencies: [
                "WriteNodeHost", "WireProtocol", "OrdersDomain", "CommandLineSupport", "Security", "SecurityOptions", "Telemetry", "HTTPEndpoint",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "orders-projector",
            dependencies: ["OrdersReadModels", "CommandLineSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "search-projector",
            dependencies: ["OrdersReadModels", "CommandLineSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "status-projector",
            dependencies: ["OrdersReadModels", "CommandLineSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "history-projector",
            dependencies: ["OrdersReadModels", "CommandLineSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "prism",
            dependencies: [
                "ZeroMQ", "EventModel", "WireProtocol", "Subscription", "Security", "SecurityOptions", "HTTPEndpoint",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "outbox-relay",
            dependencies: [
                "OutboxRelay", "CommandLineSupport", "SecurityOptions", "PostgresStore", "WireProtocol", "Telemetry", "HTTPEndpoint",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The store tools, run as `prism store …`: apart from `prism` because they link SQLite.
        .executableTarget(
            name: "prism-store",
            dependencies: [
                "EventStore", "WireProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: - Tests
        .target(
            name: "TestSupport",
            dependencies: [
                "ZeroMQ", "WireProtocol", "EventStore", "WriteNodeHost",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        // A projection that fails on purpose, and a projector executable running it, for the
        // apply-error tests (IntegrationTests start the executable).
        .target(
            name: "FaultyProjection",
            dependencies: ["ProjectionRuntime", "WireProtocol", .product(name: "GRDB", package: "GRDB.swift")],
            path: "Tests/FaultyProjection",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "faulty-projector",
            dependencies: ["FaultyProjection", "ProjectionRuntime", "CommandLineSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tests/faulty-projector",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "EventStoreTests",
            dependencies: ["EventStore", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "HTTPEndpointTests", dependencies: ["HTTPEndpoint"], swiftSettings: swiftSettings),
        .testTarget(
            name: "TelemetryTests",
            dependencies: [
                "Telemetry", "HTTPEndpoint", "MetricsSupport", "WriteNodeHost", "ProjectionRuntime", "OutboxRelay",
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "JSONTests", dependencies: ["JSON", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "SecurityTests",
            dependencies: ["Security", "WriteNodeHost", "ZeroMQ", "WireProtocol", "TestSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "WireProtocolTests", dependencies: ["WireProtocol", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "SubscriptionTests", dependencies: ["Subscription", "TestSupport", "ZeroMQ", "WireProtocol", "EventStore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "WriteNodeHostTests",
            dependencies: ["WriteNodeHost", "EventStore", "WireProtocol", "ZeroMQ", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "OrdersDomainTests", dependencies: ["OrdersDomain", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ProjectionRuntimeTests",
            dependencies: ["ProjectionRuntime", "Latency", "TestSupport", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "RedisStoreTests", dependencies: ["RedisStore", "ProjectionRuntime", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "OrdersReadModelsTests", dependencies: ["OrdersReadModels", "OrdersDomain", "RedisStore", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "PostgresStoreTests",
            dependencies: ["PostgresStore", "ProjectionRuntime", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "OutboxRelayTests",
            dependencies: [
                "OutboxRelay", "OrdersDomain", "PostgresStore", "WireProtocol", "ZeroMQ", "Security", "TestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["ZeroMQ", "WireProtocol", "EventStore", "Subscription", "Security", "TestSupport"],
            swiftSettings: swiftSettings
        ),
    ]
)
