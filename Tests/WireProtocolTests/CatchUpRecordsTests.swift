import Foundation
import TestSupport
import Testing
import WireProtocol

/// The records frame of a binary catch-up reply comes from the network: its decoder must return
/// exactly what was encoded, and refuse (never trap on, never over-allocate for) anything else.
@Suite struct CatchUpRecordsTests {
    static func events(_ count: Int, _ random: inout SeededGenerator) -> [RecordedEvent] {
        (0..<count).map { index in
            let data = (0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8.random(in: 32...126, using: &random) }
            return RecordedEvent(
                id: UUID(), position: Int64(index + 1), stream: "order-\(Int.random(in: 0...1_000_000, using: &random))",
                version: Int64.random(in: 0...1 << 40, using: &random), type: index % 2 == 0 ? "OrderCreated" : "Ä-type",
                data: data, metadata: Bool.random(using: &random) ? nil : Array(#"{"by":"\#(index)"}"#.utf8),
                recordedAt: Int64.random(in: 0...Int64.max, using: &random))
        }
    }

    static func encode(_ events: [RecordedEvent]) -> [UInt8] {
        var bytes: [UInt8] = []
        for event in events { EventRecord.append(event, to: &bytes) }
        return bytes
    }

    @Test(arguments: [0, 1, 2, 50])
    func recordsRoundTrip(count: Int) throws {
        var random = SeededGenerator(seed: UInt64(count))
        let events = Self.events(count, &random)
        let bytes = Self.encode(events)
        #expect(bytes.count == events.map(EventRecord.length(of:)).reduce(0, +))
        #expect(try CatchUp.decodeRecords(bytes, count: count) == events)
    }

    @Test func theLayoutIsTheDocumentedStruct() throws {
        // `<IIQQq16sHHII` then stream, type, data, metadata (docs/PROTOCOL.md § 4).
        let event = RecordedEvent(
            id: UUID(uuidString: "00010203-0405-0607-0809-0A0B0C0D0E0F")!, position: 0x0102, stream: "a-1", version: 3,
            type: "T", data: Array("{}".utf8), metadata: nil, recordedAt: -1)
        let bytes = Self.encode([event])
        #expect(bytes.count == 60 + 3 + 1 + 2)
        #expect(Array(bytes[0..<4]) == [66, 0, 0, 0])
        #expect(Array(bytes[8..<16]) == [2, 1, 0, 0, 0, 0, 0, 0])
        #expect(Array(bytes[16..<24]) == [3, 0, 0, 0, 0, 0, 0, 0])
        #expect(Array(bytes[24..<32]) == [UInt8](repeating: 0xFF, count: 8))
        #expect(Array(bytes[32..<48]) == Array(0...15))
        #expect(Array(bytes[48..<60]) == [3, 0, 1, 0, 2, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(Array(bytes[60...]) == Array("a-1T{}".utf8))
    }

    @Test func everyTruncationIsRefused() throws {
        var random = SeededGenerator(seed: 7)
        let bytes = Self.encode(Self.events(3, &random))
        for length in 0..<bytes.count {
            #expect(throws: WireError.self, "cut at \(length) of \(bytes.count)") {
                try CatchUp.decodeRecords(Array(bytes[..<length]), count: 3)
            }
        }
    }

    @Test func aWrongCountOrTrailingBytesAreRefusedPrecisely() throws {
        var random = SeededGenerator(seed: 11)
        let events = Self.events(2, &random)
        let bytes = Self.encode(events)
        #expect(throws: WireError(.malformed, "catch-up records: 2 records where 3 were announced")) {
            try CatchUp.decodeRecords(bytes, count: 3)
        }
        #expect(throws: WireError(.malformed, "catch-up records: \(EventRecord.length(of: events[1])) bytes follow the 1 records announced")) {
            try CatchUp.decodeRecords(bytes, count: 1)
        }
        #expect(throws: WireError(.malformed, "catch-up records: record 0 at byte 0: record header cut short (5 bytes)")) {
            try CatchUp.decodeRecords([1, 2, 3, 4, 5], count: 1)
        }
        // A count far beyond what the bytes can hold reserves nothing for it.
        #expect(throws: WireError.self) { try CatchUp.decodeRecords([], count: Int.max) }
    }

    /// Random damage anywhere: each decode either throws `WireError` or returns whole events.
    @Test func randomDamageNeverTraps() throws {
        var random = SeededGenerator(seed: 2026)
        let events = Self.events(20, &random)
        let bytes = Self.encode(events)
        for round in 0..<5000 {
            var damaged = bytes
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                damaged[Int.random(in: 0..<damaged.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            if round % 7 == 0 { damaged.removeLast(Int.random(in: 0..<damaged.count, using: &random)) }
            do {
                let decoded = try CatchUp.decodeRecords(damaged, count: 20)
                #expect(decoded.count == 20)
            } catch {
                #expect(error.code == .malformed)
            }
        }
    }
}
