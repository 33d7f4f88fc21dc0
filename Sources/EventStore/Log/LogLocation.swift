/// Where something is in the log: a segment (named by its first position) and a byte offset in it.
public struct LogLocation: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var segment: Int64
    public var offset: Int

    public init(segment: Int64, offset: Int) {
        self.segment = segment
        self.offset = offset
    }

    public static func < (a: LogLocation, b: LogLocation) -> Bool {
        (a.segment, a.offset) < (b.segment, b.offset)
    }

    public var description: String { "segment \(LogSegment.name(firstPosition: segment)) offset \(offset)" }
}
