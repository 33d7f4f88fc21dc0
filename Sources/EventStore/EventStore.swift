import Foundation
import Synchronization

/// The write side's durable log: segment files of checksummed groups, one `fdatasync` per group,
/// and every index off the commit path (`docs/STORAGE.md`).
///
/// Appending is three steps, so that a write node can decide group N+1 while group N syncs:
/// `stage` checks expected versions and ids against memory and assigns positions (the sequencer's
/// thread), `write` encodes, writes and syncs the group (the committer's thread), and `confirm`
/// makes it visible to readers and the indexer (or `abandon` drops it). At most one batch is
/// staged at a time. `append` does all three, for callers that do not pipeline.
///
/// Exactly one `EventStore` per data directory may be open (an exclusive `flock` on
/// `<directory>/write-node.lock`). Reads are thread-safe and see durable events only.
public final class EventStore: @unchecked Sendable {
    /// The data directory.
    public let directory: String
    public let options: Options
    let index: LogIndex
    private let lock: StoreLock
    let indexer: Indexer
    /// Replaced when the log is reopened after a failed write; touched by the committer only
    /// while a batch is staged, and by the sequencer only when none is.
    var writer: LogWriter
    let visible: Mutex<Visible>
    let sequencing: Mutex<Sequencing>
    /// Read-only descriptors of the segments, for readers (the writer's may be closed and reopened).
    let readFiles = Mutex<[Int64: any LogFile]>([:])
    /// The groups the last reads checked, for the reads that continue them.
    let checkedGroups = Mutex(CheckedGroups(capacity: 4))

    /// Tunables of a store; the write node's flags map onto them.
    public struct Options: Sendable {
        /// Capacity of a new segment file, in bytes. Default 256 MiB.
        public var segmentBytes = 256 << 20
        /// Most event ids the idempotency window holds. Default 1,000,000.
        public var idWindowEvents = 1_000_000
        /// Oldest id the window holds, in seconds; 0 for no age limit. Default 0.
        public var idWindowSeconds = 0
        /// Most stream heads kept in memory before those already indexed are dropped. Default 1,000,000.
        public var maxCachedStreams = 1_000_000
        /// Most events the indexer writes in one transaction. Default 50,000.
        public var indexBatchEvents = 50_000
        var fileSystem: any LogFileSystem = POSIXFileSystem()

        public init() {}
    }

    /// What readers see: the durable log.
    struct Visible {
        /// Last durable position.
        var head: Int64
        /// Last indexed position.
        var indexed: Int64
        /// Durable groups not yet indexed.
        var tail = UnindexedTail()
        var categoryHeads: [String: Int64]
        /// Why appends are refused, while they are (a failed write or sync).
        var failure: EventStoreError?
        var closed = false
    }

    /// The sequencer's view: what the next append checks against.
    struct Sequencing {
        var heads: StreamHeads
        var ids: RecentIds
        /// The batch between `stage` and `confirm`/`abandon`.
        var staged: StagedBatch?
        /// Set after a failed write: the next `stage` validates the log's tail again first.
        var needsReopen = false
        /// Where the reopen validates from: the last durable group's end (nil: the whole log).
        var reopenFrom: (location: LogLocation, position: Int64)?
    }

