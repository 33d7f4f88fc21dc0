import ArgumentParser
import CommandLineSupport
import OrdersReadModels

/// `orders-projector`: keeps the orders read model up to date and answers its queries.
@main
struct OrdersProjectorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orders-projector",
        abstract: "Relational orders joined with the user's state (SQLite).")

    @OptionGroup var options: ProjectorOptions

    func run() throws {
        try options.run(name: "orders", defaultQueryEndpoint: "tcp://127.0.0.1:5560") { directory in
            try OrdersProjection(directory: directory)
        }
    }
}
