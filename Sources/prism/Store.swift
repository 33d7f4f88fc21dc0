#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation

extension Prism {
    /// `prism store verify|dump|backup|migrate …`: runs the `prism-store` executable installed
    /// beside `prism`.
    ///
    /// The store tools read the log and its SQLite index; `prism` itself links no SQLite (it is the
    /// client anyone may copy to another machine), so the tools live in their own executable and
    /// this command only replaces the process with it.
    struct Store: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify, dump, back up and migrate a write node's event store (runs prism-store).",
            discussion: "Subcommands: verify DIR, dump DIR [--from N --limit K], backup DIR DEST, migrate DIR. See prism store --help.")

        @Argument(parsing: .captureForPassthrough, help: "The prism-store subcommand and its arguments.")
        var arguments: [String] = []

        func run() throws {
            let tool = try Self.toolPath()
            let argv = ["prism store"] + arguments
            // execv only returns on failure; on success prism-store's exit status is ours.
            let cStrings = argv.map { strdup($0) } + [nil]
            defer { cStrings.forEach { free($0) } }
            execv(tool, cStrings)
            throw CLIError("cannot run \(tool): \(String(cString: strerror(errno)))")
        }

        /// `prism-store` in the directory of this executable (`/proc/self/exe`, so a symlink to
        /// `prism` elsewhere still finds it).
        static func toolPath() throws -> String {
            let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? CommandLine.arguments[0]
            let directory = (executable as NSString).deletingLastPathComponent
            let tool = (directory as NSString).appendingPathComponent("prism-store")
            guard access(tool, X_OK) == 0 else {
                throw CLIError("prism store needs the prism-store executable next to prism, but \(tool) \(access(tool, F_OK) == 0 ? "is not executable" : "does not exist") (swift build builds both)")
            }
            return tool
        }
    }
}
