import Foundation

/// The on-disk format of the log, encoded and decoded here and nowhere else
/// (`docs/STORAGE.md` has the same tables). All integers are little-endian.
///
/// A segment file is a 64-byte header, then groups at 8-byte-aligned offsets, then zeros to the
/// end of the preallocated file. A group is one `fdatasync`'s worth of events: a 32-byte header
/// with the body's length and checksum, then the records, then zero padding to 8 bytes. Each
/// record carries its own checksum too, so one record can be read and checked alone (a reader
/// that follows the index reads single records, not whole groups).
enum LogFormat {
    /// The format version this build writes and reads.
    static let version: UInt32 = 1

    // MARK: - Segment header

    /// `PRISMLOG`.
    static let segmentMagic: [UInt8] = Array("PRISMLOG".utf8)
    /// | 0 magic (8) | 8 version u32 | 12 header length u32 | 16 first position u64 | 24 zeros (36) | 60 CRC-32C of 0..<60 u32 |
    static let segmentHeaderLength = 64

    static func segmentHeader(firstPosition: Int64) -> [UInt8] {
        var bytes = segmentMagic
        bytes.reserveCapacity(segmentHeaderLength)
        append(version, to: &bytes)
        append(UInt32(segmentHeaderLength), to: &bytes)
        append(UInt64(firstPosition), to: &bytes)
        bytes.append(contentsOf: repeatElement(0, count: 36))
        append(CRC32C.checksum(bytes), to: &bytes)
        return bytes
    }

