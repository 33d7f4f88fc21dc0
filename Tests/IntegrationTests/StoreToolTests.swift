import EventStore
import Foundation
import TestSupport
import Testing
import WireProtocol
import ZeroMQ

/// `prism store verify | dump | backup | migrate` against real data directories and write nodes:
/// reports, exit statuses, damage found by position, a backup taken under load that starts, and
/// an old-format directory migrated and served.
@Suite struct StoreToolTests {
    /// Appends `count` events to a few streams through a running node; returns when all are acknowledged.
    private func appendEvents(_ node: WriteNodeProcess, count: Int) throws {
        let client = try WriteNodeClient(endpoint: node.commandEndpoint)
        for index in 0..<count {
            let reply = try client.send(StoreLoad.appendRequest(stream: "note-\(index % 3)", count: 1, type: "NoteAdded"))
            try #require(reply["ok"] == .bool(true), "append \(index): \(reply)")
        }
    }

    /// A stopped store of 12 events in streams note-0…2 (positions 1…12, position p at version (p-1)/3).
    private func makeStore(in work: String) throws -> String {
        let node = WriteNodeProcess(workDirectory: URL(fileURLWithPath: work))
        try node.start()
        try appendEvents(node, count: 12)
        #expect(node.stop() == 0)
        return node.dataDirectory.path
    }

    private func copyStore(_ directory: String, as name: String) throws -> String {
        let copy = (directory as NSString).deletingLastPathComponent + "/" + name
        try FileManager.default.copyItem(atPath: directory, toPath: copy)
        return copy
    }

    @Test func verifyReportsASoundStoreAndDumpPrintsIt() throws {
        try withTemporaryDirectory("prism-store-tool") { (work: String) in
            let directory = try makeStore(in: work)

            let verify = try runExecutable("prism", ["store", "verify", directory])
            #expect(verify.status == 0, "\(verify.output)\(verify.error)")
            #expect(verify.output.hasPrefix("\(directory): sound\n"))
            #expect(verify.output.contains("  events    12\n") && verify.output.contains("  streams   3\n"))
            #expect(verify.output.contains("  head      12\n") && verify.output.contains("  indexed   12\n"))
            let json = try runExecutable("prism", ["store", "verify", directory, "--json"])
            let report = try JSONParser.parse(json.output.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(json.status == 0 && report["sound"] == .bool(true) && report["head"] == 12)

            let dump = try runExecutable("prism", ["store", "dump", directory])
            #expect(dump.status == 0, "\(dump.error)")
            let lines = dump.output.split(separator: "\n")
            #expect(lines.count == 12)
            #expect(lines.map { $0.split(separator: " ").prefix(3).joined(separator: " ") }
                    == (1...12).map { "\($0) note-\(($0 - 1) % 3)@\(($0 - 1) / 3) NoteAdded" })

            let page = try runExecutable("prism", ["store", "dump", directory, "--from", "5", "--limit", "2", "--json"])
            #expect(page.status == 0)
            let events = try page.output.split(separator: "\n").map { try JSONParser.parse(String($0)) }
            #expect(events.map { $0["position"] } == [5, 6])
            #expect(events.first?["stream"] == "note-1" && events.first?["version"] == 1)
        }
    }

    @Test func verifyFindsAMissingIndexEntryAndAWrongVersion() throws {
        try withTemporaryDirectory("prism-store-tool") { (work: String) in
            let directory = try makeStore(in: work)

            let missing = try copyStore(directory, as: "missing-entry")
            #expect(try executeSQL("DELETE FROM events WHERE position = 7", inDatabaseAt: missing + "/index.sqlite") == 1)
            let missingReport = try runExecutable("prism", ["store", "verify", missing])
            #expect(missingReport.status == 1)
            #expect(missingReport.output.contains("1 problem"), "\(missingReport.output)")
            #expect(missingReport.output.contains("problem: index: no entry for position 7"), "\(missingReport.output)")

            let wrong = try copyStore(directory, as: "wrong-version")
            // + 100, not + 1: the index is keyed by (stream, version), and note-2@1 exists.
            #expect(try executeSQL("UPDATE events SET version = version + 100 WHERE position = 3", inDatabaseAt: wrong + "/index.sqlite") == 1)
            let wrongReport = try runExecutable("prism", ["store", "verify", wrong])
            #expect(wrongReport.status == 1)
            #expect(wrongReport.output.contains("problem: index: position 3 is note-2@100"), "\(wrongReport.output)")
            #expect(wrongReport.output.contains("but the log has note-2@0"), "\(wrongReport.output)")
            let json = try runExecutable("prism", ["store", "verify", wrong, "--json"])
            #expect(json.status == 1)
            #expect(try JSONParser.parse(json.output.trimmingCharacters(in: .whitespacesAndNewlines))["sound"] == .bool(false))
        }
    }

