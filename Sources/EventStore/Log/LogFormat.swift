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
            return Int64(raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian)
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

    /// | 0 length u32 (whole record) | 4 CRC-32C of 8..<length u32 | 8 position u64 | 16 version u64 |
    /// 24 recordedAt i64 | 32 event id (16) | 48 stream length u16 | 50 type length u16 |
    /// 52 data length u32 | 56 metadata length u32 (0xFFFFFFFF: none) | 60 stream, type, data, metadata |
    static let recordHeaderLength = 60
    static let noMetadata: UInt32 = 0xFFFF_FFFF

    /// The length of `event`'s record in bytes.
    static func recordLength(_ event: RecordedEvent) -> Int {
        recordHeaderLength + event.stream.utf8.count + event.type.utf8.count + event.data.count + (event.metadata?.count ?? 0)
    }

    /// Appends one record for `event` to `bytes`.
    static func appendRecord(_ event: RecordedEvent, to bytes: inout [UInt8]) {
        let start = bytes.count
        let stream = event.stream.utf8, type = event.type.utf8
        let length = recordLength(event)
        append(UInt32(length), to: &bytes)
        append(UInt32(0), to: &bytes)  // checksum, filled in below
        append(UInt64(event.position), to: &bytes)
        append(UInt64(event.version), to: &bytes)
        append(UInt64(bitPattern: event.recordedAt), to: &bytes)
        withUnsafeBytes(of: event.id.uuid) { bytes.append(contentsOf: $0) }
        append(UInt16(stream.count), to: &bytes)
        append(UInt16(type.count), to: &bytes)
        append(UInt32(event.data.count), to: &bytes)
        append(event.metadata.map { UInt32($0.count) } ?? noMetadata, to: &bytes)
        bytes.append(contentsOf: stream)
        bytes.append(contentsOf: type)
        bytes.append(contentsOf: event.data)
        if let metadata = event.metadata { bytes.append(contentsOf: metadata) }
        let checksum = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[(start + 8)...])) }
        withUnsafeBytes(of: checksum.littleEndian) { value in
            bytes.withUnsafeMutableBytes { $0.baseAddress!.advanced(by: start + 4).copyMemory(from: value.baseAddress!, byteCount: 4) }
        }
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

    /// Why the record at the start of `raw` is invalid.
    struct RecordProblem: Error { var reason: String }

    /// Decodes the record at the start of `raw`, checking its length and checksum.
    /// - Returns: the event and the record's length in bytes.
    static func decodeRecord(_ raw: UnsafeRawBufferPointer) throws -> (RecordedEvent, Int) {
        guard raw.count >= recordHeaderLength else { throw RecordProblem(reason: "record header cut short (\(raw.count) bytes)") }
        let length = Int(raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self).littleEndian)
        guard length >= recordHeaderLength, length <= raw.count else {
            throw RecordProblem(reason: "record length \(length) outside \(recordHeaderLength)...\(raw.count)")
        }
        let stored = raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[8..<length])) == stored else {
            throw RecordProblem(reason: "record checksum mismatch")
        }
        let streamLength = Int(raw.loadUnaligned(fromByteOffset: 48, as: UInt16.self).littleEndian)
        let typeLength = Int(raw.loadUnaligned(fromByteOffset: 50, as: UInt16.self).littleEndian)
        let dataLength = Int(raw.loadUnaligned(fromByteOffset: 52, as: UInt32.self).littleEndian)
        let metadataField = raw.loadUnaligned(fromByteOffset: 56, as: UInt32.self).littleEndian
        let metadataLength = metadataField == noMetadata ? 0 : Int(metadataField)
        guard recordHeaderLength + streamLength + typeLength + dataLength + metadataLength == length else {
            throw RecordProblem(reason: "record field lengths do not add up to its length \(length)")
        }
        var offset = recordHeaderLength
        func take(_ count: Int) -> UnsafeRawBufferPointer {
            defer { offset += count }
            return UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + count)])
        }
        var id: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &id) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[32..<48])) }
        let stream = String(decoding: take(streamLength), as: UTF8.self)
        let type = String(decoding: take(typeLength), as: UTF8.self)
        let data = [UInt8](take(dataLength))
        let metadata = metadataField == noMetadata ? nil : [UInt8](take(metadataLength))
        let event = RecordedEvent(
            id: UUID(uuid: id),
            position: Int64(bitPattern: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian),
            stream: stream,
            version: Int64(bitPattern: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian),
            type: type, data: data, metadata: metadata,
            recordedAt: Int64(bitPattern: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self).littleEndian))
        return (event, length)
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
