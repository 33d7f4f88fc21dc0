/// Opens a log directory and recovers it: the segments in order, every group after a starting
/// location validated, and a torn last group cut.
///
/// The rules (`docs/STORAGE.md`): group N+1 is written only after group N's `fdatasync`
/// returned, so a crash can tear only the last group of the last segment, and that group's pages
/// may have reached the disk in any order. Recovery therefore accepts whole valid groups, and
/// cuts (zeroes) everything after the first invalid one *if nothing valid follows it*. A valid
/// group after an invalid one, an invalid group in a sealed segment, or a hole between segments
/// cannot come from a crash: that is damage, and opening fails naming the segment and offset.
struct LogLoader {
    let directory: String
    let fileSystem: any LogFileSystem
    /// Read-only: a torn tail is reported in `cut` but left as it is (for tools reading beside a node).
    var readOnly = false

    struct Loaded {
        /// Every segment, by first position; the last is the one appended to.
        var segments: [LogSegment]
        /// The last valid position, 0 for an empty log.
        var head: Int64
        /// Where the next group goes in the last segment.
        var end: LogLocation
        /// Bytes of a torn tail that were zeroed, if any.
        var cut: (location: LogLocation, bytes: Int)?
    }

    /// - Parameters:
    ///   - start: a group boundary to validate from, with the position of that group's first event
    ///     (everything before it was validated by an earlier open and is indexed); nil validates everything.
    ///   - visit: called for every valid group from `start` on, in position order.
    /// - Throws: `.damaged` naming the segment and offset; `.io` when a file cannot be read.
    func load(from start: (location: LogLocation, position: Int64)?, visit: (LogGroup) throws -> Void) throws -> Loaded {
        var names: [(Int64, String)] = []
        for name in try fileSystem.list(directory) {
            if name.hasSuffix(LogSegment.preparingSuffix), !readOnly {
                // A segment being zero-filled when the node stopped: never named, never written.
                try fileSystem.remove(path(name))
            } else if let first = LogSegment.firstPosition(fromName: name) {
                names.append((first, name))
            }
        }
        names.sort { $0.0 < $1.0 }
        var segments: [LogSegment] = []
        var loaded = false
        // A refused open closes what it opened (the caller gets no segments to close).
        defer { if !loaded { segments.forEach { $0.file.close() } } }
        for (first, name) in names {
            let file = try fileSystem.open(path(name), create: false)
            segments.append(LogSegment(firstPosition: first, file: file))
            let header = try file.read(at: 0, count: LogFormat.segmentHeaderLength)
            let named = try LogFormat.decodeSegmentHeader(header, path: file.path)
            guard named == first else {
                throw EventStoreError(.damaged, "\(file.path) is named for position \(first) but its header says \(named)")
            }
        }
        guard let last = segments.last else {
            loaded = true
            return Loaded(segments: [], head: 0, end: LogLocation(segment: 1, offset: LogFormat.segmentHeaderLength), cut: nil)
        }
        guard segments[0].firstPosition == 1 else {
            throw EventStoreError(.damaged, "the log in \(directory) starts at \(segments[0].path), not at position 1")
        }

        let startIndex: Int
        var offset: Int
        var expected: Int64
        if let start, let index = segments.firstIndex(where: { $0.firstPosition == start.location.segment }) {
            startIndex = index
            offset = start.location.offset
            expected = start.position
            if index == segments.count - 1 {
                // The last segment is always validated whole: a group damaged before the
                // checkpoint, with valid groups after it, is refused at open, not found later.
                offset = LogFormat.segmentHeaderLength
                expected = segments[index].firstPosition
            }
        } else {
            startIndex = 0
            offset = LogFormat.segmentHeaderLength
            expected = 1
        }
        var cut: (location: LogLocation, bytes: Int)?
        var endOffset = offset
        for index in startIndex..<segments.count {
            let segment = segments[index]
            if index > startIndex {
                offset = LogFormat.segmentHeaderLength
                guard segment.firstPosition == expected else {
                    throw EventStoreError(.damaged, "\(segment.path) starts at position \(segment.firstPosition) but the segment before it ends at \(expected - 1): the log has a hole")
                }
            }
            var scanner = try SegmentScanner(segment: segment)
            scan: while true {
                switch try scanner.group(at: offset, expected: expected) {
                case .group(let header, let events):
                    try visit(LogGroup(
                        location: LogLocation(segment: segment.firstPosition, offset: offset),
                        events: events.map(\.event), recordOffsets: events.map(\.offset)))
                    expected = header.firstPosition + Int64(header.count)
                    offset += header.totalLength
                case .end:
                    break scan
                case .invalid(let reason):
                    let isLast = index == segments.count - 1
                    let at = "\(segment.path) offset \(offset)"
                    guard isLast else {
                        throw EventStoreError(.damaged, "\(at): \(reason) in a sealed segment (a crash can only tear the last segment); the log is damaged")
                    }
                    let dataEnd = try scanner.lastNonZero(from: offset) ?? offset
                    // A torn group whose header survived is searched past its whole extent: its
                    // events' data may itself hold bytes that look like a group.
                    let searchFrom = try scanner.header(at: offset).map { offset + $0.totalLength } ?? offset + LogFormat.groupAlignment
                    if let valid = try scanner.firstValidGroup(from: searchFrom, to: dataEnd) {
                        throw EventStoreError(.damaged, "\(at): \(reason), yet a valid group (position \(valid.position)) follows at offset \(valid.offset); a crash cannot leave that, so the log is damaged (refusing to start; nothing was changed)")
                    }
                    // A torn last group: zero it so a later, shorter group cannot leave its remains behind.
                    if !readOnly {
                        try segment.file.write([UInt8](repeating: 0, count: dataEnd - offset), at: offset)
                        try segment.file.sync()
                    }
                    cut = (LogLocation(segment: segment.firstPosition, offset: offset), dataEnd - offset)
                    break scan
                }
            }
            endOffset = offset
        }
        loaded = true
        return Loaded(
            segments: segments, head: expected - 1,
            end: LogLocation(segment: last.firstPosition, offset: endOffset), cut: cut)
    }

    private func path(_ name: String) -> String { directory + "/" + name }
}

/// One group as written or read back: where it starts, its events, and where each record starts.
struct LogGroup: Sendable {
    var location: LogLocation
    var events: [RecordedEvent]
    var recordOffsets: [Int]

    var firstPosition: Int64 { events[0].position }
    var lastPosition: Int64 { events[events.count - 1].position }

    func recordLocation(_ index: Int) -> LogLocation {
        LogLocation(segment: location.segment, offset: recordOffsets[index])
    }

    /// Where the group's bytes end (padding included): where the next group starts.
    var end: Int {
        LogFormat.aligned(recordOffsets[recordOffsets.count - 1] + LogFormat.recordLength(events[events.count - 1]))
    }
}
