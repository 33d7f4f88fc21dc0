import Foundation
import TestSupport
import Testing

/// What the write-node executable says when it cannot start.
@Suite struct StartupTests {
    func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("prism-start-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test func unknownFlagIsAUsageError() throws {
        let result = try runExecutable("write-node", ["--frobnicate"])
        #expect(result.status == 64)
        #expect(result.error.contains("Unknown option '--frobnicate'"))
    }

    @Test func invalidFlagValueIsAUsageError() throws {
        let result = try runExecutable("write-node", ["--max-batch", "0"])
        #expect(result.status == 64)
        #expect(result.error.contains("--max-batch must be at least 1"))
    }

    @Test func unwritableDataDirectoryIsReported() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // Root can write anywhere, so make the path impossible instead: a directory under a file.
        let file = directory.appendingPathComponent("plain-file")
        FileManager.default.createFile(atPath: file.path, contents: Data("x".utf8))
        let result = try runExecutable("write-node", ["--data-dir", file.appendingPathComponent("data").path,
                                                      "--command-endpoint", freeTCPEndpoint()])
        #expect(result.status == 1)
        #expect(result.error.contains(file.path))
    }

    @Test func secondWriteNodeOnTheSameDirectoryRefuses() throws {
        let harness = try WriteNodeHarness()
        defer { harness.close() }
        let result = try runExecutable("write-node", [
            "--data-dir", harness.node.dataDirectory.path, "--command-endpoint", freeTCPEndpoint(),
            "--publish-endpoint", freeTCPEndpoint(), "--catch-up-endpoint", freeTCPEndpoint(),
        ])
        #expect(result.status == 1)
        #expect(result.error.contains("in use by another write node"), "\(result.error)")
        #expect(try harness.registerUser("u1").isOK, "the first node is undisturbed")
    }

    @Test func busyEndpointIsReported() throws {
        let harness = try WriteNodeHarness()
        defer { harness.close() }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try runExecutable("write-node", ["--data-dir", directory.path, "--command-endpoint", harness.node.commandEndpoint])
        #expect(result.status == 1)
        #expect(result.error.contains("cannot bind the command endpoint"), "\(result.error)")
    }

    @Test func damagedStoreIsReportedAndLeftAlone() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = directory.appendingPathComponent("events.sqlite")
        let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        FileManager.default.createFile(atPath: store.path, contents: garbage)
        let result = try runExecutable("write-node", ["--data-dir", directory.path, "--command-endpoint", freeTCPEndpoint()])
        #expect(result.status == 1)
        #expect(result.error.contains("events.sqlite"), "\(result.error)")
        #expect(try Data(contentsOf: store) == garbage, "a damaged store is never truncated")
    }
}
