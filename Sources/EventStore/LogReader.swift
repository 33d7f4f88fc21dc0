/// A read-only view of a data directory's log, for tools (`prism store dump`, `backup`, `migrate`)
/// and tests: no lock is taken and nothing is changed, so it may run beside a write node. It sees
/// the whole valid groups on disk when it opens (a group being written is left out).
public final class LogReader: @unchecked Sendable {
    public let directory: String
    private let loaded: LogLoader.Loaded
    /// Every valid group, in order.
    public let groups: [GroupSpan]
    private let fileSystem: any LogFileSystem

    /// - Throws: `.damaged` for damage a crash cannot cause; `.io` when the directory cannot be read.
    public init(directory: String) throws {
        self.directory = directory
        fileSystem = POSIXFileSystem()
        var groups: [GroupSpan] = []
        loaded = try LogLoader(directory: directory, fileSystem: fileSystem, readOnly: true).load(from: nil) { group in
            groups.append(GroupSpan(
                segment: directory + "/" + LogSegment.name(firstPosition: group.location.segment),
                offset: group.location.offset, end: group.end, firstPosition: group.firstPosition, lastPosition: group.lastPosition))
        }
        self.groups = groups
    }

    /// Where one group lies: its segment file, its bytes `offset..<end`, and its positions.
    public struct GroupSpan: Sendable, Equatable {
        public var segment: String
        public var offset: Int
        public var end: Int
        public var firstPosition: Int64
        public var lastPosition: Int64
    }

    deinit { loaded.segments.forEach { $0.file.close() } }

    /// The last valid position, 0 for an empty log.
    public var headPosition: Int64 { loaded.head }

    /// Segment files in order, each with how many of its bytes hold whole valid groups
    /// (for the last one, up to the end of its last valid group).
    public var segments: [(path: String, firstPosition: Int64, validBytes: Int)] {
        loaded.segments.enumerated().map { index, segment in
            let isLast = index == loaded.segments.count - 1
            let size = (try? segment.file.size()) ?? 0
            return (segment.path, segment.firstPosition, isLast ? loaded.end.offset : size)
        }
    }

    /// Calls `body` with every event from position `from` on, in order, until it returns false.
    public func forEach(from position: Int64 = 1, _ body: (RecordedEvent) throws -> Bool) throws {
        var stop = false
        _ = try LogLoader(directory: directory, fileSystem: fileSystem, readOnly: true).load(from: nil) { group in
            guard !stop, group.lastPosition >= position else { return }
            for event in group.events where event.position >= position {
                if try !body(event) {
                    stop = true
                    return
                }
            }
        }
    }
}
