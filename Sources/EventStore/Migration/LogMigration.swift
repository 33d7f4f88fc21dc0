import Foundation

/// `prism store migrate`: converts a data directory holding the old SQLite store
/// (`events.sqlite`) into the segmented log, proves the copy, and swaps it in.
///
/// The steps, each safe to interrupt:
/// 1. Take the directory's write-node lock (a running node refuses the migration, and no node
///    starts during it).
/// 2. Copy every event, in position order, into a fresh log in `<directory>/.migrating` with
///    `EventStore.appendRecorded` (ids, positions, versions and times kept), then reopen it once
///    so its index is complete.
/// 3. Prove it: read both back and compare count, positions 1…head and an `EventDigest`; run
///    `StoreVerifier` on the new log. Then write `.migrating/verified` (synced): from here on the
///    conversion is never redone, only the swap finished.
/// 4. Move the new files into the directory, then rename `events.sqlite` to
///    `events.sqlite.migrated` (its `-wal`/`-shm` with it). That rename is the commit point:
///    before it a write node still refuses the directory, after it the node opens the log.
///
/// Interrupted before step 3 ends, a re-run deletes `.migrating` and starts over; after it, a re-run
/// finishes the swap (and proves the moved log against the old store again).
public enum LogMigration {
    /// The staging directory inside the data directory.
    public static let stagingName = ".migrating"
    /// Written into the staging directory once its log is proven.
    static let verifiedMarker = "verified"
    /// What `events.sqlite` is renamed to.
    public static let migratedSuffix = ".migrated"

    public struct Report: Sendable {
        /// The old store's events, as read back from it.
        public var source = EventDigest()
        /// The new log's events, as read back from its segments.
        public var log = EventDigest()
        /// What `StoreVerifier` found in the new log.
        public var verification = StoreVerifier.Report()
        /// Where the old store now is.
        public var migratedPath = ""
        /// Whether this run finished a swap an interrupted run had proven.
        public var resumed = false
    }

    /// Most events `migrate` reads from the old store at a time.
    public static let defaultBatchEvents = 10_000

    /// Converts the old store in `directory` into the log, in place.
    /// - Parameters:
    ///   - options: for the new log (segment size); the index batch size also bounds a group.
    ///   - batchEvents: events read from the old store at a time (1...100,000).
    ///   - progress: called after each batch with the last position copied and the old head.
    /// - Returns: both digests and the verification of the new log.
    /// - Throws: `.locked` when a write node holds the directory; `.invalidArgument` when there
    ///   is no old store, or the directory already holds a log; `.damaged` when the old store is
    ///   not gap-free or the proof fails (the directory is then left as it was, with the new log
    ///   in `.migrating` to look at); `.io` for the file system.
    public static func migrate(
        directory: String, options: EventStore.Options = EventStore.Options(),
        batchEvents: Int = defaultBatchEvents, progress: ((_ copied: Int64, _ head: Int64) -> Void)? = nil
    ) throws -> Report {
        let fileSystem = options.fileSystem
        let legacyPath = LegacyStoreSchema.databasePath(in: directory)
        guard fileSystem.exists(directory) else {
            throw EventStoreError(.invalidArgument, "\(directory) does not exist")
        }
        let lock = try StoreLock(directory: directory)
        defer { lock.release() }
        let staging = directory + "/" + stagingName
        let marker = staging + "/" + verifiedMarker
        // The staging log's own lock file stays behind when its files move.
        let lockName = (lock.path as NSString).lastPathComponent

        guard fileSystem.exists(legacyPath) else {
            let migrated = legacyPath + migratedSuffix
            if fileSystem.exists(migrated) {
                // Interrupted between the commit point and the cleanup: finish it.
                try finishRenames(legacyPath: legacyPath, fileSystem: fileSystem)
                try removeStaging(staging, directory: directory, fileSystem: fileSystem)
                throw EventStoreError(.invalidArgument, "\(directory) is already migrated: the old store is \(migrated) and the events are in the log")
            }
            throw EventStoreError(.invalidArgument, "\(directory) holds no old-format store (\(legacyPath) does not exist)")
        }

        var report = Report()
        report.migratedPath = legacyPath + migratedSuffix
        if fileSystem.exists(marker) {
            report.resumed = true
            try moveStagedFiles(from: staging, to: directory, skipping: lockName, fileSystem: fileSystem)
            try prove(legacyDirectory: directory, logDirectory: directory, report: &report)
        } else {
            let existing = try logFiles(in: directory, fileSystem: fileSystem)
            guard existing.isEmpty else {
                throw EventStoreError(.invalidArgument, "\(directory) holds both the old store (\(legacyPath)) and log files (\(existing.prefix(3).joined(separator: ", "))); refusing to overwrite them. Move the log files away to migrate again")
            }
            if fileSystem.exists(staging) {
                // A conversion that was interrupted before it was proven: start over.
                try removeStaging(staging, directory: directory, fileSystem: fileSystem)
            }
            try convert(directory: directory, into: staging, options: options, batchEvents: batchEvents, progress: progress)
            try prove(legacyDirectory: directory, logDirectory: staging, report: &report)
            let proof = "events \(report.log.count) head \(report.log.head) \(report.log)\n"
            let file = try fileSystem.open(marker, create: true)
            defer { file.close() }
            try file.write(Array(proof.utf8), at: 0)
            try file.sync()
            try fileSystem.syncDirectory(staging)
            try moveStagedFiles(from: staging, to: directory, skipping: lockName, fileSystem: fileSystem)
        }

        // The commit point: without `events.sqlite` a write node opens the log.
        try fileSystem.rename(legacyPath, report.migratedPath)
        try fileSystem.syncDirectory(directory)
        try finishRenames(legacyPath: legacyPath, fileSystem: fileSystem)
        try removeStaging(staging, directory: directory, fileSystem: fileSystem)
        return report
    }

