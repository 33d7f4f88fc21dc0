extension EventStore {
    /// Largest `limit` a read accepts.
    public static let maxReadLimit = 100_000

    /// Durable events with position > `position`, in order, at most `limit` (1...100,000), filtered.
    public func read(after position: Int64, limit: Int, filter: EventFilter = .all) throws -> [RecordedEvent] {
        let records = try readRecords(after: position, limit: limit, filter: filter)
        do {
            return try EventRecord.decodeAll(records.bytes, count: records.count)
        } catch {
            throw EventStoreError(.damaged, "\(directory): \(error)")
        }
    }

    /// Durable events with position > `position` as their records (`EventRecord`), in order,
    /// at most `limit` (1...100,000) and about `maxBytes` (the record that crosses it is the last),
    /// filtered on the stored bytes without decoding them.
    ///
    /// Indexed positions are read group by group (the index finds the groups, and for a category
    /// filter the groups that hold it), each checked whole once and kept for the read that
    /// continues it; newer ones come from memory (the groups not indexed yet).
    public func readRecords(after position: Int64, limit: Int, maxBytes: Int = .max, filter: EventFilter = .all) throws -> EventRecords {
        try Self.checkLimit(limit)
        let (indexed, tail) = try snapshot()
        var records = EventRecords(limit: limit, maxBytes: maxBytes)
        let matcher = EventFilter.ByteMatcher(filter)
        var from = position
        while from < indexed && !records.isFull {
            let groups = try index.groups(after: from, upTo: indexed, limit: 1024, categories: filter.categories)
            guard !groups.isEmpty else { break }
            for group in groups where !records.isFull {
                let file = try segmentFile(group.location.segment)
                do {
                    try checkedGroups.withLock { cache in
                        try records.take(try cache.group(group, in: file), after: from, matching: matcher)
                    }
                } catch let problem as LogFormat.RecordProblem {
                    throw EventStoreError(.damaged, "\(group.location): \(problem.reason) where the index names the group at position \(group.position)")
                }
                from = max(from, records.isFull ? records.lastPosition ?? from : group.position + Int64(group.count) - 1)
            }
        }
        if !records.isFull {
            let from = max(position, indexed)
            outer: for group in tail where group.lastPosition > from {
                for event in group.events where event.position > from && filter.matches(event) {
                    records.append(event)
                    if records.isFull { break outer }
                }
            }
        }
        return records
    }

    /// Durable events of one stream from `version` on, in version order, at most `limit` (1...100,000).
    /// - Parameters:
    ///   - includingStaged: also the events of the batch staged but not yet durable (the write
    ///     node folding a stream while its last append syncs).
    public func readStream(_ stream: String, fromVersion version: Int64 = 0, limit: Int = 1000, includingStaged: Bool = false) throws -> [RecordedEvent] {
        try Self.checkLimit(limit)
        let (indexed, tail) = try visible.withLock { visible in
            try Self.checkOpen(visible, directory)
            return (visible.indexed, visible.tail.events(of: stream))
        }
        var events = try readEvents(at: index.streamLocations(stream, fromVersion: version, limit: limit, upTo: indexed))
        var next = max(version, (events.last?.version ?? version - 1) + 1)
        func take(_ candidates: [RecordedEvent]) {
            for event in candidates where events.count < limit && event.stream == stream && event.version >= next {
                events.append(event)
                next = event.version + 1
            }
        }
        take(tail)
        if includingStaged, events.count < limit, let staged = sequencing.withLock({ $0.staged }) {
            take(staged.events)
        }
        return events
    }

    /// The version of the stream's last durable event, nil when it has none.
    public func streamVersion(_ stream: String) throws -> Int64? {
        let tail = try visible.withLock { visible in
            try Self.checkOpen(visible, directory)
            return visible.tail.events(of: stream)
        }
        if let last = tail.last { return last.version }
        // The index only ever holds durable events: a head it has is current, or newer than the tail read.
        return try index.streamHead(stream)?.version
    }

    private func snapshot() throws -> (indexed: Int64, tail: [LogGroup]) {
        try visible.withLock { visible in
            try Self.checkOpen(visible, directory)
            return (visible.indexed, visible.tail.groups)
        }
    }

    static func checkLimit(_ limit: Int) throws {
        guard (1...maxReadLimit).contains(limit) else {
            throw EventStoreError(.invalidArgument, "limit \(limit) is outside 1...\(maxReadLimit)")
        }
    }

    /// Reads and checks the records at `locations`, reading neighbours in one `pread` where it can.
    func readEvents(at locations: [(position: Int64, location: LogLocation)]) throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        events.reserveCapacity(locations.count)
        var reader = RecordReader()
        for (position, location) in locations {
            do {
                let event = try reader.record(at: location, in: segmentFile(location.segment))
                guard event.position == position else {
                    throw LogFormat.RecordProblem(reason: "the record holds position \(event.position), the index says \(position)")
                }
                events.append(event)
            } catch let error as LogFormat.RecordProblem {
                throw EventStoreError(.damaged, "\(directory)/\(LogSegment.name(firstPosition: location.segment)) offset \(location.offset): \(error.reason)")
            }
        }
        return events
    }

    func segmentFile(_ segment: Int64) throws -> any LogFile {
        try readFiles.withLock { files in
            if let file = files[segment] { return file }
            let file = try options.fileSystem.open(directory + "/" + LogSegment.name(firstPosition: segment), create: false)
            files[segment] = file
            return file
        }
    }
}