    /// The first position a segment header names.
    /// - Throws: `.damaged` for a file that is not a segment or whose header is corrupt;
    ///   a newer format version is refused with its number.
    static func decodeSegmentHeader(_ bytes: [UInt8], path: String) throws -> Int64 {
        guard bytes.count >= segmentHeaderLength, Array(bytes[0..<8]) == segmentMagic else {
            throw EventStoreError(.damaged, "\(path) is not a Prism log segment (no PRISMLOG header)")
        }
        return try bytes.withUnsafeBytes { raw in
            let version = raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian
            guard version == LogFormat.version else {
                throw EventStoreError(.damaged, "\(path) has log format version \(version); this build reads only version \(LogFormat.version)")
            }
            let stored = raw.loadUnaligned(fromByteOffset: 60, as: UInt32.self).littleEndian
            guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<60])) == stored else {
                throw EventStoreError(.damaged, "\(path): segment header checksum mismatch")
            }
            // A position past Int64.max (a header whose checksum holds over garbage) is damage,
            // not a trap.
            let first = raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian
            guard let position = Int64(exactly: first) else {
                throw EventStoreError(.damaged, "\(path): segment header names position \(first), past the largest")
            }
            return position
        }
    }

    // MARK: - Group header

    /// `PGRP` as a little-endian u32.
    static let groupMagic: UInt32 = 0x5052_4750
    /// | 0 magic u32 | 4 body length u32 | 8 first position u64 | 16 event count u32 | 20 body CRC-32C u32 | 24 zero u32 | 28 CRC-32C of 0..<28 u32 |
    static let groupHeaderLength = 32
    /// Groups start at multiples of this.
    static let groupAlignment = 8

    struct GroupHeader: Equatable {
        var bodyLength: Int
        var firstPosition: Int64
        var count: Int
        var bodyChecksum: UInt32

        /// Header, body and padding.
        var totalLength: Int { LogFormat.aligned(LogFormat.groupHeaderLength + bodyLength) }
    }

    static func aligned(_ length: Int) -> Int {
        (length + groupAlignment - 1) / groupAlignment * groupAlignment
    }

    /// The header of a group at the start of `raw`, or nil when its magic or checksum is wrong
    /// (zeros, a torn write, garbage).
    static func decodeGroupHeader(_ raw: UnsafeRawBufferPointer) -> GroupHeader? {
        guard raw.count >= groupHeaderLength,
              raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self).littleEndian == groupMagic
        else { return nil }
        let stored = raw.loadUnaligned(fromByteOffset: 28, as: UInt32.self).littleEndian
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<28])) == stored else { return nil }
        let position = Int64(bitPattern: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian)
        let count = Int(raw.loadUnaligned(fromByteOffset: 16, as: UInt32.self).littleEndian)
        let bodyLength = Int(raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian)
        // The position after the group must exist (readers compute it), and every record takes at
        // least a record header: a crafted header must not make a reader trap or reserve gigabytes.
        guard position >= 1, count >= 1, position <= Int64.max - Int64(count), count <= bodyLength / recordHeaderLength else { return nil }
        return GroupHeader(
            bodyLength: bodyLength,
            firstPosition: position, count: count,
            bodyChecksum: raw.loadUnaligned(fromByteOffset: 20, as: UInt32.self).littleEndian)
    }

    // MARK: - Records

    /// A record is an `EventRecord` (its layout is there), whose checksum field holds the
    /// CRC-32C of its bytes from offset 8 on, so one record can be read and checked alone.
    static let recordHeaderLength = EventRecord.headerLength

    /// The length of `event`'s record in bytes.
    static func recordLength(_ event: RecordedEvent) -> Int { EventRecord.length(of: event) }

    /// Appends one record for `event` to `bytes`.
    static func appendRecord(_ event: RecordedEvent, to bytes: inout [UInt8]) {
        let start = bytes.count
        EventRecord.append(event, to: &bytes)
        let checksum = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[(start + 8)...])) }
        withUnsafeBytes(of: checksum.littleEndian) { value in
            bytes.withUnsafeMutableBytes {
                $0.baseAddress!.advanced(by: start + EventRecord.checksumOffset).copyMemory(from: value.baseAddress!, byteCount: 4)
            }
        }
    }

    /// Why the record at the start of `raw` is invalid.
    typealias RecordProblem = EventRecord.Problem

    /// Decodes the record at the start of `raw`, checking its length and checksum.
    /// - Returns: the event and the record's length in bytes.
    static func decodeRecord(_ raw: UnsafeRawBufferPointer) throws -> (RecordedEvent, Int) {
        let length = try EventRecord.length(raw)
        let stored = raw.loadUnaligned(fromByteOffset: EventRecord.checksumOffset, as: UInt32.self).littleEndian
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[8..<length])) == stored else {
            throw RecordProblem(reason: "record checksum mismatch")
        }
        return try EventRecord.decode(raw)
    }

    /// A group of already-positioned events: header, records, padding; and each record's offset in it.
    static func group(_ events: [RecordedEvent]) -> (bytes: [UInt8], recordOffsets: [Int]) {
        var bytes = [UInt8](repeating: 0, count: groupHeaderLength)
        var offsets: [Int] = []
        offsets.reserveCapacity(events.count)
        for event in events {
            offsets.append(bytes.count)
            appendRecord(event, to: &bytes)
        }
        let bodyLength = bytes.count - groupHeaderLength
        bytes.append(contentsOf: repeatElement(0, count: aligned(bytes.count) - bytes.count))
        var header: [UInt8] = []
        header.reserveCapacity(groupHeaderLength)
        append(groupMagic, to: &header)
        append(UInt32(bodyLength), to: &header)
        append(UInt64(events.first!.position), to: &header)
        append(UInt32(events.count), to: &header)
        append(bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[groupHeaderLength..<(groupHeaderLength + bodyLength)])) }, to: &header)
        append(UInt32(0), to: &header)
        append(CRC32C.checksum(header), to: &header)
        bytes.replaceSubrange(0..<groupHeaderLength, with: header)
        return (bytes, offsets)
    }

    /// The events of a group whose header is `header` and whose bytes (header included) start `raw`,
    /// or why it is not a whole valid group.
    static func decodeGroupBody(_ header: GroupHeader, _ raw: UnsafeRawBufferPointer) throws -> [(event: RecordedEvent, offset: Int)] {
        let end = groupHeaderLength + header.bodyLength
        guard end <= raw.count else { throw RecordProblem(reason: "group of \(header.bodyLength) bytes runs past the end of the file") }
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[groupHeaderLength..<end])) == header.bodyChecksum else {
            throw RecordProblem(reason: "group checksum mismatch")
        }
        var events: [(event: RecordedEvent, offset: Int)] = []
        events.reserveCapacity(header.count)
        var offset = groupHeaderLength
        while offset < end {
            let (event, length) = try decodeRecord(UnsafeRawBufferPointer(rebasing: raw[offset..<end]))
            guard event.position == header.firstPosition + Int64(events.count) else {
                throw RecordProblem(reason: "record at position \(event.position) where \(header.firstPosition + Int64(events.count)) belongs")
            }
            events.append((event, offset))
            offset += length
        }
        guard events.count == header.count else {
            throw RecordProblem(reason: "group holds \(events.count) records, its header says \(header.count)")
        }
        return events
    }

    // MARK: - Helpers

    static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}
