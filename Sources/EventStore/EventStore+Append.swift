import Foundation

/// A batch between `EventStore.stage` and `confirm`/`abandon`: each request's outcome, and the
/// new events (positions assigned) that one group will hold.
public final class StagedBatch: @unchecked Sendable {
    /// One result per request, in order: the events (new, or the originals of a retry), or why not.
    public let results: [Result<[RecordedEvent], EventStoreError>]
    /// The events this batch writes, in position order; empty when every request failed or retried.
    public let events: [RecordedEvent]
    /// The durable head before this batch.
    public let headBefore: Int64
    /// Set by `write`: the group as written.
    fileprivate(set) var group: LogGroup?

    init(results: [Result<[RecordedEvent], EventStoreError>], events: [RecordedEvent], headBefore: Int64) {
        self.results = results
        self.events = events
        self.headBefore = headBefore
    }
}

extension EventStore {
    /// Longest event type accepted, in UTF-8 bytes.
    public static let maxTypeLength = 200
    /// Most events one request may carry.
    public static let maxEventsPerAppend = 100_000

    /// Appends every request as one group with one `fdatasync`; each request is checked and
    /// applied independently, in order, seeing the requests before it.
    ///
    /// A request whose event ids are all in the idempotency window, in its stream, at consecutive
    /// versions in the same order, returns the original events and writes nothing.
    /// - Returns: one result per request.
    /// - Throws: when the group could not be written or synced; then nothing of it is visible.
    public func append(_ requests: [AppendRequest]) throws -> [Result<[RecordedEvent], EventStoreError>] {
        let batch = try stage(requests)
        try commit(batch)
        return batch.results
    }

    /// Writes and confirms a staged batch, or abandons it when the write fails.
    private func commit(_ batch: StagedBatch) throws {
        do {
            try write(batch)
        } catch {
            abandon(batch)
            throw error
        }
        confirm(batch)
    }

    /// Appends events that were recorded elsewhere, as they are (ids, positions, versions, times):
    /// `prism store migrate` copying a log. Positions must continue the head without a gap and
    /// versions each stream's last; nothing is checked against the id window.
    /// - Throws: `.invalidArgument` when they do not; `.io` when the group cannot be written.
    public func appendRecorded(_ events: [RecordedEvent]) throws {
        guard !events.isEmpty else { return }
        let head = headPosition
        for (offset, event) in events.enumerated() where event.position != head + 1 + Int64(offset) {
            throw EventStoreError(.invalidArgument, "event \(event.id) has position \(event.position) where \(head + 1 + Int64(offset)) belongs")
        }
        let batch = try sequencing.withLock { state in
            precondition(state.staged == nil, "appendRecorded called with a batch already staged")
            do {
                for event in events {
                    let current = try streamHead(event.stream, heads: &state.heads)
                    guard event.version == current.version + 1 else {
                        throw EventStoreError(.invalidArgument, "event at position \(event.position) has version \(event.version) of stream \(event.stream), whose last version is \(current.version)")
                    }
                    state.heads.stage(event.stream, .init(version: event.version, position: event.position))
                    state.ids.stage(event.id, .init(position: event.position, stream: event.stream, version: event.version), recordedAt: event.recordedAt)
                }
            } catch {
                state.heads.dropProvisional()
                state.ids.dropProvisional()
                throw error
            }
            let batch = StagedBatch(results: [], events: events, headBefore: head)
            state.staged = batch
            return batch
        }
        try commit(batch)
    }

    // MARK: - Stage (sequencer thread)

    /// Checks each request against the durable log plus the requests before it, and assigns positions.
    /// Nothing is written or visible until `write` and `confirm`.
    /// - Throws: `.io` when appends are refused (a failed write whose log could not be reopened),
    ///   or the store is closed; `.damaged` when a retry's originals cannot be read back.
    public func stage(_ requests: [AppendRequest]) throws -> StagedBatch {
        try reopenIfNeeded()
        let (headBefore, indexed) = try visible.withLock { visible in
            try Self.checkOpen(visible, directory)
            return (visible.head, visible.indexed)
        }
        return try sequencing.withLock { state in
            precondition(state.staged == nil, "stage called with a batch already staged")
            var head = headBefore
            var results: [Result<[RecordedEvent], EventStoreError>] = []
            results.reserveCapacity(requests.count)
            var events: [RecordedEvent] = []
            let recordedAt = wallClockNanoseconds()
            do {
                for request in requests {
                    results.append(try stageOne(request, state: &state, head: &head, events: &events, recordedAt: recordedAt, indexed: indexed))
                }
            } catch {
                // A read for a retry or a stream head failed halfway: the requests staged before it
                // must not stay in the id window and the stream heads.
                state.heads.dropProvisional()
                state.ids.dropProvisional()
                throw error
            }
            let batch = StagedBatch(results: results, events: events, headBefore: headBefore)
            state.staged = batch
            return batch
        }
    }

