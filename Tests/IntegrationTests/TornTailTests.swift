import EventStore
import Foundation
import TestSupport
import Testing
import WireProtocol

/// Torn tails with real processes: appends under load, `kill -9`, then the bytes after the last
/// acknowledged group's records cut (zeroed) or garbled from a random offset to the end of the
/// data, as a crash that tore the unsynced tail would leave them. Each restart must recover every
/// acknowledged event, and exactly the groups whose records lie wholly before the damage: a
/// group's zero padding is outside its checksums, so damage that starts there leaves it whole.
/// Half the trials start the damage inside some group's padding, where a random offset rarely lands.
///
/// 10 trials here; `scripts/soak` runs 100 (`PRISM_TORN_TAIL_TRIALS=100`).
@Suite(.serialized) struct TornTailTests {
    static let trials = Int(ProcessInfo.processInfo.environment["PRISM_TORN_TAIL_TRIALS"] ?? "") ?? 10

    @Test func killedNodeRecoversExactlyTheGroupsBeforeATornTail() throws {
        var random = SeededGenerator(seed: UInt64(ProcessInfo.processInfo.environment["PRISM_TORN_TAIL_SEED"] ?? "") ?? 7)
        for trial in 0..<Self.trials {
            try withTemporaryDirectory("prism-torn") { path in
                try runTrial(trial, path: path, random: &random)
            }
        }
    }

    private func runTrial(_ trial: Int, path: String, random: inout SeededGenerator) throws {
        let node = WriteNodeProcess(workDirectory: URL(fileURLWithPath: path), extraArguments: ["--segment-bytes", "262144"])
        try node.start()
        let load = AppendLoad(endpoint: node.commandEndpoint, clients: 8, eventsPerAppend: 2)
        load.start()
        let target = Int.random(in: 20...400, using: &random)
        let reached = waitUntil(timeout: .seconds(60)) { load.acknowledged >= target }
        node.kill()
        load.stop()
        #expect(load.waitForClients(timeout: 10))
        try #require(reached, "trial \(trial): only \(load.acknowledged) acknowledged")
        let acknowledged = load.sent.compactMap(\.acknowledgedPositions).flatMap { $0 }
        let lastAcknowledged = try #require(acknowledged.max())

        // The damage starts anywhere from the end of the last acknowledged group's records to a
        // little past the end of the data (or inside a group's padding), and runs to the end of the data.
        let directory = node.dataDirectory.path
        let groups = try LogReader(directory: directory).groups
        let acknowledgedGroup = try #require(groups.firstIndex { $0.lastPosition >= lastAcknowledged })
        let lastSegment = try #require(groups.last?.segment)
        let inLastSegment = groups[acknowledgedGroup].segment == lastSegment
        let fromGroup = inLastSegment ? acknowledgedGroup : groups.firstIndex { $0.segment == lastSegment }!
        let segmentBytes = try Data(contentsOf: URL(fileURLWithPath: lastSegment))
        let exposed = groups[fromGroup...].map { LogFormatProbe.TailGroup($0, in: segmentBytes) }
        let low = inLastSegment ? exposed[0].recordsEnd : LogFormatProbe.segmentHeaderLength
        let dataEnd = groups.last!.end
        let paddings = exposed.map(\.padding).filter { !$0.isEmpty }
        let damageAt = if trial % 4 >= 2, let padding = paddings.randomElement(using: &random) {
            Int.random(in: padding, using: &random)
        } else {
            Int.random(in: low...(dataEnd + 512), using: &random)
        }
        let garble = trial % 2 == 1
        try damage(lastSegment, from: damageAt, to: max(dataEnd, damageAt + 1), garble: garble, random: &random)
        let survivors = exposed.filter { $0.recordsEnd <= damageAt }
        let expectedHead = survivors.last?.span.lastPosition ?? (groups[..<fromGroup].last?.lastPosition ?? 0)
        let landed = exposed.first { $0.span.offset <= damageAt && damageAt < $0.span.end }.map { group in
            "in the \(group.padding.contains(damageAt) ? "padding" : "records") of the group at \(group.span.offset) (records end at \(group.recordsEnd))"
        } ?? "past the groups"

        try node.start()
        let stored = try readAll(node.catchUpEndpoint)
        #expect(node.stop() == 0)
        let mode = garble ? "garbled" : "cut"
        #expect(stored.map(\.position) == Array(stride(from: 1, through: expectedHead, by: 1)),
                "trial \(trial) (\(mode) at \(damageAt), \(landed), data end \(dataEnd)): recovered head \(stored.last?.position ?? 0), expected \(expectedHead)")
        let byPosition = Dictionary(uniqueKeysWithValues: stored.map { ($0.position, $0.id) })
        for append in load.sent {
            guard let positions = append.acknowledgedPositions else { continue }
            #expect(positions.map { byPosition[$0] } == append.ids.map { Optional($0) },
                    "trial \(trial): acknowledged append at \(positions) lost or changed")
        }
    }

    /// Bytes `from..<to` of `file` zeroed, or replaced with random bytes.
    private func damage(_ file: String, from: Int, to: Int, garble: Bool, random: inout SeededGenerator) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: file))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(from))
        let bytes = garble ? (from..<to).map { _ in UInt8.random(in: 0...255, using: &random) } : [UInt8](repeating: 0, count: to - from)
        try handle.write(contentsOf: Data(bytes))
    }

    /// A bit flipped inside an acknowledged group, with valid groups after it, is damage no crash
    /// leaves: the node refuses to start, naming the segment and the offset, and changes nothing.
    @Test func bitFlipBeforeValidGroupsIsRefused() throws {
        try withTemporaryDirectory("prism-bitflip") { path in
            let node = WriteNodeProcess(workDirectory: URL(fileURLWithPath: path))
            try node.start()
            let client = try WriteNodeClient(endpoint: node.commandEndpoint)
            for index in 0..<20 {
                #expect(try client.send(appendRequest(stream: "flip-\(index)", ids: [UUID()])).isOK)
            }
            #expect(node.stop() == 0)
            let groups = try LogReader(directory: node.dataDirectory.path).groups
            let victim = groups[5]
            let offset = victim.offset + 40
            let handle = try FileHandle(forUpdating: URL(fileURLWithPath: victim.segment))
            try handle.seek(toOffset: UInt64(offset))
            let byte = try #require(try handle.read(upToCount: 1)).first!
            try handle.seek(toOffset: UInt64(offset))
            try handle.write(contentsOf: Data([byte ^ 0x10]))
            try handle.close()
            let before = try Data(contentsOf: URL(fileURLWithPath: victim.segment))

            let result = try runExecutable("write-node", node.arguments)
            #expect(result.status == 1)
            let name = (victim.segment as NSString).lastPathComponent
            #expect(result.error.contains(name) && result.error.contains("offset \(victim.offset)"), "\(result.error)")
            #expect(result.error.contains("damaged"), "\(result.error)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: victim.segment)) == before, "a damaged log is never rewritten")
        }
    }
}

