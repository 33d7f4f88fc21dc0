#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One event as bytes: the record of the log (`docs/STORAGE.md`) and of a binary catch-up reply
/// (`docs/PROTOCOL.md` § 4), encoded and decoded here and nowhere else. Little-endian:
///
/// | 0 length u32 (whole record) | 4 checksum u32 (CRC-32C of 8..<length, the log's) | 8 position u64 |
/// 16 version u64 | 24 recordedAt i64 | 32 event id (16) | 48 stream length u16 | 50 type length u16 |
/// 52 data length u32 | 56 metadata length u32 (0xFFFFFFFF: none) | 60 stream, type, data, metadata |
///
/// The checksum is the log's to write and check; decoding here checks only that the lengths
/// hold together, so a malformed record is refused, never trusted.
public enum EventRecord {
    public static let headerLength = 60
    public static let noMetadata: UInt32 = 0xFFFF_FFFF
    public static let checksumOffset = 4

    /// Why the bytes at hand are not a record.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var reason: String
        public init(reason: String) { self.reason = reason }
        public var description: String { reason }
    }

    /// The length of `event`'s record in bytes.
    public static func length(of event: RecordedEvent) -> Int {
        headerLength + event.stream.utf8.count + event.type.utf8.count + event.data.count + (event.metadata?.count ?? 0)
    }

    /// Appends the record of `event` to `bytes`, its checksum field 0.
    public static func append(_ event: RecordedEvent, to bytes: inout [UInt8]) {
        let stream = event.stream.utf8, type = event.type.utf8
        append(UInt32(length(of: event)), to: &bytes)
        append(UInt32(0), to: &bytes)
        append(UInt64(bitPattern: event.position), to: &bytes)
        append(UInt64(bitPattern: event.version), to: &bytes)
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
    }

    /// The length of the record at the start of `raw`, checked to fit in `raw`.
    public static func length(_ raw: UnsafeRawBufferPointer) throws(Problem) -> Int {
        guard raw.count >= headerLength else { throw Problem(reason: "record header cut short (\(raw.count) bytes)") }
        let length = Int(raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self).littleEndian)
        guard length >= headerLength, length <= raw.count else {
            throw Problem(reason: "record length \(length) outside \(headerLength)...\(raw.count)")
        }
        return length
    }

    /// The position of the record at the start of `raw` (at least a header's worth of bytes).
    public static func position(_ raw: UnsafeRawBufferPointer) -> Int64 {
        Int64(bitPattern: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian)
    }

    /// The stream and type bytes of a record whose length is checked, for filtering without
    /// decoding; nil when they do not fit in it.
    public static func streamAndType(_ raw: UnsafeRawBufferPointer, length: Int) -> (stream: UnsafeRawBufferPointer, type: UnsafeRawBufferPointer)? {
        let streamLength = Int(raw.loadUnaligned(fromByteOffset: 48, as: UInt16.self).littleEndian)
        let typeLength = Int(raw.loadUnaligned(fromByteOffset: 50, as: UInt16.self).littleEndian)
        let typeEnd = headerLength + streamLength + typeLength
        guard typeEnd <= length else { return nil }
        return (UnsafeRawBufferPointer(rebasing: raw[headerLength..<(headerLength + streamLength)]),
                UnsafeRawBufferPointer(rebasing: raw[(headerLength + streamLength)..<typeEnd]))
    }

    /// Decodes the record at the start of `raw` (its checksum is not checked).
    /// - Returns: the event and the record's length in bytes.
    /// - Throws: `Problem` when the bytes are cut short or their lengths do not add up.
    public static func decode(_ raw: UnsafeRawBufferPointer) throws(Problem) -> (event: RecordedEvent, length: Int) {
        let length = try length(raw)
        let streamLength = Int(raw.loadUnaligned(fromByteOffset: 48, as: UInt16.self).littleEndian)
        let typeLength = Int(raw.loadUnaligned(fromByteOffset: 50, as: UInt16.self).littleEndian)
        let dataLength = Int(raw.loadUnaligned(fromByteOffset: 52, as: UInt32.self).littleEndian)
        let metadataField = raw.loadUnaligned(fromByteOffset: 56, as: UInt32.self).littleEndian
        let metadataLength = metadataField == noMetadata ? 0 : Int(metadataField)
        guard headerLength + streamLength + typeLength + dataLength + metadataLength == length else {
            throw Problem(reason: "record field lengths do not add up to its length \(length)")
        }
        var offset = headerLength
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
            id: UUID(uuid: id), position: position(raw), stream: stream,
            version: Int64(bitPattern: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian),
            type: type, data: data, metadata: metadata,
            recordedAt: Int64(bitPattern: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self).littleEndian))
        return (event, length)
    }

    /// Decodes `count` records laid end to end that fill `bytes` exactly.
    /// - Throws: `Problem` naming the record (its index and byte offset) that is not whole, or
    ///   the count or length that does not match.
    public static func decodeAll(_ bytes: [UInt8], count: Int) throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        // A count from elsewhere must not make us reserve more than the bytes can hold.
        events.reserveCapacity(min(count, bytes.count / headerLength))
        var offset = 0
        try bytes.withUnsafeBytes { raw in
            while offset < raw.count {
                guard events.count < count else {
                    throw Problem(reason: "\(raw.count - offset) bytes follow the \(count) records announced")
                }
                do {
                    let (event, length) = try decode(UnsafeRawBufferPointer(rebasing: raw[offset...]))
                    events.append(event)
                    offset += length
                } catch {
                    throw Problem(reason: "record \(events.count) at byte \(offset): \(error)")
                }
            }
        }
        guard events.count == count else { throw Problem(reason: "\(events.count) records where \(count) were announced") }
        return events
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}
