import ArgumentParser
import CommandLineSupport
import OrdersReadModels

/// `status-projector`: keeps the status read model up to date and answers its queries.
@main
struct StatusProjectorCommand: ParsableCommand {
    static let configuration = OrdersProjectors.status.commandConfiguration

    @OptionGroup var options: ProjectorOptions

    func run() throws { try options.run(OrdersProjectors.status) }
}
