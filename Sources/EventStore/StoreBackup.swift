#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GRDB

/// `prism store backup`: a consistent copy of a data directory, taken while a write node may be
/// appending to it, then verified.
///
/// The index is copied first, with SQLite's online backup (one read transaction, so a single
/// consistent snapshot even while the indexer commits), and the segments after it: sealed ones
/// whole, the active one up to the end of its last whole valid group as seen when the copy
/// starts. Index first because the index only ever holds durable events, so a log copied after
/// it is at least as long as the index says, and the copy opens without "the index reaches
/// beyond the log". (Log first, the indexer could index groups written after the log was copied.)
/// Groups written after the copy started are not in it; the copy is the store as of that moment.
public enum StoreBackup {
    public struct Report: Sendable {
        /// Segment files copied.
        public var segments = 0
        /// Bytes of segment data copied.
        public var bytes: Int64 = 0
        /// Whether the source had an index to copy (without one, a write node rebuilds it).
        public var indexCopied = false
        /// The verification of the copy.
        public var verification = StoreVerifier.Report()
    }

    /// Copies the store in `directory` into `destination`, which must not exist or be empty.
    /// - Throws: `.invalidArgument` when `destination` holds files or `directory` holds no log
    ///   (or the old SQLite store); `.damaged` when the source log is damaged; `.io` otherwise.
    public static func backup(directory: String, to destination: String) throws -> Report {
        let fileSystem = POSIXFileSystem()
        if fileSystem.exists(LegacyStoreSchema.databasePath(in: directory)) {
            throw EventStoreError(.invalidArgument, "\(directory) holds the old SQLite store; migrate it first (prism store migrate \(directory)) or copy events.sqlite with SQLite's backup")
        }
        let hasSegments = try fileSystem.list(directory).contains { LogSegment.firstPosition(fromName: $0) != nil }
        let indexPath = directory + "/" + LogIndex.fileName
        guard hasSegments || fileSystem.exists(indexPath) else {
            throw EventStoreError(.invalidArgument, "\(directory) holds no event log (no segments, no \(LogIndex.fileName))")
        }
        if fileSystem.exists(destination) {
            let names = try fileSystem.list(destination)
            guard names.isEmpty else {
                throw EventStoreError(.invalidArgument, "\(destination) is not empty (\(names.sorted().prefix(3).joined(separator: ", ")))")
            }
        } else {
            try StoreLock.makeDirectory(destination)
        }

        var report = Report()
        if fileSystem.exists(indexPath) {
            try copyIndex(from: indexPath, to: destination + "/" + LogIndex.fileName)
            report.indexCopied = true
        }
        let reader = try LogReader(directory: directory)
        for segment in reader.segments {
            let name = (segment.path as NSString).lastPathComponent
            let size = try fileSize(segment.path)
            try copy(segment.path, bytes: min(segment.validBytes, size), to: destination + "/" + name, size: size, fileSystem: fileSystem)
            report.segments += 1
            report.bytes += Int64(segment.validBytes)
        }
        try fileSystem.syncDirectory(destination)
        report.verification = try StoreVerifier.verify(directory: destination)
        return report
    }

    private static func copyIndex(from source: String, to target: String) throws {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        do {
            let from = try DatabaseQueue(path: source, configuration: configuration)
            defer { try? from.close() }
            let to = try DatabaseQueue(path: target)
            // One step (the default): the whole copy under one read transaction of the source.
            try from.backup(to: to)
            try to.close()
        } catch {
            throw EventStoreError(.io, "cannot copy the index \(source) to \(target): \(error)")
        }
        let file = try POSIXFileSystem().open(target, create: false)
        defer { file.close() }
        try file.sync()
    }

    /// Copies the first `bytes` of `source` and gives the copy the source's `size`: the rest reads
    /// as zeros, as the preallocated tail of a segment does.
    private static func copy(_ source: String, bytes: Int, to target: String, size: Int, fileSystem: POSIXFileSystem) throws {
        let input = try fileSystem.open(source, create: false)
        defer { input.close() }
        let output = try fileSystem.open(target, create: true)
        defer { output.close() }
        let chunk = 4 << 20
        var offset = 0
        while offset < bytes {
            let data = try input.read(at: offset, count: min(chunk, bytes - offset))
            guard !data.isEmpty else {
                throw EventStoreError(.io, "\(source) ended at \(offset) bytes while copying \(bytes)")
            }
            try output.write(data, at: offset)
            offset += data.count
        }
        if size > bytes {
            try SystemCall.run("truncate", target) { truncate(target, off_t(size)) }
        }
        try output.sync()
    }

    private static func fileSize(_ path: String) throws -> Int {
        var status = stat()
        try SystemCall.run("stat", path) { stat(path, &status) }
        return Int(status.st_size)
    }
}
