import Foundation
import Logging
import ProjectionRuntime

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
