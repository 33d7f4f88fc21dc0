import ArgumentParser

/// `prism`: the command-line client of a Prism system.
@main
struct Prism: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send commands to a Prism write node, read and follow its events, run benchmarks.",
        subcommands: [Send.self, Append.self, Read.self, Tail.self, Query.self, Status.self, Dashboard.self, Bench.self, Load.self, Store.self, Keys.self])
}
