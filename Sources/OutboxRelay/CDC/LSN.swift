/// A position in PostgreSQL's write-ahead log (`pg_lsn`), written `16/B374D848`: the high and
/// low 32 bits in hexadecimal.
public struct LSN: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var value: UInt64

    public init(_ value: UInt64) { self.value = value }

    /// Parses PostgreSQL's text form; nil when `text` is not `hex/hex`.
    public init?(_ text: some StringProtocol) {
        let parts = String(text).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let high = UInt32(parts[0], radix: 16), let low = UInt32(parts[1], radix: 16) else { return nil }
        value = UInt64(high) << 32 | UInt64(low)
    }

    public var description: String {
        String(value >> 32, radix: 16, uppercase: true) + "/" + String(value & 0xFFFF_FFFF, radix: 16, uppercase: true)
    }

    public static func < (left: LSN, right: LSN) -> Bool { left.value < right.value }
}
