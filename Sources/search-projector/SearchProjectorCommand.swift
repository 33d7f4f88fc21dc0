import ArgumentParser
import CommandLineSupport
import OrdersReadModels

/// `search-projector`: keeps the search read model up to date and answers its queries.
@main
struct SearchProjectorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search-projector",
        abstract: "Full-text search over order descriptions (SQLite FTS5).")

    @OptionGroup var options: ProjectorOptions

    func run() throws {
        try options.run(name: "search", defaultQueryEndpoint: "tcp://127.0.0.1:5561") { directory in
            try SearchProjection(directory: directory)
        }
    }
}
