import ArgumentParser

/// `prism-store`: the operator's tools for a write node's data directory. Run as `prism store …`
/// (the `prism` client links no SQLite, so it hands these commands to this executable).
@main
struct PrismStore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prism store",
        abstract: "Verify, dump, back up, migrate and fill a write node's event store.",
        subcommands: [Verify.self, Dump.self, Backup.self, Migrate.self, Fill.self])
}

/// A failure the tools report on stderr with exit status 1.
struct StoreToolError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
