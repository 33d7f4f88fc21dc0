import ArgumentParser

extension Prism {
    /// `prism keys generate NAME` and `prism keys show FILE`: CURVE key files (docs/SECURITY.md).
    struct Keys: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make and inspect CURVE key files.", subcommands: [KeysGenerate.self, KeysShow.self])
    }
}
