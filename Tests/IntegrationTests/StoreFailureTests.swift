import EventStore
import Foundation
import TestSupport
import Testing
import WireProtocol
import ZeroMQ

/// A full disk under a real write node: the group that cannot be written is answered
/// `Unavailable`, nothing of it is published or readable, reads and catch-up keep working, and
/// appends resume at the next position once space returns.
///
/// The disk is a 4 MiB tmpfs, so this needs root (as CI has); elsewhere it is skipped, and the
/// skip says why. Zero-filled segments mean a full disk shows at the next segment's creation,
/// which small segments (64 KiB) reach after ~150 appends.
@Suite(.serialized) struct StoreFailureTests {
    static let isRoot = getuid() == 0

    @Test(.enabled(if: isRoot, "mounting a tmpfs to fill needs root"))
    func fullDiskAnswersUnavailableAndAppendsResume() throws {
        try withTemporaryDirectory("prism-enospc") { path in
            let mount = path + "/disk"
            try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
            let mounted = try runCommand("/bin/mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mount])
            try #require(mounted.status == 0, "mount failed: \(mounted.error)")
            defer { _ = try? runCommand("/bin/umount", ["-l", mount]) }

            let node = WriteNodeProcess(workDirectory: URL(fileURLWithPath: mount), extraArguments: ["--segment-bytes", "65536", "--heartbeat-ms", "50"])
            try node.start()
            defer { _ = node.stop() }
            let context = try Context()
            let subscriber = try makeTestSocket(context, .sub, receiveTimeout: 2000)
            defer { subscriber.close(linger: 0) }
            try subscriber.subscribe("e:")
            try subscriber.subscribe("h")
            try subscriber.connect(node.publishEndpoint)
            #expect(waitUntil(timeout: .seconds(10)) { (try? subscriber.receive(dontWait: true))??.first == Array(utf8: "h") })

            // Leave less room than one segment.
            let filler = mount + "/filler"
            try fill(filler, leaving: 24 << 10, on: mount)

            let client = try WriteNodeClient(endpoint: node.commandEndpoint)
            var acknowledged: [Int64] = []
            var unavailable: JSONValue?
            for index in 0..<2000 where unavailable == nil {
                let reply = try client.send(appendRequest(stream: "disk-\(index % 7)", ids: [UUID()]))
                if reply.isOK, let position = reply["position"]?.intValue {
                    acknowledged.append(position)
                } else {
                    unavailable = reply
                }
            }
            let failed = try #require(unavailable, "the disk never filled up")
            #expect(failed.errorCode == "Unavailable", "\(failed)")
            #expect(failed.errorMessage?.contains("No space left on device") == true, "\(failed)")
            let head = Int64(acknowledged.count)
            #expect(acknowledged == Array(1...head), "acknowledged positions are 1…head")

            // Reads and catch-up still work, and see exactly the acknowledged events.
            let catchUp = try DealerConnection(endpoint: node.catchUpEndpoint)
            try catchUp.send(["after": 0, "limit": 10000])
            let frames = try #require(try catchUp.receiveFrames(timeout: 5000))
            let summary = try JSONParser.parse(frames[1])  // after the empty delimiter
            #expect(summary["head"]?.intValue == head, "\(summary)")
            #expect(frames.count - 2 == Int(head))
            // A second attempt fails the same way, and nothing moved.
            #expect(try client.send(appendRequest(stream: "disk-x", ids: [UUID()])).errorCode == "Unavailable")

            // Space returns: the next append follows the head.
            try FileManager.default.removeItem(atPath: filler)
            let resumed = try client.send(appendRequest(stream: "disk-after", ids: [UUID()]))
            #expect(resumed["position"]?.intValue == head + 1, "\(resumed)")

            // Published: every acknowledged position and the one after, once each, nothing else.
            var published: [Int64] = []
            while published.last != head + 1, let message = try subscriber.receive() {
                guard message.count == 3, message[0] != Array(utf8: "h"), let header = EventFrames.Header(bytes: message[1]) else { continue }
                published.append(header.position)
            }
            #expect(published == Array(1...(head + 1)), "published \(published.count) positions for \(head + 1) appended")
        }
    }

    private func fill(_ path: String, leaving room: Int, on mount: String) throws {
        var status = statvfs()
        guard statvfs(mount, &status) == 0 else { throw TestFailure("statvfs \(mount) failed") }
        let free = Int(status.f_bavail) * Int(status.f_frsize)
        guard FileManager.default.createFile(atPath: path, contents: Data(count: max(0, free - room))) else {
            throw TestFailure("cannot create the filler \(path)")
        }
    }
}

/// Runs a program to completion and returns its status and output.
func runCommand(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let output = Pipe(), error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    process.waitUntilExit()
    return (process.terminationStatus,
            String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
            String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
}