    @Test func verifyFindsAFlippedByteInsideTheFirstGroup() throws {
        try withTemporaryDirectory("prism-store-tool") { (work: String) in
            let directory = try makeStore(in: work)
            let segment = directory + "/00000000000000000001.segment"
            // Segment header 64 bytes, group header 32, record header 60: this byte is in the first
            // event's stream name, inside the first group; eleven valid groups follow it.
            let handle = try #require(FileHandle(forUpdatingAtPath: segment))
            try handle.seek(toOffset: 64 + 32 + 60 + 1)
            let byte = try #require(try handle.read(upToCount: 1)?.first)
            try handle.seek(toOffset: 64 + 32 + 60 + 1)
            try handle.write(contentsOf: [byte ^ 0x01])
            try handle.close()

            let verify = try runExecutable("prism", ["store", "verify", directory])
            #expect(verify.status == 1, "\(verify.output)")
            #expect(verify.output.contains("problem:") && verify.output.contains("offset 64"), "\(verify.output)")
            let dump = try runExecutable("prism", ["store", "dump", directory])
            #expect(dump.status == 1)
            #expect(dump.error.contains("offset 64"), "\(dump.error)")
        }
    }

    @Test func backupOfAStoreUnderLoadVerifiesAndStarts() throws {
        try withTemporaryDirectory("prism-store-tool") { (work: String) in
            let node = WriteNodeProcess(workDirectory: URL(fileURLWithPath: work + "/live"))
            try FileManager.default.createDirectory(atPath: work + "/live", withIntermediateDirectories: true)
            try node.start()
            let load = StoreLoad(endpoint: node.commandEndpoint, clients: 4)
            load.start()
            defer {
                load.stop()
                _ = load.waitForClients(timeout: 10)
            }
            // Enough to roll a few 1 MiB segments, so the copy has sealed ones and an active one.
            try #require(waitUntil(timeout: .seconds(60)) { load.acknowledged >= 3_000 }, "only \(load.acknowledged) appends acknowledged")
            let acknowledgedBefore = load.acknowledged

            let backupNode = WriteNodeProcess(workDirectory: URL(fileURLWithPath: work + "/restored"))
            let backup = try runExecutable("prism", ["store", "backup", node.dataDirectory.path, backupNode.dataDirectory.path])
            #expect(backup.status == 0, "\(backup.output)\(backup.error)")
            #expect(backup.output.contains("\(backupNode.dataDirectory.path): sound"), "\(backup.output)")
            let acknowledgedDuring = load.acknowledged
            load.stop()
            #expect(load.waitForClients(timeout: 10))
            #expect(load.failures.isEmpty, "\(load.failures.prefix(3))")
            #expect(acknowledgedDuring > acknowledgedBefore, "the node kept appending during the backup")
            #expect(node.stop() == 0)

            let report = try StoreVerifier.verify(directory: backupNode.dataDirectory.path)
            #expect(report.isSound, "\(report.problems)")
            #expect(report.segments > 1)
            // Everything acknowledged before the backup started is in it (three events per append).
            #expect(report.head >= Int64(acknowledgedBefore) * 3)

            try backupNode.start()
            let client = try WriteNodeClient(endpoint: backupNode.commandEndpoint)
            let health = try client.send(["query": "health"])
            #expect(health["result"]?["status"] == "serving")
            #expect(health["position"] == .int(report.head))
            let reply = try client.send(StoreLoad.appendRequest(stream: "after-restore", count: 1, type: "Restored"))
            #expect(reply["position"] == .int(report.head + 1), "\(reply)")
            #expect(backupNode.stop() == 0)

            let again = try runExecutable("prism", ["store", "backup", node.dataDirectory.path, backupNode.dataDirectory.path])
            #expect(again.status == 1)
            #expect(again.error.contains("is not empty"), "\(again.error)")
        }
    }

