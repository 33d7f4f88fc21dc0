/// Durable events as their records (`EventRecord`), laid end to end as the log stores them:
/// what a binary catch-up reply sends on without decoding.
public struct EventRecords: Sendable {
    public private(set) var bytes: [UInt8] = []
    public private(set) var count = 0
    /// The position of the last record, nil when there is none.
    public private(set) var lastPosition: Int64?
    let limit: Int
    let maxBytes: Int

    init(limit: Int, maxBytes: Int) {
        self.limit = limit
        self.maxBytes = maxBytes
    }

    /// Whether the read stopped at its limit or its size rather than at the head.
    public var isFull: Bool { count >= limit || bytes.count >= maxBytes }

    /// Appends the record of an event held in memory.
    mutating func append(_ event: RecordedEvent) {
        LogFormat.appendRecord(event, to: &bytes)
        count += 1
        lastPosition = event.position
    }

    /// Appends the records of a checked group with position > `from` that `matcher` keeps, until full.
    /// - Throws: `LogFormat.RecordProblem` when a record of the group is not whole or out of place.
    mutating func take(_ group: CheckedGroup, after from: Int64, matching matcher: EventFilter.ByteMatcher) throws {
        let raw = group.bytes
        var offset = LogFormat.groupHeaderLength
        var expected = group.header.firstPosition
        if group.resume.position <= from + 1 {
            (expected, offset) = group.resume
        }
        defer { group.resume = (expected, offset) }
        while offset < raw.count && !isFull {
            let record = UnsafeRawBufferPointer(rebasing: raw[offset...])
            let length = try EventRecord.length(record)
            let position = EventRecord.position(record)
            guard position == expected else {
                throw LogFormat.RecordProblem(reason: "record at position \(position) where \(expected) belongs")
            }
            if position > from {
                guard let (stream, type) = EventRecord.streamAndType(record, length: length) else {
                    throw LogFormat.RecordProblem(reason: "record at position \(position): its stream and type do not fit in its \(length) bytes")
                }
                if matcher.matchesAll || matcher.matches(stream: stream, type: type) {
                    bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: record[..<length]))
                    count += 1
                    lastPosition = position
                }
            }
            expected += 1
            offset += length
        }
        if offset >= raw.count, expected != group.header.firstPosition + Int64(group.header.count) {
            throw LogFormat.RecordProblem(reason: "group holds \(expected - group.header.firstPosition) records, its header says \(group.header.count)")
        }
    }
}
