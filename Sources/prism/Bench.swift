import ArgumentParser

extension Prism {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure the system.", subcommands: [BenchAppend.self, BenchQuery.self])
    }
}