    @Test func migrateConvertsAnOldFormatDirectoryThatAWriteNodeThenServes() throws {
        try withTemporaryDirectory("prism-store-tool") { (work: String) in
            let node = WriteNodeProcess(workDirectory: URL(fileURLWithPath: work))
            let directory = node.dataDirectory.path
            let events = LegacyStoreFixture.sampleEvents(count: 500, streams: 7)
            try LegacyStoreFixture.create(in: directory, events: events)

            // A write node refuses the old format and says how to migrate.
            let refused = try ManagedProcess("write-node", node.arguments, logDirectory: URL(fileURLWithPath: work))
            let status = refused.waitForExit(timeout: 20)
            #expect(status != nil && status != 0)
            #expect(refused.standardError.contains("prism store migrate \(directory)"), "\(refused.standardError)")

            let migrate = try runExecutable("prism", ["store", "migrate", directory, "--segment-bytes", "1048576", "--batch-events", "64"])
            #expect(migrate.status == 0, "\(migrate.output)\(migrate.error)")
            let lines = migrate.output.split(separator: "\n").map(String.init)
            let source = try #require(lines.first { $0.hasPrefix("old store ") })
            let log = try #require(lines.first { $0.hasPrefix("new log ") })
            #expect(source.contains("500 events, positions 1…500, digest fnv1a64:"))
            #expect(source.split(separator: " ").last == log.split(separator: " ").last, "the digests are equal")
            #expect(migrate.output.contains("verify     sound"))
            #expect(migrate.output.contains("events.sqlite.migrated"))
            #expect(FileManager.default.fileExists(atPath: directory + "/events.sqlite.migrated"))

            try node.start()
            let stream = events[10].stream
            let read = try runExecutable("prism", ["read", stream, "--catch-up-endpoint", node.catchUpEndpoint, "--json"])
            #expect(read.status == 0, "\(read.error)")
            let served = try read.output.split(separator: "\n").map { try EventFrames.decodeBody(Array($0.utf8)) }
            #expect(served == events.filter { $0.stream == stream })
            #expect(node.stop() == 0)

            let twice = try runExecutable("prism", ["store", "migrate", directory])
            #expect(twice.status == 1)
            #expect(twice.error.contains("already migrated"), "\(twice.error)")
        }
    }

    @Test func migrateRefusesADirectoryARunningNodeHolds() throws {
        try withTemporaryDirectory("prism-store-tool") { (work: String) in
            let node = WriteNodeProcess(workDirectory: URL(fileURLWithPath: work))
            try node.start()
            defer { _ = node.stop() }
            // A log directory with an old store dropped beside it (the node has it open already).
            try LegacyStoreFixture.create(in: work + "/old", events: LegacyStoreFixture.sampleEvents(count: 3, streams: 1))
            try FileManager.default.copyItem(atPath: work + "/old/events.sqlite", toPath: node.dataDirectory.path + "/events.sqlite")
            let migrate = try runExecutable("prism", ["store", "migrate", node.dataDirectory.path])
            #expect(migrate.status == 1)
            #expect(migrate.error.contains("in use by another write node"), "\(migrate.error)")
        }
    }

    @Test func storeWithoutThePrismStoreExecutableSaysWhatIsMissing() throws {
        try withTemporaryDirectory("prism-store-tool") { (work: String) in
            let lonely = work + "/bin/prism"
            try FileManager.default.createDirectory(atPath: work + "/bin", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: ManagedProcess.executable("prism").path, toPath: lonely)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: lonely)
            process.arguments = ["store", "verify", work]
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 1)
            #expect(message.contains("needs the prism-store executable next to prism, but \(work)/bin/prism-store does not exist"), "\(message)")
        }
    }
}

/// Client threads appending three-event batches to fresh streams until stopped.
private final class StoreLoad: @unchecked Sendable {
    let endpoint: String
    let clients: Int
    private let state = Locked(State())
    private let finished = DispatchGroup()

    private struct State {
        var acknowledged = 0
        var stopped = false
        var failures: [String] = []
    }

    init(endpoint: String, clients: Int) {
        self.endpoint = endpoint
        self.clients = clients
    }

    var acknowledged: Int { state.withLock { $0.acknowledged } }
    var failures: [String] { state.withLock { $0.failures } }

    func start() {
        for client in 0..<clients {
            finished.enter()
            Thread { [self] in
                defer { finished.leave() }
                run(client: client)
            }.start()
        }
    }

    func stop() { state.withLock { $0.stopped = true } }

    func waitForClients(timeout: Double) -> Bool {
        finished.wait(timeout: .now() + timeout) == .success
    }

    static func appendRequest(stream: String, count: Int, type: String) -> JSONValue {
        ["append": [
            "stream": .string(stream), "expectedVersion": "any",
            "events": .array((0..<count).map { index in
                ["id": .string(UUID().uuidString), "type": .string(type), "data": ["index": .int(Int64(index)), "pad": .string(String(repeating: "x", count: 200))]]
            }),
        ]]
    }

    private func run(client: Int) {
        do {
            let context = try Context()
            let connection = RequestClient(context, endpoint: endpoint)
            var sequence = 0
            while !state.withLock({ $0.stopped }) {
                let frames = try connection.request(Self.appendRequest(stream: "load-\(client)-\(sequence)", count: 3, type: "Loaded").jsonBytes, timeout: 5000)
                sequence += 1
                let reply = try JSONParser.parse(frames.last ?? [])
                state.withLock { state in
                    if reply["ok"] == .bool(true) {
                        state.acknowledged += 1
                    } else {
                        state.failures.append("\(reply)")
                    }
                }
            }
        } catch {
            state.withLock { $0.failures.append("client \(client): \(error)") }
        }
    }
}
