import ArgumentParser
import CommandLineSupport
import OrdersReadModels

/// `orders-projector`: keeps the orders read model up to date and answers its queries.
@main
struct OrdersProjectorCommand: ParsableCommand {
    static let configuration = OrdersProjectors.orders.commandConfiguration

    @OptionGroup var options: ProjectorOptions

    func run() throws { try options.run(OrdersProjectors.orders) }
}
