import ArgumentParser
import EventStore

extension PrismStore {
    /// `prism store backup DIR DEST`: a consistent, verified copy, beside a running write node.
    struct Backup: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a data directory's index and log into DEST (safe beside a running write node), then verify the copy.")

        @Argument(help: "The write node's data directory.")
        var directory: String

        @Argument(help: "Where the copy goes; must not exist or be empty.")
        var destination: String

        func run() throws {
            let report = try StoreBackup.backup(directory: directory, to: destination)
            let index = report.indexCopied ? "index and " : "no index (a write node rebuilds it), "
            print("copied \(index)\(report.segments) segment\(report.segments == 1 ? "" : "s") (\(report.bytes) bytes of log) to \(destination)")
            print(Verify.text(report.verification, directory: destination))
            guard report.verification.isSound else {
                throw StoreToolError("the copy in \(destination) does not verify")
            }
        }
    }
}