/// The log format as `docs/STORAGE.md` gives it (the tests know the format only from there).
enum LogFormatProbe {
    static let segmentHeaderLength = 64
    static let groupHeaderLength = 32

    /// A group and where its records end: its header's body length (u32 at offset 4) after its header.
    struct TailGroup {
        var span: LogReader.GroupSpan
        var recordsEnd: Int

        /// - Parameter segment: the bytes of the group's segment file, read before anything damaged it.
        init(_ span: LogReader.GroupSpan, in segment: Data) {
            let bodyLength = segment.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: span.offset + 4, as: UInt32.self)) }
            self.span = span
            recordsEnd = span.offset + LogFormatProbe.groupHeaderLength + Int(bodyLength)
        }

        /// The zero padding after the records, up to the next group (0-7 bytes, outside every checksum).
        var padding: Range<Int> { recordsEnd..<span.end }
    }
}

/// Every event of the log through the catch-up endpoint.
func readAll(_ catchUpEndpoint: String) throws -> [RecordedEvent] {
    let connection = try DealerConnection(endpoint: catchUpEndpoint)
    var events: [RecordedEvent] = []
    while true {
        try connection.send(["after": .int(events.last?.position ?? 0), "limit": 10000])
        let frames = try #require(try connection.receiveFrames(timeout: 5000))
        let page = try frames.dropFirst(2).map { try EventFrames.decodeBody($0) }
        if page.isEmpty { return events }
        events += page
    }
}
