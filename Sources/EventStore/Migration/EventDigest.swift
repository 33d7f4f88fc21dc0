/// A running digest of a log's events in position order, the same for the old SQLite store and the
/// segmented log when they hold the same events: `prism store migrate` computes it on both sides.
///
/// 64-bit FNV-1a over each event's position, id, stream, version, type, data, metadata and
/// recorded time, every variable-length field prefixed by its length (so field boundaries count)
/// and a missing metadata kept apart from an empty one. It detects accidental differences, which is
/// all a copy needs; it is not meant to resist a forger.
public struct EventDigest: Sendable, Equatable, CustomStringConvertible {
    /// Events added.
    public private(set) var count: Int64 = 0
    /// The last position added, 0 before any.
    public private(set) var head: Int64 = 0
    /// The first place positions were not 1, 2, 3…: the position found and the one expected.
    public private(set) var firstHole: (found: Int64, expected: Int64)?
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    /// Whether positions so far are exactly 1…head.
    public var isGapFree: Bool { firstHole == nil && count == head }

    public mutating func add(_ event: RecordedEvent) {
        if firstHole == nil, event.position != head + 1 {
            firstHole = (event.position, head + 1)
        }
        count += 1
        head = event.position
        mix(UInt64(bitPattern: event.position))
        withUnsafeBytes(of: event.id.uuid) { mix($0) }
        mix(Array(event.stream.utf8))
        mix(UInt64(bitPattern: event.version))
        mix(Array(event.type.utf8))
        mix(event.data)
        if let metadata = event.metadata {
            mix(UInt64(1))
            mix(metadata)
        } else {
            mix(UInt64(0))
        }
        mix(UInt64(bitPattern: event.recordedAt))
    }

    /// `fnv1a64:0123456789abcdef`.
    public var description: String {
        let hex = String(value, radix: 16)
        return "fnv1a64:" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    public static func == (a: EventDigest, b: EventDigest) -> Bool {
        a.count == b.count && a.head == b.head && a.value == b.value
            && a.firstHole?.found == b.firstHole?.found && a.firstHole?.expected == b.firstHole?.expected
    }

    private mutating func mix(_ integer: UInt64) {
        withUnsafeBytes(of: integer.littleEndian) { mix($0) }
    }

    private mutating func mix(_ bytes: [UInt8]) {
        mix(UInt64(bytes.count))
        bytes.withUnsafeBytes { mix($0) }
    }

    private mutating func mix(_ bytes: UnsafeRawBufferPointer) {
        var hash = value
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        value = hash
    }
}
