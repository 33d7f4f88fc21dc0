import Foundation
import TestSupport
import Testing
import WireProtocol

/// `prism tail` as a real process, following a write node while events are appended.
@Suite struct TailTests {
    @Test func tailPrintsEveryPositionOnceInOrderAndExits() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("prism-tail-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let node = WriteNodeProcess(workDirectory: directory, extraArguments: ["--heartbeat-ms", "100"])
        try node.start()
        defer { node.kill() }
        let writer = try EventWriter(endpoint: node.commandEndpoint)
        // Some events before tail starts (catch-up), the rest while it follows (live).
        for index in 0..<10 { try writer.append(stream: "tail-\(index)", count: 5) }

        let total = 1000
        let tail = try ManagedProcess("prism", [
            "tail", "--from", "0", "--count", "\(total)", "--json",
            "--publish-endpoint", node.publishEndpoint, "--catch-up-endpoint", node.catchUpEndpoint,
            "--command-endpoint", node.commandEndpoint,
        ], logDirectory: directory)
        // 10 × 5 + 95 × 10 = 1000 events in all.
        for index in 10..<105 { try writer.append(stream: "tail-\(index)", count: 10) }

        let status = tail.waitForExit(timeout: 30)
        #expect(status == 0, "prism tail: status \(status.map(String.init) ?? "still running"), stderr: \(tail.standardError)")
        let lines = tail.standardOutput.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
        #expect(lines.count == total)
        let documents = try lines.map { try JSONParser.parse(Array($0.utf8)) }
        let printed = documents.map { $0["position"]?.intValue ?? -1 }
        let firstWrong = printed.enumerated().first { $0.element != Int64($0.offset) + 1 }
        #expect(firstWrong == nil, "line \((firstWrong?.offset ?? 0) + 1) has position \(firstWrong?.element ?? 0)")
        let acknowledged = writer.acknowledged
        #expect(documents.allSatisfy { document in
            guard let position = document["position"]?.intValue, let id = document["id"]?.stringValue else { return false }
            return acknowledged[position]?.id == UUID(uuidString: id)
        }, "every line carries the acknowledged event id for its position")
    }
}