    private func stageOne(
        _ request: AppendRequest, state: inout Sequencing, head: inout Int64, events: inout [RecordedEvent],
        recordedAt: Int64, indexed: Int64
    ) throws -> Result<[RecordedEvent], EventStoreError> {
        let stream = request.stream
        if let problem = Self.problem(with: request) {
            return .failure(EventStoreError(.invalidArgument, problem))
        }
        if let duplicate = Self.duplicateId(in: request.events) {
            return .failure(EventStoreError(.idempotencyConflict, "event id \(duplicate) appears more than once in the append to stream \(stream)"))
        }
        if request.checkIdempotency {
            switch try checkWindow(request, ids: state.ids, staged: events) {
            case .new: break
            case .retry(let original): return .success(original)
            case .conflict(let message): return .failure(EventStoreError(.idempotencyConflict, message))
            }
        }
        let current = try streamHead(stream, heads: &state.heads)
        let matches: Bool
        switch request.expectedVersion {
        case .any: matches = true
        case .noStream: matches = current.version == -1
        case .exact(let expected): matches = current.version == expected
        }
        guard matches else {
            // KurrentDB's rule for a retry outside the id window: the events at the versions the
            // request expected to write carry its ids.
            if request.checkIdempotency, let original = try earlierWrite(of: request, current: current.version, staged: events) {
                return .success(original)
            }
            let actual = current.version == -1 ? "none" : "\(current.version)"
            return .failure(EventStoreError(.wrongExpectedVersion, "Wrong expected version: \(request.expectedVersion) (stream: \(stream), stream version: \(actual))"))
        }
        var version = current.version
        var recorded: [RecordedEvent] = []
        recorded.reserveCapacity(request.events.count)
        for event in request.events {
            head += 1
            version += 1
            recorded.append(RecordedEvent(
                id: event.id, position: head, stream: stream, version: version, type: event.type,
                data: event.data, metadata: event.metadata, recordedAt: recordedAt))
            state.ids.stage(event.id, .init(position: head, stream: stream, version: version), recordedAt: recordedAt)
        }
        state.heads.stage(stream, .init(version: version, position: head))
        events.append(contentsOf: recorded)
        return .success(recorded)
    }

    /// The stream's head as the next append sees it: memory, else the index (which holds every
    /// stream whose head is not in memory).
    private func streamHead(_ stream: String, heads: inout StreamHeads) throws -> StreamHeads.Head {
        if let cached = heads.cached(stream) { return cached ?? .init(version: -1, position: 0) }
        let head = try index.streamHead(stream).map { StreamHeads.Head(version: $0.version, position: $0.position) }
        heads.remember(stream, head)
        return head ?? .init(version: -1, position: 0)
    }

    private enum Idempotency {
        case new
        case retry([RecordedEvent])
        case conflict(String)
    }

    /// Looks the request's ids up in the window: none there (new), all there as this very append
    /// (a retry), or a conflict.
    private func checkWindow(_ request: AppendRequest, ids: RecentIds, staged: [RecordedEvent]) throws -> Idempotency {
        let stream = request.stream
        var found: [(index: Int, entry: RecentIds.Entry)] = []
        for (index, event) in request.events.enumerated() {
            if let entry = ids.lookup(event.id) { found.append((index, entry)) }
        }
        guard let first = found.first else { return .new }
        let count = request.events.count
        let isRetry = found.count == count && found.allSatisfy { item in
            item.entry.stream == stream && item.entry.version == first.entry.version + Int64(item.index)
                && item.entry.position == first.entry.position + Int64(item.index)
        }
        guard isRetry else {
            let elsewhere = found.first { $0.entry.stream != stream }
            let example = elsewhere ?? first
            let detail = "event \(request.events[example.index].id) is stored in stream \(example.entry.stream) at version \(example.entry.version)"
            if elsewhere != nil { return .conflict("append to stream \(stream): \(detail)") }
            if found.count < count {
                return .conflict("append to stream \(stream): \(found.count) of its \(count) event ids are already stored, the others are not (\(detail))")
            }
            return .conflict("append to stream \(stream): its \(count) event ids are stored, but not at consecutive versions in this order (\(detail))")
        }
        let original = try events(from: first.entry.position, count: count, staged: staged)
        guard original.map(\.id) == request.events.map(\.id) else {
            throw EventStoreError(.damaged, "the events at positions \(first.entry.position)... do not carry the ids the window holds for them")
        }
        return .retry(original)
    }

    /// The original events when the request's ids are those written at the versions it expected.
    private func earlierWrite(of request: AppendRequest, current: Int64, staged: [RecordedEvent]) throws -> [RecordedEvent]? {
        let from: Int64
        switch request.expectedVersion {
        case .any: return nil
        case .noStream: from = 0
        case .exact(let expected):
            // Only a version the stream has passed can be a retry (and `expected + 1` overflows at Int64.max).
            guard expected < current else { return nil }
            from = expected + 1
        }
        let count = Int64(request.events.count)
        guard current >= from + count - 1 else { return nil }
        var found = try readStream(request.stream, fromVersion: from, limit: request.events.count)
        found += staged.filter { $0.stream == request.stream && $0.version >= from + Int64(found.count) && $0.version < from + count }
        guard found.count == request.events.count, found.map(\.id) == request.events.map(\.id) else { return nil }
        return found
    }

