import ArgumentParser
import CommandLineSupport
import FaultyProjection
import ProjectionRuntime

/// `faulty-projector`: a projector whose projection throws on one event type, for the apply-error tests.
@main
struct FaultyProjectorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "faulty-projector", abstract: "A projector that fails on purpose (tests).")

    @OptionGroup var options: ProjectorOptions

    @Option(help: "The event type the projection throws on ('none': the fixed build).")
    var failOnType = "Poison"

    @Option(help: "How many of the first batches fail as a full disk would.")
    var storeFailures = 0

    func run() throws {
        let failOnType = failOnType == "none" ? nil : failOnType
        let storeFailures = storeFailures
        try options.run(ProjectorDefinition(name: "faulty", summary: Self.configuration.abstract, queryPort: 5599, stores: [.embedded: { _, directory in
            try FaultyProjection(directory: directory, failOnType: failOnType, storeFailures: storeFailures)
        }]))
    }
}
