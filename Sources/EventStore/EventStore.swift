import Foundation
import GRDB
import Synchronization

/// The write side's durable log, in SQLite (WAL, `synchronous=FULL`): `<directory>/events.sqlite`.
///
/// Exactly one `EventStore` per data directory may be open (an exclusive `flock` on
/// `<directory>/write-node.lock`, even within one process); any number of `EventLogReader`s
/// may read beside it. Calls are serialized by an internal lock, so the store may be handed
/// to the thread that owns it, but it is built for one owner calling `append` in a loop.
public final class EventStore: Sendable {
    /// The data directory.
    public let directory: String
    /// `<directory>/events.sqlite`.
    public let databasePath: String

    private let state: Mutex<State>

    /// Everything that changes, guarded by `state`.
    struct State {
        /// Nil once closed.
        var queue: DatabaseQueue?
        var lock: StoreLock?
        /// Position of the last committed event; nil when it must be reloaded after a failed transaction.
        var head: Int64?
        /// Last committed version per stream, -1 for "no events"; filled lazily, updated only after
        /// a commit, dropped when a transaction fails.
        var versions: [String: Int64] = [:]
    }

    /// The version cache is dropped when it grows past this many streams (it refills lazily).
    static let maxCachedStreams = 1_000_000

    /// Opens (creating if needed) the store in `directory`, taking its exclusive lock.
    ///
    /// Creates the directory with its parents. Never deletes or rewrites a file it does not recognize.
    /// - Parameters:
    ///   - directory: The data directory.
    /// - Throws: `EventStoreError` `.locked` (another write node holds it, message names the pid),
    ///   `.io` (cannot create/write the directory), `.damaged` (not a Prism store, corrupt file,
    ///   unknown schema version, positions not gap-free).
    public init(directory: String) throws {
        self.directory = directory
        let path = EventStoreSchema.databasePath(in: directory)
        databasePath = path
        let lock = try StoreLock(directory: directory)
        try EventStoreSchema.checkHeader(path: path)

        var configuration = Configuration()
        configuration.label = "EventStore"
        // Readers and checkpoints can hold the WAL index briefly; wait rather than fail.
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            // synchronous=FULL: the WAL is fsync'd on every commit, so an acknowledged append
            // survives a power loss. cache_size: 64 MiB (negative means KiB). journal_size_limit:
            // truncate the WAL back to 64 MiB after checkpoints.
            try db.execute(sql: """
                PRAGMA synchronous = FULL;
                PRAGMA cache_size = -65536;
                PRAGMA journal_size_limit = 67108864;
                """)
        }
        let queue: DatabaseQueue
        var head: Int64 = 0
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw EventStoreError.translating(error, path: path, action: "open")
        }
        do {
            try queue.writeWithoutTransaction { db in
                // The schema is checked before switching to WAL: WAL mode is written into the
                // file's header, and a foreign database must be left exactly as it was.
                try EventStoreSchema.prepare(db, path: path, readOnly: false)
                let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
                guard mode?.lowercased() == "wal" else {
                    throw EventStoreError(.io, "\(path) cannot use WAL journal mode (SQLite answered \(mode ?? "nothing"))")
                }
                head = try EventStoreSchema.checkGapFree(db, path: path)
            }
        } catch {
            try? queue.close()
            throw EventStoreError.translating(error, path: path, action: "open")
        }
        state = Mutex(State(queue: queue, lock: lock, head: head))
    }

    deinit {
        // The queue closes itself when released; the lock must not outlive the store.
        state.withLock { $0.lock?.release() }
    }

    /// Closes the database and releases the directory's lock; later calls throw `.io`. Idempotent.
    /// - Throws: the database's failure to close (the lock is released regardless).
    public func close() throws {
        try state.withLock { state in
            defer {
                state.lock?.release()
                state.lock = nil
                state.queue = nil
            }
            try state.queue?.close()
        }
    }

    /// Position of the last stored event, 0 when the log is empty.
    public var headPosition: Int64 {
        state.withLock { state in
            if let head = state.head { return head }
            return (try? state.queue?.inDatabase(EventQueries.headPosition)) ?? 0
        }
    }

    /// Appends every request in ONE transaction with one fsync; each request is checked and
    /// applied independently, in order, seeing the requests before it.
    ///
    /// A failed check writes nothing for that request; the others still commit. All events of one
    /// call get the same `recordedAt` (wall clock when the batch is written, ns since epoch).
    /// A request whose event ids are all already stored, in its stream, at consecutive versions
    /// in the same order, returns the original events and writes nothing, whatever its expected version.
    /// - Parameters:
    ///   - requests: The appends, each to one stream.
    /// - Returns: One result per request, in order: the recorded events, or the failure
    ///   (`.invalidArgument`, `.wrongExpectedVersion`, `.idempotencyConflict`).
    /// - Throws: only when the transaction itself fails (I/O, closed store); then nothing was written.
    public func append(_ requests: [AppendRequest]) throws -> [Result<[RecordedEvent], EventStoreError>] {
        if requests.isEmpty { return [] }
        return try state.withLock { state in
            let queue = try Self.open(state.queue, directory: directory)
            if state.versions.count > Self.maxCachedStreams {
                state.versions.removeAll()
            }
            var batch = AppendBatch(head: state.head)
            do {
                let results = try queue.writeWithoutTransaction { db in
                    try batch.run(requests, in: db, cache: &state.versions)
                }
                // Only now that the commit is durable do the batch's writes enter the cache.
                state.head = batch.head
                state.versions.merge(batch.written) { _, written in written }
                return results
            } catch {
                // Nothing of the batch is stored: forget everything that may reflect it.
                state.versions = [:]
                state.head = try? queue.inDatabase(EventQueries.headPosition)
                throw EventStoreError.translating(error, path: databasePath, action: "commit \(requests.count) appends to", consequence: "nothing was written")
            }
        }
    }

    /// The version of the stream's last event, nil when the stream has none.
    public func streamVersion(_ stream: String) throws -> Int64? {
        try state.withLock { state in
            if let version = state.versions[stream] { return version < 0 ? nil : version }
            let queue = try Self.open(state.queue, directory: directory)
            let version: Int64?
            do {
                version = try queue.inDatabase { try EventQueries.streamVersion($0, stream: stream) }
            } catch {
                throw EventStoreError.translating(error, path: databasePath, action: "read")
            }
            state.versions[stream] = version ?? -1
            return version
        }
    }

    /// Events of one stream from `version` on, in version order, at most `limit` (1...100_000).
    ///
    /// A read from version 0 that comes back short has seen the whole stream, so it also fills the
    /// version cache: the write node folds a stream this way before it appends to it, and the
    /// append then needs no second lookup inside its transaction.
    public func readStream(_ stream: String, fromVersion version: Int64 = 0, limit: Int = 1000) throws -> [RecordedEvent] {
        try state.withLock { state in
            let events: [RecordedEvent]
            do {
                events = try Self.open(state.queue, directory: directory).inDatabase {
                    try EventQueries.readStream($0, stream: stream, fromVersion: version, limit: limit)
                }
            } catch {
                throw EventStoreError.translating(error, path: databasePath, action: "read")
            }
            if version == 0, events.count < limit {
                state.versions[stream] = events.last?.version ?? -1
            }
            return events
        }
    }

    /// Events of the global log with position > `position`, in order, at most `limit` (1...100_000), filtered.
    public func read(after position: Int64, limit: Int, filter: EventFilter = .all) throws -> [RecordedEvent] {
        try read { try EventQueries.read($0, after: position, limit: limit, filter: filter) }
    }

    /// The last position of each category (for gap detection by filtered subscribers).
    public func lastPositionByCategory() throws -> [String: Int64] {
        try read(EventQueries.lastPositionByCategory)
    }

    /// Runs SQLite's consistency checks and the log's own invariant.
    /// - Parameters:
    ///   - quick: `PRAGMA quick_check` (no index-content verification) instead of `integrity_check`.
    /// - Returns: the problems found; empty when the store is sound.
    public func integrityCheck(quick: Bool = false) throws -> [String] {
        try read { db in
            let pragma = quick ? "quick_check" : "integrity_check"
            var problems = try String.fetchAll(db, sql: "PRAGMA \(pragma)").filter { $0 != "ok" }
            do {
                try EventStoreSchema.checkGapFree(db, path: self.databasePath)
            } catch let error as EventStoreError {
                problems.append(error.message)
            }
            return problems
        }
    }

    /// Reads on the writer's connection with `inDatabase`, not GRDB's `read`: `read` toggles
    /// `PRAGMA query_only`, and changing a flag pragma expires every prepared statement, so each
    /// read made the next append re-prepare all its statements (30% of the write node's time).
    private func read<T: Sendable>(_ body: (Database) throws -> T) throws -> T {
        try state.withLock { state in
            do {
                return try Self.open(state.queue, directory: directory).inDatabase(body)
            } catch {
                throw EventStoreError.translating(error, path: databasePath, action: "read")
            }
        }
    }

    private static func open(_ queue: DatabaseQueue?, directory: String) throws -> DatabaseQueue {
        guard let queue else { throw EventStoreError(.io, "the event store in \(directory) is closed") }
        return queue
    }
}