    /// Opens (creating if needed) the log in `directory`, taking its exclusive lock, recovering a
    /// torn tail, and bringing the index up to the log before it returns.
    /// - Throws: `.locked` (another write node holds it, naming its pid), `.io` (cannot create or
    ///   read the directory), `.damaged` (damage a crash cannot cause, an unknown format version,
    ///   or a directory holding the old SQLite store, with how to migrate it).
    public init(directory: String, options: Options = Options()) throws {
        self.directory = directory
        self.options = options
        lock = try StoreLock(directory: directory)
        try Self.refuseLegacyStore(directory)
        let index = try LogIndex(directory: directory)
        self.index = index
        let heads = StreamHeads(capacity: options.maxCachedStreams)
        var ids = RecentIds(maxEvents: options.idWindowEvents, maxAgeSeconds: options.idWindowSeconds)

        // Validate from the index's checkpoint, or from further back to refill the id window.
        var checkpoint = try index.checkpoint()
        var start: (location: LogLocation, position: Int64)? = checkpoint.map { ($0.next, $0.position + 1) }
        if let checkpoint, options.idWindowEvents > 0 {
            let oldest = max(1, checkpoint.position - Int64(options.idWindowEvents) + 1)
            if oldest <= checkpoint.position, let group = try index.group(containing: oldest) { start = (group.location, group.position) }
        }
        let loader = LogLoader(directory: directory, fileSystem: options.fileSystem)
        var pending: [LogGroup] = []
        var pendingEvents = 0
        let indexed = checkpoint?.position ?? 0
        let loaded = try loader.load(from: start) { group in
            for event in group.events {
                ids.add(event.id, .init(position: event.position, stream: event.stream, version: event.version), recordedAt: event.recordedAt)
            }
            // A rebuild visits the whole log: keep the window at its size as it goes.
            if ids.count > 2 * max(options.idWindowEvents, 1) { ids.evict(now: wallClockNanoseconds()) }
            guard group.lastPosition > indexed else { return }
            pending.append(group)
            pendingEvents += group.events.count
            if pendingEvents >= options.indexBatchEvents {
                try Indexer.add(pending, to: index)
                pending.removeAll()
                pendingEvents = 0
            }
        }
        do {
            if !pending.isEmpty { try Indexer.add(pending, to: index) }
            checkpoint = try index.checkpoint()
            guard (checkpoint?.position ?? 0) == loaded.head else {
                throw EventStoreError(.damaged, "the index \(index.path) reaches position \(checkpoint?.position ?? 0) but the log ends at \(loaded.head); delete the index to rebuild it from the log")
            }
        } catch {
            loaded.segments.forEach { $0.file.close() }
            throw error
        }
        ids.evict(now: wallClockNanoseconds())
        writer = LogWriter(directory: directory, fileSystem: options.fileSystem, segmentBytes: options.segmentBytes, loaded: loaded)
        try writer.createFirstSegment()
        visible = Mutex(Visible(head: loaded.head, indexed: loaded.head, categoryHeads: try index.categoryHeads()))
        sequencing = Mutex(Sequencing(heads: heads, ids: ids))
        indexer = Indexer(index: index, batchEvents: options.indexBatchEvents)
        cutTail = loaded.cut
        indexer.start(store: self)
    }

    /// A torn tail the open cut, if any: where, and how many bytes were zeroed.
    public let cutTail: (location: LogLocation, bytes: Int)?

    deinit {
        try? close()
    }

    /// Stops the indexer (after its current transaction), closes every file and releases the lock.
    /// Idempotent; later calls throw `.io`.
    public func close() throws {
        let wasOpen = visible.withLock { visible in
            defer { visible.closed = true }
            return !visible.closed
        }
        guard wasOpen else { return }
        indexer.stop()
        writer.close()
        readFiles.withLock { files in
            for file in files.values { file.close() }
            files.removeAll()
        }
        try? index.close()
        lock.release()
    }

    /// Position of the last durable event, 0 when the log is empty.
    public var headPosition: Int64 { visible.withLock { $0.head } }

    /// Last position the index holds; reads beyond it are served from memory.
    public var indexedPosition: Int64 { visible.withLock { $0.indexed } }

    /// Why appends are refused, nil while they are accepted.
    public var failure: EventStoreError? { visible.withLock { $0.failure } }

    /// The last position of each category (for gap detection by filtered subscribers).
    public func lastPositionByCategory() throws -> [String: Int64] {
        try visible.withLock { visible in
            try Self.checkOpen(visible, directory)
            return visible.categoryHeads
        }
    }

    /// Figures for `stats`: ids in the window, stream heads in memory.
    public var cacheCounts: (ids: Int, streams: Int) {
        sequencing.withLock { ($0.ids.count, $0.heads.count) }
    }

    static func checkOpen(_ visible: Visible, _ directory: String) throws {
        if visible.closed { throw EventStoreError(.io, "the event store in \(directory) is closed") }
    }

    /// A directory written by Prism before the log (one SQLite file) is refused with the way out.
    private static func refuseLegacyStore(_ directory: String) throws {
        let legacy = LegacyStoreSchema.databasePath(in: directory)
        guard FileManager.default.fileExists(atPath: legacy) else { return }
        throw EventStoreError(.damaged, "\(directory) holds an event store in the old SQLite format (\(legacy)); this version keeps events in a segmented log. Convert it with: prism store migrate \(directory)")
    }
}
