import ArgumentParser
import CommandLineSupport
import OrdersReadModels

/// `history-projector`: keeps the history read model up to date and answers its queries.
@main
struct HistoryProjectorCommand: ParsableCommand {
    static let configuration = OrdersProjectors.history.commandConfiguration

    @OptionGroup var options: ProjectorOptions

    func run() throws { try options.run(OrdersProjectors.history) }
}
