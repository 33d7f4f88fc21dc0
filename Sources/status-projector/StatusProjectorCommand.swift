import ArgumentParser
import CommandLineSupport
import OrdersReadModels

/// `status-projector`: keeps the status read model up to date and answers its queries.
@main
struct StatusProjectorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status-projector",
        abstract: "Order status and a user's orders (in memory, with a snapshot).")

    @OptionGroup var options: ProjectorOptions

    // Small values let a test reach a snapshot with a few hundred events.
    @Option(help: "Events applied between snapshots of the in-memory model.")
    var snapshotEvery = 50_000

    func run() throws {
        try options.run(name: "status", defaultQueryEndpoint: "tcp://127.0.0.1:5562") { directory in
            try StatusProjection(directory: directory, snapshotEvery: snapshotEvery)
        }
    }
}
