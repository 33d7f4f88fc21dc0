/// Reads a segment's groups in order from an offset, validating each whole group, through a
/// window of the file that it refills as it goes (groups may span its edge).
struct SegmentScanner {
    let segment: LogSegment
    let fileSize: Int
    private var window: [UInt8] = []
    private var windowStart = 0

    /// How much is read at once: large for recovery's pass over whole segments.
    let windowBytes: Int

    init(segment: LogSegment, windowBytes: Int = 8 << 20) throws {
        self.segment = segment
        self.windowBytes = windowBytes
        fileSize = try segment.file.size()
    }

    /// Makes `offset..<offset+count` (cut at the end of the file) available; returns how much is.
    private mutating func ensure(_ offset: Int, _ count: Int) throws -> Int {
        let wanted = min(count, fileSize - offset)
        if wanted <= 0 { return 0 }
        if offset >= windowStart, offset + wanted <= windowStart + window.count { return wanted }
        window = try segment.file.read(at: offset, count: min(max(wanted, windowBytes), fileSize - offset))
        windowStart = offset
        return min(wanted, window.count)
    }

    enum Step {
        /// A whole valid group: its header and events with their record offsets.
        case group(LogFormat.GroupHeader, [(event: RecordedEvent, offset: Int)])
        /// Only zeros from here to the end of the file.
        case end
        /// Something that is not a whole valid group, and why.
        case invalid(String)
    }

    /// The group at `offset`, whose first position must be `expected`.
    mutating func group(at offset: Int, expected: Int64) throws -> Step {
        let available = try ensure(offset, LogFormat.groupHeaderLength)
        if available < LogFormat.groupHeaderLength {
            return try isZero(from: offset) ? .end : .invalid("a partial group header at the end of the file")
        }
        let header = window.withUnsafeBytes { raw in
            LogFormat.decodeGroupHeader(UnsafeRawBufferPointer(rebasing: raw[(offset - windowStart)...]))
        }
        guard let header else {
            return try isZero(from: offset) ? .end : .invalid("no valid group header")
        }
        guard header.firstPosition == expected else {
            return .invalid("a group starting at position \(header.firstPosition) where \(expected) belongs")
        }
        let total = LogFormat.groupHeaderLength + header.bodyLength
        guard try ensure(offset, total) == total else {
            return .invalid("a group of \(header.bodyLength) bytes that runs past the end of the file")
        }
        do {
            let events = try window.withUnsafeBytes { raw in
                try LogFormat.decodeGroupBody(header, UnsafeRawBufferPointer(rebasing: raw[(offset - windowStart)..<(offset - windowStart + total)]))
            }
            return .group(header, events.map { ($0.event, $0.offset + offset) })
        } catch let error as LogFormat.RecordProblem {
            return .invalid(error.reason)
        }
    }

    /// The group header at `offset` when its magic and checksum hold, whatever follows it.
    mutating func header(at offset: Int) throws -> LogFormat.GroupHeader? {
        guard try ensure(offset, LogFormat.groupHeaderLength) == LogFormat.groupHeaderLength else { return nil }
        return window.withUnsafeBytes { raw in
            LogFormat.decodeGroupHeader(UnsafeRawBufferPointer(rebasing: raw[(offset - windowStart)...]))
        }
    }

    /// Whether every byte from `offset` to the end of the file is zero.
    mutating func isZero(from offset: Int) throws -> Bool {
        try lastNonZero(from: offset) == nil
    }

    /// The offset just past the last non-zero byte at or after `offset`, nil when all are zero.
    mutating func lastNonZero(from offset: Int) throws -> Int? {
        var last: Int?
        var at = offset
        while at < fileSize {
            let count = try ensure(at, windowBytes)
            let start = at - windowStart
            let found = window.withUnsafeBytes { raw -> Int? in
                let bytes = UnsafeRawBufferPointer(rebasing: raw[start..<(start + count)])
                return bytes.lastIndex { $0 != 0 }
            }
            if let found { last = at + found + 1 }
            at += count
        }
        return last
    }

    /// The first whole valid group (any position) at an aligned offset in `from..<to`, if any:
    /// what a crash cannot leave behind a torn group.
    mutating func firstValidGroup(from: Int, to: Int) throws -> (offset: Int, position: Int64)? {
        var offset = LogFormat.aligned(from)
        while offset + LogFormat.groupHeaderLength <= to {
            _ = try ensure(offset, LogFormat.groupHeaderLength)
            let header = window.withUnsafeBytes { raw in
                LogFormat.decodeGroupHeader(UnsafeRawBufferPointer(rebasing: raw[(offset - windowStart)...]))
            }
            if let header, case .group = try group(at: offset, expected: header.firstPosition) {
                return (offset, header.firstPosition)
            }
            offset += LogFormat.groupAlignment
        }
        return nil
    }
}
