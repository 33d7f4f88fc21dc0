import EventStore
import Foundation
import TestSupport
import Testing
import WireProtocol

/// Torn tails with real processes: appends under load, `kill -9`, then the bytes after the last
/// acknowledged group cut (zeroed) or garbled from a random offset to the end of the data, as a
/// crash that tore the unsynced tail would leave them. Each restart must recover every
/// acknowledged event, and exactly the whole groups before the damage.
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

        // The damage starts anywhere from the end of the last acknowledged group to a little past
        // the end of the data, and runs to the end of the data.
        let directory = node.dataDirectory.path
        let groups = try LogReader(directory: directory).groups
        let acknowledgedGroup = try #require(groups.firstIndex { $0.lastPosition >= lastAcknowledged })
        let lastSegment = try #require(groups.last?.segment)
        let fromGroup = groups[acknowledgedGroup].segment == lastSegment ? acknowledgedGroup : groups.firstIndex { $0.segment == lastSegment }!
        let low = groups[acknowledgedGroup].segment == lastSegment ? groups[acknowledgedGroup].end : LogFormatProbe.segmentHeaderLength
        let dataEnd = groups.last!.end
        let damageAt = Int.random(in: low...(dataEnd + 512), using: &random)
        let garble = trial % 2 == 1
        try damage(lastSegment, from: damageAt, to: max(dataEnd, damageAt + 1), garble: garble, random: &random)
        let survivors = groups[fromGroup...].filter { $0.segment == lastSegment && $0.end <= damageAt }
        let expectedHead = survivors.last?.lastPosition ?? (groups[..<fromGroup].last?.lastPosition ?? 0)

        try node.start()
        let stored = try readAll(node.catchUpEndpoint)
        #expect(node.stop() == 0)
        let mode = garble ? "garbled" : "cut"
        #expect(stored.map(\.position) == Array(stride(from: 1, through: expectedHead, by: 1)),
                "trial \(trial) (\(mode) at \(damageAt), data end \(dataEnd)): recovered head \(stored.last?.position ?? 0), expected \(expectedHead)")
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

/// The segment header's length, as `docs/STORAGE.md` gives it (the tests know the format only from there).
enum LogFormatProbe {
    static let segmentHeaderLength = 64
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
