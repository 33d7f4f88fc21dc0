import Foundation
import Logging
import ProjectionRuntime
import TestSupport

/// A `Projector` serving on a thread of this process until `stop`.
final class RunningProjector {
    let projector: Projector
    private let finished = DispatchSemaphore(value: 0)

    init(configuration: ProjectorConfiguration,
         makeProjection: @escaping @Sendable (_ directory: String) throws -> any Projection) throws {
        projector = try Projector(
            configuration: configuration, makeProjection: makeProjection, logger: Logger(label: "test.\(configuration.name)"))
        Thread { [projector, finished] in
            try? projector.run()
            finished.signal()
        }.start()
    }

    var queryEndpoint: String { projector.boundQueryEndpoint }

    /// Shuts the projector down and waits (bounded) for its thread.
    func stop() {
        projector.shutdown()
        _ = finished.wait(timeout: .now() + 10)
    }
}

/// Runs `body` with a write node (a process, in a temporary directory) and a projector on a thread
/// of this process that it feeds; both are stopped after.
func withProjectorFedByAWriteNode(
    name: String, adjust: (inout ProjectorConfiguration) -> Void = { _ in },
    makeProjection: @escaping @Sendable (_ directory: String) throws -> any Projection,
    _ body: (WriteNodeProcess, RunningProjector) throws -> Void
) throws {
    try withTemporaryDirectory { path in
        let directory = URL(fileURLWithPath: path)
        let writeNode = WriteNodeProcess(workDirectory: directory)
        try writeNode.start()
        defer { _ = writeNode.stop() }
        var configuration = ProjectorConfiguration(
            name: name, queryEndpoint: "tcp://127.0.0.1:*", dataDirectory: directory.appendingPathComponent(name).path)
        configuration.publishEndpoint = writeNode.publishEndpoint
        configuration.catchUpEndpoint = writeNode.catchUpEndpoint
        adjust(&configuration)
        let projector = try RunningProjector(configuration: configuration, makeProjection: makeProjection)
        defer { projector.stop() }
        try body(writeNode, projector)
    }
}
