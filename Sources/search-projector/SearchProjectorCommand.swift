import ArgumentParser
import CommandLineSupport
import OrdersReadModels

/// `search-projector`: keeps the search read model up to date and answers its queries.
@main
struct SearchProjectorCommand: ParsableCommand {
    static let configuration = OrdersProjectors.search.commandConfiguration

    @OptionGroup var options: ProjectorOptions

    func run() throws { try options.run(OrdersProjectors.search) }
}
