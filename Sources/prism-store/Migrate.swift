import ArgumentParser
import EventStore
import Foundation

extension PrismStore {
    /// `prism store migrate DIR`: the old SQLite store (`events.sqlite`) into the segmented log, proven.
    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert a data directory holding the old SQLite store (events.sqlite) into the log, and prove the copy.",
            discussion: """
                The write node must be stopped. The log is built in DIR/.migrating, compared with the \
                old store (count, positions 1…head, digest) and verified, then moved into DIR; \
                events.sqlite is renamed events.sqlite.migrated. Interrupted, run it again.
                """)

        @Argument(help: "The write node's data directory.")
        var directory: String

        @Option(help: "Size of a new log segment file, in bytes (as the write node's --segment-bytes).")
        var segmentBytes = 256 << 20

        @Option(help: "Events read from the old store at a time (1...100000).")
        var batchEvents = LogMigration.defaultBatchEvents

        func validate() throws {
            guard segmentBytes >= 64 << 10 else { throw ValidationError("--segment-bytes must be at least 65536, got \(segmentBytes)") }
            guard (1...100_000).contains(batchEvents) else { throw ValidationError("--batch-events must be in 1...100000, got \(batchEvents)") }
        }

        func run() throws {
            var options = EventStore.Options()
            options.segmentBytes = segmentBytes
            var reported: Int64 = 0
            let report = try LogMigration.migrate(directory: directory, options: options, batchEvents: batchEvents) { copied, head in
                // Progress on stderr for large stores, about every 10 %.
                guard head >= 100_000, copied - reported >= head / 10 || copied == head else { return }
                reported = copied
                FileHandle.standardError.write(Data("copied \(copied) of \(head) events\n".utf8))
            }
            if report.resumed { print("resumed an interrupted migration whose log was already proven") }
            print("old store  \(report.source.count) events, positions 1…\(report.source.head), digest \(report.source)")
            print("new log    \(report.log.count) events, positions 1…\(report.log.head), digest \(report.log)")
            print("verify     \(report.verification.isSound ? "sound" : "problems"): \(report.verification.segments) segment\(report.verification.segments == 1 ? "" : "s"), \(report.verification.streams) streams, indexed to \(report.verification.indexedPosition)")
            print("migrated: the old store is now \(report.migratedPath); a write node started on \(directory) serves the log")
        }
    }
}