    // MARK: - Steps

    /// Copies the old store into a fresh log in `staging`, then reopens it so the index is complete.
    private static func convert(
        directory: String, into staging: String, options: EventStore.Options,
        batchEvents: Int, progress: ((Int64, Int64) -> Void)?
    ) throws {
        let legacy = try LegacyEventLog(directory: directory)
        defer { try? legacy.close() }
        let head = try legacy.headPosition()
        let store = try EventStore(directory: staging, options: options)
        defer { try? store.close() }
        // A group should fit a segment, or the writer grows the file past its capacity.
        let groupBytes = max(64 << 10, options.segmentBytes / 4)
        var after: Int64 = 0
        while true {
            let page = try legacy.read(after: after, limit: batchEvents)
            guard !page.isEmpty else { break }
            var group: [RecordedEvent] = []
            var bytes = 0
            for event in page {
                guard event.position == after + 1 else {
                    throw EventStoreError(.damaged, "\(legacy.databasePath) is not gap-free: position \(event.position) follows \(after); nothing was migrated")
                }
                after = event.position
                let size = LogFormat.recordHeaderLength + event.stream.utf8.count + event.type.utf8.count + event.data.count + (event.metadata?.count ?? 0)
                if !group.isEmpty, bytes + size > groupBytes {
                    try store.appendRecorded(group)
                    group.removeAll(keepingCapacity: true)
                    bytes = 0
                }
                group.append(event)
                bytes += size
            }
            try store.appendRecorded(group)
            progress?(after, head)
        }
        try store.close()
        // Opening brings the index up to the log before it returns; the indexer of the store
        // that wrote may have stopped a transaction short.
        try EventStore(directory: staging, options: options).close()
    }

    /// Reads both sides back and compares them; throws `.damaged` when they differ or the log
    /// does not verify.
    private static func prove(legacyDirectory: String, logDirectory: String, report: inout Report) throws {
        let legacy = try LegacyEventLog(directory: legacyDirectory)
        defer { try? legacy.close() }
        var after: Int64 = 0
        while true {
            let page = try legacy.read(after: after, limit: defaultBatchEvents)
            guard let last = page.last else { break }
            for event in page { report.source.add(event) }
            after = last.position
        }
        try LogReader(directory: logDirectory).forEach { event in
            report.log.add(event)
            return true
        }
        report.verification = try StoreVerifier.verify(directory: logDirectory)
        var problems: [String] = []
        if let hole = report.source.firstHole {
            problems.append("the old store has position \(hole.found) where \(hole.expected) belongs")
        }
        if let hole = report.log.firstHole {
            problems.append("the log has position \(hole.found) where \(hole.expected) belongs")
        }
        if report.source.count != report.log.count || report.source.head != report.log.head {
            problems.append("the old store has \(report.source.count) events up to position \(report.source.head), the log \(report.log.count) up to \(report.log.head)")
        }
        if report.source.value != report.log.value {
            problems.append("digests differ: old store \(report.source), log \(report.log)")
        }
        problems += report.verification.problems.map { "verify: " + $0 }
        guard problems.isEmpty else {
            throw EventStoreError(.damaged, "the migrated log in \(logDirectory) does not match \(legacy.databasePath): \(problems.prefix(5).joined(separator: "; "))")
        }
    }

    /// Renames every file of the staging directory into the data directory (skipping what has
    /// been moved already), then syncs the data directory.
    private static func moveStagedFiles(from staging: String, to directory: String, skipping lockName: String, fileSystem: any LogFileSystem) throws {
        for name in try fileSystem.list(staging) where name != verifiedMarker && name != lockName {
            try fileSystem.rename(staging + "/" + name, directory + "/" + name)
        }
        try fileSystem.syncDirectory(directory)
    }

    /// `events.sqlite-wal` and `-shm` follow the database to its new name, so SQLite finds them there.
    private static func finishRenames(legacyPath: String, fileSystem: any LogFileSystem) throws {
        for suffix in ["-wal", "-shm"] where fileSystem.exists(legacyPath + suffix) {
            try fileSystem.rename(legacyPath + suffix, legacyPath + migratedSuffix + suffix)
        }
    }

    private static func removeStaging(_ staging: String, directory: String, fileSystem: any LogFileSystem) throws {
        guard fileSystem.exists(staging) else { return }
        do {
            try FileManager.default.removeItem(atPath: staging)
        } catch {
            throw EventStoreError(.io, "cannot remove \(staging): \(error.localizedDescription)")
        }
        try fileSystem.syncDirectory(directory)
    }

    /// Names in `directory` that belong to a log: segments (named or being prepared) and the index.
    private static func logFiles(in directory: String, fileSystem: any LogFileSystem) throws -> [String] {
        try fileSystem.list(directory).filter {
            LogSegment.firstPosition(fromName: $0) != nil || $0.hasSuffix(LogSegment.preparingSuffix)
                || $0.hasPrefix(LogIndex.fileName)
        }.sorted()
    }
}
