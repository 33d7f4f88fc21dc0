import ArgumentParser
import EventStore
import WireProtocol

extension PrismStore {
    /// `prism store verify DIR`: every checksum, positions 1…head, each stream's versions 0…n, and
    /// the index against the log. Exit status 0 when sound, 1 when not.
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a data directory's log and index (safe beside a running write node).")

        @Argument(help: "The write node's data directory.")
        var directory: String

        @Flag(help: "Print the report as one JSON object.")
        var json = false

        func run() throws {
            let report = try StoreVerifier.verify(directory: directory)
            print(json ? Self.json(report, directory: directory) : Self.text(report, directory: directory))
            if !report.isSound { throw ExitCode.failure }
        }

        static func text(_ report: StoreVerifier.Report, directory: String) -> String {
            var lines = [
                "\(directory): \(report.isSound ? "sound" : "\(report.problems.count) problem\(report.problems.count == 1 ? "" : "s")")",
                "  segments  \(report.segments)",
                "  events    \(report.events)",
                "  streams   \(report.streams)",
                "  head      \(report.head)",
                "  indexed   \(report.indexedPosition)",
            ]
            if let torn = report.tornTail { lines.append("  torn tail \(torn)") }
            lines += report.problems.map { "  problem: \($0)" }
            return lines.joined(separator: "\n")
        }

        static func json(_ report: StoreVerifier.Report, directory: String) -> String {
            var object: [String: JSONValue] = [
                "directory": .string(directory), "sound": .bool(report.isSound),
                "segments": .int(Int64(report.segments)), "events": .int(report.events),
                "streams": .int(Int64(report.streams)), "head": .int(report.head),
                "indexedPosition": .int(report.indexedPosition),
                "problems": .array(report.problems.map { .string($0) }),
            ]
            if let torn = report.tornTail { object["tornTail"] = .string(torn) }
            return JSONValue.object(object).jsonString
        }
    }
}
