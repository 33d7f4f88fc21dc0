#if canImport(FoundationEssentials)
import FoundationEssentials  // UUID only: the small core of Foundation, without ICU
#else
import Foundation
#endif

extension UUID {
    /// A version 7 UUID (RFC 9562): 48 bits of Unix milliseconds, then random bits.
    ///
    /// Ids minted by the write node are time-ordered so that inserts into the store's unique
    /// index on `event_id` land on the same few B-tree pages instead of a random page each,
    /// which is most of an append's WAL traffic with random (version 4) ids.
    public static func timeOrdered() -> UUID {
        let milliseconds = UInt64(wallClockNanoseconds() / 1_000_000)
        var random = SystemRandomNumberGenerator()
        let high = random.next() as UInt64
        let low = random.next() as UInt64
        var raw: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &raw) { bytes in
            for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: milliseconds >> (8 * (5 - index))) }
            bytes[6] = 0x70 | UInt8(truncatingIfNeeded: high & 0x0F)  // version 7
            bytes[7] = UInt8(truncatingIfNeeded: high >> 8)
            bytes[8] = 0x80 | UInt8(truncatingIfNeeded: (high >> 16) & 0x3F)  // RFC 4122 variant
            for index in 9..<16 { bytes[index] = UInt8(truncatingIfNeeded: low >> (8 * (index - 9))) }
        }
        return UUID(uuid: raw)
    }
}
