import ArgumentParser
import CommandLineSupport
import OrdersReadModels

/// `status-projector`: keeps the status read model up to date and answers its queries.
@main
struct StatusProjectorCommand: ParsableCommand {
    static let configuration = OrdersProjectors.status.commandConfiguration

    @OptionGroup var options: ProjectorOptions

    // Small values let a test reach a snapshot with a few hundred events.
    @Option(help: "Events applied between snapshots of the in-memory model (--store embedded only).")
    var snapshotEvery = 50_000

    func run() throws {
        var definition = OrdersProjectors.status
        definition.stores[.embedded] = { [snapshotEvery] in try StatusProjection(directory: $1, snapshotEvery: snapshotEvery) }
        try options.run(definition)
    }
}
