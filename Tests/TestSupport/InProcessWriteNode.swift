import EventModel
import Foundation
import Logging
import WireProtocol
import WriteNodeHost

/// A write node in this process, on ports of its own and a data directory the caller owns: the
/// tests of the modules beneath the executables (the catch-up server, the publisher, the feed)
/// run against the real thing without starting a child process.
public final class InProcessWriteNode: @unchecked Sendable {
    public let commandEndpoint: String
    public let publishEndpoint: String
    public let catchUpEndpoint: String
    private let node: WriteNode<NoCommands>
    private let finished = DispatchSemaphore(value: 0)
    private let client: WriteNodeClient
    private var stopped = false

    /// Starts serving at once.
    ///
    /// - Parameters:
    ///   - endpoints: `tcp://127.0.0.1:*` each by default (ports chosen by the system); pass the
    ///     endpoints of a stopped node to restart it in their place.
    ///   - configure: changes to the configuration (heartbeat period, limits) before the start.
    public init(
        dataDirectory: String,
        endpoints: (command: String, publish: String, catchUp: String) = ("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", "tcp://127.0.0.1:*"),
        configure: (inout WriteNodeConfiguration) -> Void = { _ in }
    ) throws {
        var configuration = WriteNodeConfiguration(dataDirectory: dataDirectory)
        (configuration.commandEndpoint, configuration.publishEndpoint, configuration.catchUpEndpoint) = endpoints
        configuration.heartbeatIntervalMs = 100
        // Small segments: no 256 MiB file zero-filled per test.
        configuration.store.segmentBytes = 1 << 20
        configure(&configuration)
        node = try WriteNode(configuration: configuration, domain: NoCommands(), logger: Logger(label: "test.write-node"))
        (commandEndpoint, publishEndpoint, catchUpEndpoint) = node.boundEndpoints
        client = try WriteNodeClient(endpoint: commandEndpoint)
        Thread { [node, finished] in
            node.run()
            finished.signal()
        }.start()
    }

    deinit { stop() }

    public var endpoints: (command: String, publish: String, catchUp: String) { (commandEndpoint, publishEndpoint, catchUpEndpoint) }

    /// Appends `count` events of `type` to `stream` in one request; see `WriteNodeClient.append`.
    @discardableResult
    public func append(stream: String, count: Int = 1, type: String = "Probe") throws -> [(id: UUID, position: Int64)] {
        try client.append(stream: stream, count: count, type: type)
    }

    /// Shuts the node down and waits (bounded) until it has closed its sockets and the store. Idempotent.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        node.shutdown()
        _ = finished.wait(timeout: .now() + 10)
    }
}

/// A domain without commands: the in-process node serves generic appends and reads only.
public struct NoCommands: Domain {
    public init() {}

    public func decide(_ command: Command, stream: (String) throws -> StreamState<Int>) throws -> [Decision<Int>] {
        throw DecisionError(.unknownCommand, "unknown command '\(command.name)' (this node takes generic appends only)")
    }

    public func evolve(_ state: Int?, _ event: Int) -> Int? { state }

    public func decode(_ recorded: RecordedEvent) -> Int? { nil }
}
