#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import GRDB

/// One call of `EventStore.append`: the requests of a group commit, checked and written in
/// one transaction.
///
/// It owns the batch's view of the log (head, versions written so far) so that a failed
/// transaction leaves the store's committed state untouched.
struct AppendBatch {
    /// Position of the last event, including this batch's; nil until loaded.
    private(set) var head: Int64?
    /// Last version of every stream this batch wrote to.
    private(set) var written: [String: Int64] = [:]

    /// Longest event type accepted, in UTF-8 bytes.
    static let maxTypeLength = 200

    /// Most events one request may carry (a retry is read back in one read of at most this many).
    static let maxEventsPerAppend = EventQueries.maxLimit

    static let insertSQL = """
        INSERT INTO events (position, event_id, stream, version, category, type, data, metadata, recorded_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    init(head: Int64?) {
        self.head = head
    }

    /// Runs the whole batch in one IMMEDIATE transaction, committed (one fsync) at the end.
    /// - Parameters:
    ///   - cache: committed stream versions (-1: no events); versions read from the database are
    ///     added to it, because they were committed before this batch and stay true if it fails.
    /// - Throws: when the transaction fails; then nothing was written.
    mutating func run(
        _ requests: [AppendRequest], in db: Database, cache: inout [String: Int64]
    ) throws -> [Result<[RecordedEvent], EventStoreError>] {
        var results: [Result<[RecordedEvent], EventStoreError>] = []
        results.reserveCapacity(requests.count)
        try db.inTransaction(.immediate) {
            var head = try self.head ?? EventQueries.headPosition(db)
            let statements = try Statements(db)
            let recordedAt = wallClockNanoseconds()
            for request in requests {
                results.append(try append(request, db: db, statements: statements, head: &head, recordedAt: recordedAt, cache: &cache))
            }
            self.head = head
            return .commit
        }
        return results
    }

    /// The batch's cached statements, prepared once per batch.
    private struct Statements {
        let insert: RawStatement
        let findId: RawStatement
        let undo: RawStatement

        init(_ db: Database) throws {
            insert = try RawStatement(db, sql: AppendBatch.insertSQL)
            findId = try RawStatement(db, sql: "SELECT stream, version FROM events WHERE event_id = ?")
            undo = try RawStatement(db, sql: "DELETE FROM events WHERE position > ?")
        }
    }

    private mutating func append(
        _ request: AppendRequest, db: Database, statements: Statements,
        head: inout Int64, recordedAt: Int64, cache: inout [String: Int64]
    ) throws -> Result<[RecordedEvent], EventStoreError> {
        let stream = request.stream
        if let problem = Self.problem(with: request) {
            return .failure(EventStoreError(.invalidArgument, problem))
        }
        if let duplicate = Self.duplicateId(in: request.events) {
            return .failure(EventStoreError(.idempotencyConflict, "event id \(duplicate) appears more than once in the append to stream \(stream)"))
        }
        if request.checkIdempotency {
            switch try Self.checkIdempotency(request, db: db, findId: statements.findId) {
            case .new: break
            case .retry(let original): return .success(original)
            case .conflict(let message): return .failure(EventStoreError(.idempotencyConflict, message))
            }
        }

        let current = try version(of: stream, db: db, cache: &cache)
        let matches: Bool
        switch request.expectedVersion {
        case .any: matches = true
        case .noStream: matches = current == -1
        case .exact(let expected): matches = current == expected
        }
        guard matches else {
            let actual = current == -1 ? "none" : "\(current)"
            return .failure(EventStoreError(.wrongExpectedVersion, "Wrong expected version: \(request.expectedVersion) (stream: \(stream), stream version: \(actual))"))
        }

        let category = StreamName.category(of: stream)
        let insert = statements.insert
        let firstPosition = head
        var version = current
        var recorded: [RecordedEvent] = []
        recorded.reserveCapacity(request.events.count)
        for event in request.events {
            head += 1
            version += 1
            insert.bind(head, at: 1)
            insert.bind(event.id, at: 2)
            insert.bind(stream, at: 3)
            insert.bind(version, at: 4)
            insert.bind(category, at: 5)
            insert.bind(event.type, at: 6)
            insert.bind(event.data, at: 7)
            insert.bindOptional(event.metadata, at: 8)
            insert.bind(recordedAt, at: 9)
            do {
                try insert.run()
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT && !request.checkIdempotency {
                // An id that was never looked up is already stored. The failed INSERT was undone
                // by SQLite; undo this request's earlier rows so the rest of the batch still commits.
                statements.undo.bind(firstPosition, at: 1)
                try statements.undo.run()
                head = firstPosition
                return .failure(EventStoreError(.idempotencyConflict, "event id \(event.id) of the append to stream \(stream) is already stored (\(error.message ?? "constraint failed"))"))
            }
            recorded.append(RecordedEvent(
                id: event.id, position: head, stream: stream, version: version, type: event.type,
                data: event.data, metadata: event.metadata, recordedAt: recordedAt
            ))
        }
        written[stream] = version
        return .success(recorded)
    }

    /// The stream's last version as this batch sees it: -1 when it has no events.
    private func version(of stream: String, db: Database, cache: inout [String: Int64]) throws -> Int64 {
        if let version = written[stream] ?? cache[stream] { return version }
        let version = try EventQueries.streamVersion(db, stream: stream) ?? -1
        cache[stream] = version
        return version
    }

    static func problem(with request: AppendRequest) -> String? {
        if let problem = StreamName.problem(with: request.stream) { return problem }
        if request.events.isEmpty { return "append to stream \(request.stream) has no events" }
        if request.events.count > maxEventsPerAppend {
            return "append to stream \(request.stream) has \(request.events.count) events, more than \(maxEventsPerAppend)"
        }
        for event in request.events {
            let length = event.type.utf8.count
            if length == 0 { return "event \(event.id) of stream \(request.stream) has an empty type" }
            if length > maxTypeLength {
                return "event \(event.id) of stream \(request.stream) has a type of \(length) bytes, more than \(maxTypeLength)"
            }
        }
        return nil
    }

    enum Idempotency {
        case new
        case retry([RecordedEvent])
        case conflict(String)
    }

    /// Looks the request's ids up: none stored (new), all stored as this very append (retry), or a conflict.
    ///
    /// Earlier requests of the same batch are already inserted in the open transaction, so the
    /// lookup sees them too.
    static func checkIdempotency(_ request: AppendRequest, db: Database, findId: RawStatement) throws -> Idempotency {
        let stream = request.stream
        var found: [(index: Int, stream: String, version: Int64)] = []
        for (index, event) in request.events.enumerated() {
            findId.bind(event.id, at: 1)
            defer { findId.reset() }
            if try findId.step() {
                found.append((index, findId.string(0), findId.int64(1)))
            }
        }
        guard let first = found.first else { return .new }
        let count = request.events.count
        let isRetry = found.count == count && found.allSatisfy { entry in
            entry.stream == stream && entry.version == first.version + Int64(entry.index)
        }
        guard isRetry else {
            let elsewhere = found.first { $0.stream != stream }
            let example = elsewhere ?? first
            let detail = "event \(request.events[example.index].id) is stored in stream \(example.stream) at version \(example.version)"
            if elsewhere != nil {
                return .conflict("append to stream \(stream): \(detail)")
            }
            if found.count < count {
                return .conflict("append to stream \(stream): \(found.count) of its \(count) event ids are already stored, the others are not (\(detail))")
            }
            return .conflict("append to stream \(stream): its \(count) event ids are stored, but not at consecutive versions in this order (\(detail))")
        }
        let original = try EventQueries.readStream(db, stream: stream, fromVersion: first.version, limit: count)
        guard original.map(\.id) == request.events.map(\.id) else {
            // Unreachable while (stream, version) is unique; refuse rather than return the wrong events.
            throw EventStoreError(.damaged, "stream \(stream) changed while its events \(first.version)... were being read back")
        }
        return .retry(original)
    }

    /// An id that appears twice in `events`, if any.
    static func duplicateId(in events: [NewEvent]) -> UUID? {
        // Most appends carry one or a few events: a quadratic scan beats hashing there.
        if events.count <= 8 {
            for i in events.indices {
                for j in events.index(after: i)..<events.endIndex where events[i].id == events[j].id {
                    return events[i].id
                }
            }
            return nil
        }
        var seen = Set<UUID>(minimumCapacity: events.count)
        return events.first { !seen.insert($0.id).inserted }?.id
    }
}
