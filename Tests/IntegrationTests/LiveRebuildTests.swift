import Foundation
import Glibc
import TestSupport
import Testing
import WireProtocol

/// A rebuild fills a new copy beside the live one: queries keep being answered (read your writes
/// included), the new copy equals the old, and a kill during a rebuild leaves the live copy serving.
@Suite struct LiveRebuildTests {
    private func stats(_ client: QueryClient) throws -> JSONValue { try client.query("stats")["result"] ?? .null }

    private func generations(_ projector: ProjectorProcess) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: projector.dataDirectory.path).filter { $0.hasPrefix("generation-") }.sorted()
    }

    /// Waits for `stats.lastRebuild` to name `generation`, and returns it.
    private func waitForRebuild(_ client: QueryClient, generation: Int64) throws -> JSONValue {
        var last: JSONValue = .null
        let done = waitUntil(timeout: .seconds(60)) {
            last = (try? stats(client)) ?? .null
            return last["lastRebuild"]?["generation"]?.intValue == generation
        }
        guard done, let summary = last["lastRebuild"] else { throw TestFailure("rebuild to generation \(generation) did not finish: \(last)") }
        return summary
    }

    @Test(arguments: SystemHarness.allProjectors)
    func rebuildUnderLoadKeepsAnsweringAndEqualsTheOldCopy(_ name: String) throws {
        let system = try SystemHarness(projectors: [name])
        defer { system.close() }
        let projector = system.projectors[name]!
        let queries = system.queryClients[name]!
        for user in 0..<10 {
            try system.send("RegisterUser", ["userId": .string("u\(user)"), "name": "N", "state": "Ohio"])
        }
        var order = 0
        func placeOrder() throws -> Int64 {
            order += 1
            let position = try system.send("PlaceOrder", ["orderId": .string("o\(order)"), "userId": .string("u\(order % 10)"),
                                                          "amountCents": .int(Int64(order)), "description": .string("item \(order) blue")])
            guard order % 3 == 0 else { return position }
            return try system.send("ConfirmPayment", ["orderId": .string("o\(order)")])
        }
        for _ in 0..<600 { _ = try placeOrder() }

        // Under load: every command's position is visible to the next query (read your writes),
        // before, during and after the switch.
        let started = try queries.query("rebuild")
        #expect(started["ok"] == .bool(true), "\(started)")
        #expect(started["result"]?["rebuilding"]?["generation"] == 2)
        var answeredDuringRebuild = 0
        var sawProgress = false
        while try stats(queries)["lastRebuild"] == nil {
            let position = try placeOrder()
            let reply = try queries.query("health", minPosition: position, waitMs: 5000)
            #expect(reply["ok"] == .bool(true), "read your writes during the rebuild: \(reply)")
            answeredDuringRebuild += 1
            if try stats(queries)["rebuild"]?["position"] != nil { sawProgress = true }
            if answeredDuringRebuild > 5000 { break }
        }
        let first = try waitForRebuild(queries, generation: 2)
        #expect(first["failed"] == nil, "\(first)")
        #expect(answeredDuringRebuild > 0 && sawProgress)
        let afterSwitch = try placeOrder()
        #expect(try queries.query("health", minPosition: afterSwitch, waitMs: 5000)["ok"] == .bool(true))
        #expect(try stats(queries)["generation"] == 2)

        // Quiet: the rebuilt copy's digest equals the copy it replaces.
        let head = try placeOrder()
        try queries.waitForPosition(head)
        let before = try queries.query("digest", minPosition: head)
        #expect(try queries.query("rebuild")["ok"] == .bool(true))
        _ = try waitForRebuild(queries, generation: 3)
        let after = try queries.query("digest", minPosition: head)
        #expect(before["position"] == after["position"], "no event arrived between the two digests")
        #expect(after["result"]?["digest"] != nil && after["result"]?["digest"] == before["result"]?["digest"], "\(name): rebuilt equals live")
        #expect(waitUntil(timeout: .seconds(10)) { (try? generations(projector)) == ["generation-3"] }, "the old copies are removed")
    }

    /// One projector that has applied one user and one order: its position and digest.
    func withOneOrder(_ name: String, _ body: (SystemHarness, ProjectorProcess, QueryClient, Int64, JSONValue?) throws -> Void) throws {
        let system = try SystemHarness(projectors: [name])
        defer { system.close() }
        let queries = system.queryClients[name]!
        try system.send("RegisterUser", ["userId": "u1", "name": "N", "state": "Ohio"])
        let head = try system.send("PlaceOrder", ["orderId": "o1", "userId": "u1", "amountCents": 10, "description": "shoes"])
        try queries.waitForPosition(head)
        try body(system, system.projectors[name]!, queries, head, try queries.query("digest")["result"]?["digest"])
    }

    @Test func theRebuildFlagBuildsBesideTheLiveCopy() throws {
        try withOneOrder("status") { _, projector, queries, head, digest in
            #expect(projector.stop() == 0)

            try projector.start(rebuild: true)
            let summary = try waitForRebuild(queries, generation: 2)
            #expect(summary["failed"] == nil && summary["position"]?.intValue == head, "\(summary)")
            #expect(try queries.query("digest", minPosition: head)["result"]?["digest"] == digest)
        }
    }

    @Test func killDuringARebuildLeavesTheLiveCopyServing() throws {
        try withOneOrder("orders") { system, projector, queries, head, digest in

            // With the write node gone the new copy cannot catch up: the rebuild stays under way.
            #expect(system.writeNode.stop() == 0)
            #expect(try queries.query("rebuild")["ok"] == .bool(true))
            let second = try queries.query("rebuild")
            #expect(second["error"]?["code"] == "Unavailable")
            #expect(second["error"]?["message"]?.stringValue?.contains("already rebuilding") == true, "\(second)")
            #expect(try stats(queries)["rebuild"]?["generation"] == 2)
            #expect(waitUntil(timeout: .seconds(10)) { (try? generations(projector)) == ["generation-1", "generation-2"] })
            #expect(try queries.query("order", ["orderId": "o1"])["ok"] == .bool(true), "the live copy answers during the rebuild")

            projector.kill()
            try system.writeNode.start()
            try projector.start()
            try queries.waitForPosition(head)
            #expect(try stats(queries)["generation"] == 1)
            #expect(try generations(projector) == ["generation-1"], "the shadow is discarded")
            #expect(try queries.query("digest")["result"]?["digest"] == digest)
        }
    }

    @Test func aSingleDirectoryModelIsMovedIntoGenerationOne() throws {
        let system = try SystemHarness(projectors: [])
        defer { system.close() }
        let projector = ProjectorProcess("orders", writeNode: system.writeNode, workDirectory: system.directory)
        let head = try system.send("RegisterUser", ["userId": "u1", "name": "N", "state": "Ohio"])
        try projector.start()
        let queries = try QueryClient(endpoint: projector.queryEndpoint)
        try queries.waitForPosition(head)
        let digest = try queries.query("digest")["result"]?["digest"]
        #expect(projector.stop() == 0)
        // Put the model back into the layout of before: its files straight in the data directory.
        let files = FileManager.default
        let data = projector.dataDirectory.path
        for entry in try files.contentsOfDirectory(atPath: data + "/generation-1") {
            try files.moveItem(atPath: data + "/generation-1/" + entry, toPath: data + "/" + entry)
        }
        try files.removeItem(atPath: data + "/generation-1")
        try files.removeItem(atPath: data + "/CURRENT")

        try projector.start()
        defer { _ = projector.stop() }
        #expect(try queries.query("health")["position"]?.intValue == head, "the old checkpoint is kept")
        #expect(try queries.query("digest")["result"]?["digest"] == digest)
        #expect(try generations(projector) == ["generation-1"])
    }

    @Test(.enabled(if: nonLoopbackAddress() != nil)) func adminRequestsAreTakenOnlyFromLoopback() throws {
        let system = try SystemHarness(projectors: [])
        defer { system.close() }
        let port = freeTCPEndpoint().split(separator: ":").last!
        let process = try ManagedProcess("orders-projector", [
            "--data-dir", system.directory.appendingPathComponent("orders").path, "--query-endpoint", "tcp://0.0.0.0:\(port)",
            "--publish-endpoint", system.writeNode.publishEndpoint, "--catch-up-endpoint", system.writeNode.catchUpEndpoint,
        ], logDirectory: system.directory)
        defer { process.signal(SIGTERM); _ = process.waitForExit(timeout: 10) }
        let remote = try QueryClient(endpoint: "tcp://\(nonLoopbackAddress()!):\(port)")
        #expect(waitUntil(timeout: .seconds(20)) { (try? remote.query("health", timeout: 200))?["ok"] == .bool(true) })
        let rejected = try remote.query("rebuild")
        #expect(rejected["error"]?["code"] == "Rejected", "\(rejected)")
        #expect(try remote.query("skip", ["position": 1])["error"]?["code"] == "Rejected")
        let local = try QueryClient(endpoint: "tcp://127.0.0.1:\(port)")
        #expect(try local.query("skip", ["position": 1])["error"]?["code"] == "InvalidArgument", "loopback gets past the check")
    }
}

/// An IPv4 address of this machine that is not loopback, if it has one.
func nonLoopbackAddress() -> String? {
    var list: UnsafeMutablePointer<ifaddrs>?
    guard getifaddrs(&list) == 0 else { return nil }
    defer { freeifaddrs(list) }
    var entry = list
    while let current = entry {
        defer { entry = current.pointee.ifa_next }
        guard let address = current.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET) else { continue }
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        guard getnameinfo(address, socklen_t(MemoryLayout<sockaddr_in>.size), &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0 else { continue }
        let text = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if !text.hasPrefix("127.") { return text }
    }
    return nil
}
