import ArgumentParser
import CommandLineSupport
import OrdersReadModels

/// `history-projector`: keeps the history read model up to date and answers its queries.
@main
struct HistoryProjectorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history-projector",
        abstract: "Orders per user per month (SQLite).")

    @OptionGroup var options: ProjectorOptions

    func run() throws {
        try options.run(name: "history", defaultQueryEndpoint: "tcp://127.0.0.1:5563") { directory in
            try HistoryProjection(directory: directory)
        }
    }
}
