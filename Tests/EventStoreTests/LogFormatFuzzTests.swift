@testable import EventStore
import Foundation
import TestSupport
import Testing

/// The one decoder of the log format, fuzzed deterministically: random bytes and mutated valid
/// groups (some with their checksums recomputed, so the checks behind them are reached too) never
/// crash it, and whatever it accepts is self-consistent.
@Suite struct LogFormatFuzzTests {
    /// Decodes `bytes` every way a reader does; returns the events of a group it accepts.
    @discardableResult
    static func decodeEverything(_ bytes: [UInt8]) -> [RecordedEvent]? {
        bytes.withUnsafeBytes { raw in
            _ = try? LogFormat.decodeRecord(raw)
            if raw.count > LogFormat.groupHeaderLength {
                _ = try? LogFormat.decodeRecord(UnsafeRawBufferPointer(rebasing: raw[LogFormat.groupHeaderLength...]))
            }
            guard let header = LogFormat.decodeGroupHeader(raw) else { return nil }
            guard let events = try? LogFormat.decodeGroupBody(header, raw) else { return nil }
            #expect(events.count == header.count)
            #expect(events.map(\.event.position) == (0..<header.count).map { header.firstPosition + Int64($0) })
            return events.map(\.event)
        }
    }

    static func randomEvents(_ random: inout SeededGenerator) -> [RecordedEvent] {
        let first = Int64.random(in: 1...1_000_000, using: &random)
        return (0..<Int.random(in: 1...5, using: &random)).map { index in
            RecordedEvent(
                id: UUID(), position: first + Int64(index),
                stream: "s-" + String(repeating: "x", count: Int.random(in: 0...40, using: &random)),
                version: Int64.random(in: 0...1000, using: &random),
                type: String(repeating: "T", count: Int.random(in: 1...30, using: &random)),
                data: (0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) },
                metadata: Bool.random(using: &random) ? nil : Array("{}".utf8),
                recordedAt: Int64.random(in: 0...Int64.max, using: &random))
        }
    }

    @Test func validGroupsRoundTrip() throws {
        var random = SeededGenerator(seed: 7)
        for _ in 0..<500 {
            let events = Self.randomEvents(&random)
            let (bytes, offsets) = LogFormat.group(events)
            #expect(bytes.count % LogFormat.groupAlignment == 0)
            #expect(Self.decodeEverything(bytes) == events)
            let header = try #require(bytes.withUnsafeBytes { LogFormat.decodeGroupHeader($0) })
            #expect(header.totalLength == bytes.count)
            let decoded = try bytes.withUnsafeBytes { try LogFormat.decodeGroupBody(header, $0) }
            #expect(decoded.map(\.offset) == offsets)
        }
    }

    @Test func randomBytesNeverCrashTheDecoder() {
        var random = SeededGenerator(seed: 1)
        var accepted = 0
        for iteration in 0..<20_000 {
            var bytes = (0..<Int.random(in: 0...600, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            // Half of them start with a group magic and a valid header checksum, to get past it.
            if iteration % 2 == 0, bytes.count >= LogFormat.groupHeaderLength {
                Self.put(LogFormat.groupMagic, in: &bytes, at: 0)
                Self.fixHeaderChecksum(&bytes)
            }
            if Self.decodeEverything(bytes) != nil { accepted += 1 }
        }
        #expect(accepted == 0)
    }

    @Test func mutatedGroupsNeverCrashTheDecoder() {
        var random = SeededGenerator(seed: 2)
        var rejected = 0
        for iteration in 0..<20_000 {
            let events = Self.randomEvents(&random)
            var (bytes, offsets) = LogFormat.group(events)
            switch iteration % 4 {
            case 0:
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] ^= UInt8(1 << Int.random(in: 0..<8, using: &random))
                }
            case 1:
                bytes.removeLast(Int.random(in: 1...bytes.count, using: &random))
            case 2:
                // A header field set to an extreme value, with the header checksum made valid again.
                let field = [4, 8, 16].randomElement(using: &random)!
                let value: UInt64 = [0, 1, 0x7FFF_FFFF, 0xFFFF_FFFF, UInt64(Int64.max), UInt64(Int64.max) - 1, UInt64.max].randomElement(using: &random)!
                if field == 8 { Self.put(value, in: &bytes, at: field) } else { Self.put(UInt32(truncatingIfNeeded: value), in: &bytes, at: field) }
                Self.fixHeaderChecksum(&bytes)
            default:
                // A record field (length, position, a field length) changed, with every checksum
                // made valid again, so the record and group checks behind them run.
                let record = offsets.randomElement(using: &random)!
                let field = [0, 8, 48, 50, 52, 56].randomElement(using: &random)!
                let value: UInt64 = [0, 1, 59, 60, 61, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF, UInt64(Int64.max), UInt64.max].randomElement(using: &random)!
                switch field {
                case 8: Self.put(value, in: &bytes, at: record + field)
                case 48, 50: Self.put(UInt16(truncatingIfNeeded: value), in: &bytes, at: record + field)
                default: Self.put(UInt32(truncatingIfNeeded: value), in: &bytes, at: record + field)
                }
                offsets = offsets.filter { $0 + LogFormat.recordHeaderLength <= bytes.count }
                Self.fixChecksums(&bytes, records: offsets)
            }
            if let decoded = Self.decodeEverything(bytes) {
                #expect(decoded.count == events.count)
            } else {
                rejected += 1
            }
        }
        #expect(rejected > 15_000)
    }

    static func group(positions: [Int64]) -> [UInt8] {
        LogFormat.group(positions.map { position in
            RecordedEvent(id: UUID(), position: position, stream: "s-1", version: 0, type: "T", data: [], metadata: nil, recordedAt: 0)
        }).bytes
    }

    /// Groups at the very end of the position range, all checksums valid: rejected, never an
    /// overflow trap (the position after a group must exist).
    @Test func positionsAtTheEndOfTheRangeAreRejected() {
        #expect(Self.decodeEverything(Self.group(positions: [.max, .max, .max])) == nil)
        #expect(Self.decodeEverything(Self.group(positions: [.max - 2, .max - 1, .max])) == nil)
        #expect(Self.decodeEverything(Self.group(positions: [.max])) == nil)
        #expect(Self.decodeEverything(Self.group(positions: [.max - 2, .max - 1]))?.count == 2)
    }

    /// Found by `scripts/fuzz log-format`: a segment header whose checksum holds but whose first
    /// position is past `Int64.max` trapped converting it; it is damage, refused like any other.
    @Test func segmentHeaderPastTheLargestPositionIsDamaged() throws {
        var header = Array("PRISMLOG".utf8) + [1, 0, 0, 0, 64, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0xB3] + [UInt8](repeating: 0, count: 36)
        header += withUnsafeBytes(of: CRC32C.checksum(header).littleEndian, Array.init)
        let error = #expect(throws: EventStoreError.self) { try LogFormat.decodeSegmentHeader(header, path: "crafted.segment") }
        #expect(error?.code == .damaged)
        #expect(try LogFormat.decodeSegmentHeader(LogFormat.segmentHeader(firstPosition: .max), path: "last.segment") == .max)
    }

    // MARK: - Helpers

    static func put<T: FixedWidthInteger>(_ value: T, in bytes: inout [UInt8], at offset: Int) {
        guard offset + MemoryLayout<T>.size <= bytes.count else { return }
        withUnsafeBytes(of: value.littleEndian) { value in
            for (index, byte) in value.enumerated() { bytes[offset + index] = byte }
        }
    }

    static func fixHeaderChecksum(_ bytes: inout [UInt8]) {
        guard bytes.count >= LogFormat.groupHeaderLength else { return }
        put(CRC32C.checksum(Array(bytes[0..<28])), in: &bytes, at: 28)
    }

    /// Recomputes each record's checksum (as far as its length field reaches), the body's, and the header's.
    static func fixChecksums(_ bytes: inout [UInt8], records: [Int]) {
        for record in records {
            let length = Int(bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: record, as: UInt32.self).littleEndian })
            guard length >= 8, record + length <= bytes.count else { continue }
            put(CRC32C.checksum(Array(bytes[(record + 8)..<(record + length)])), in: &bytes, at: record + 4)
        }
        let bodyLength = Int(bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian })
        if LogFormat.groupHeaderLength + bodyLength <= bytes.count {
            put(CRC32C.checksum(Array(bytes[LogFormat.groupHeaderLength..<(LogFormat.groupHeaderLength + bodyLength)])), in: &bytes, at: 20)
        }
        fixHeaderChecksum(&bytes)
    }
}