    /// `count` consecutive events from `position`, from the staged batch or the durable log.
    private func events(from position: Int64, count: Int, staged: [RecordedEvent]) throws -> [RecordedEvent] {
        if let first = staged.first, position >= first.position {
            return Array(staged[Int(position - first.position)..<Int(position - first.position) + count])
        }
        return try read(after: position - 1, limit: count)
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

    // MARK: - Write (committer thread)

    /// Encodes the staged events as one group, writes it and syncs it. Nothing to write is a no-op.
    /// - Throws: `.io` naming the call; then the caller must `abandon` the batch, and appends are
    ///   refused until the next `stage` has validated the log's tail again. A failed `fdatasync`
    ///   is never retried on the same data (the kernel may have dropped the dirty pages already).
    public func write(_ batch: StagedBatch) throws {
        guard !batch.events.isEmpty else { return }
        let (bytes, offsets) = LogFormat.group(batch.events)
        do {
            let location = try writer.append(bytes, firstPosition: batch.events[0].position)
            batch.group = LogGroup(location: location, events: batch.events, recordOffsets: offsets.map { $0 + location.offset })
        } catch {
            let failure = error as? EventStoreError ?? EventStoreError(.io, "\(error)")
            let resume = (location: LogLocation(segment: writer.active?.firstPosition ?? 1, offset: writer.end), position: batch.headBefore + 1)
            sequencing.withLock { state in
                // Kept across failed reopens, so each attempt validates only from here.
                if state.reopenFrom == nil { state.reopenFrom = writer.active == nil ? nil : resume }
                state.needsReopen = true
            }
            visible.withLock { $0.failure = failure }
            throw failure
        }
    }

    // MARK: - Confirm or abandon (sequencer thread)

    /// The staged batch is durable: readers and the indexer see it, later appends build on it.
    public func confirm(_ batch: StagedBatch) {
        let (indexed, waiting) = visible.withLock { visible in
            if let group = batch.group {
                visible.head = group.lastPosition
                visible.tail.append(group)
                for event in group.events { visible.categoryHeads[event.category] = event.position }
            }
            return (visible.indexed, visible.tail.count)
        }
        sequencing.withLock { state in
            state.heads.confirm(indexed: indexed)
            state.ids.confirm(now: wallClockNanoseconds())
            state.staged = nil
        }
        if waiting >= indexer.batchEvents { indexer.wake() }
    }

    /// The staged batch failed: none of it happened, and later appends will not see it.
    public func abandon(_ batch: StagedBatch) {
        sequencing.withLock { state in
            state.heads.dropProvisional()
            state.ids.dropProvisional()
            state.staged = nil
        }
    }

    /// After a failed write: validates the log's tail again from the last durable group, and cuts
    /// whatever lies past it. A group that the failed write left whole is cut too: after a failed
    /// `fdatasync` Linux marks the pages clean but keeps them cached, so reading the group back
    /// proves nothing about the disk, and a later sync would never write it (PostgreSQL's 2018
    /// lesson). Its writers were told `Unavailable`; a retry with the same ids appends it again.
    private func reopenIfNeeded() throws {
        guard let start = sequencing.withLock({ $0.needsReopen ? Optional($0.reopenFrom) : nil }) else { return }
        let head = headPosition
        writer.close()
        let loader = LogLoader(directory: directory, fileSystem: options.fileSystem)
        let loaded: LogLoader.Loaded
        do {
            var found: [LogGroup] = []
            var first = try loader.load(from: start) { group in
                if group.firstPosition > head { found.append(group) }
            }
            if !found.isEmpty {
                for group in found {
                    guard let segment = first.segments.first(where: { $0.firstPosition == group.location.segment }) else { continue }
                    try segment.file.write([UInt8](repeating: 0, count: group.end - group.location.offset), at: group.location.offset)
                    try segment.file.sync()
                }
                first.segments.forEach { $0.file.close() }
                first = try loader.load(from: start) { _ in }
            }
            loaded = first
        } catch let error as EventStoreError {
            visible.withLock { $0.failure = error }
            // The files stay closed; the next stage tries again.
            throw EventStoreError(.io, "appends are refused until the log can be reopened: \(error.message)")
        }
        writer = LogWriter(directory: directory, fileSystem: options.fileSystem, segmentBytes: options.segmentBytes, loaded: loaded)
        visible.withLock { $0.failure = nil }
        sequencing.withLock { state in
            state.needsReopen = false
            state.reopenFrom = nil
        }
    }
}
