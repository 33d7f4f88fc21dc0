import Foundation
import TestSupport
import Testing
import WireProtocol

/// Projectors survive kill -9, late starts and write-node restarts, and end up equal to a rebuild.
@Suite(.serialized) struct ProjectorRecoveryTests {
    /// A mixed stream of orders commands, sent in the background and counted as acknowledged.
    final class CommandStream: @unchecked Sendable {
        let client: WriteNodeClient
        let acknowledged = Locked(0)
        let lastPosition = Locked<Int64>(0)
        let done = DispatchSemaphore(value: 0)

        init(endpoint: String) throws { client = try WriteNodeClient(endpoint: endpoint) }

        func start(orders: Int) {
            Thread { [self] in
                defer { done.signal() }
                for user in 0..<10 {
                    record(try? client.command("RegisterUser", ["userId": .string("u\(user)"), "name": "N", "state": "Ohio"]))
                }
                for index in 0..<orders {
                    let order = JSONValue.string("o\(index)")
                    record(try? client.command("PlaceOrder", ["orderId": order, "userId": .string("u\(index % 10)"),
                                                              "amountCents": .int(Int64(index + 1)), "description": .string("item \(index) blue")]))
                    if index % 3 == 0 { record(try? client.command("ConfirmPayment", ["orderId": order])) }
                    if index % 9 == 0 { record(try? client.command("ShipOrder", ["orderId": order])) }
                    if index % 7 == 0 { record(try? client.command("CancelOrder", ["orderId": order, "reason": "changed mind"])) }
                    if index % 50 == 0 {
                        record(try? client.command("ChangeUserAddress", ["userId": .string("u\(index % 10)"), "state": .string("S\(index)")]))
                    }
                }
            }.start()
        }

        /// Counts only commands the write node acknowledged: a timeout or a rejection is no progress.
        private func record(_ reply: JSONValue?) {
            guard reply?["ok"] == .bool(true), let position = reply?["position"]?.intValue else { return }
            acknowledged.withLock { $0 += 1 }
            lastPosition.withLock { $0 = max($0, position) }
        }

        func waitFor(acknowledged count: Int, timeout: Duration = .seconds(60)) throws {
            guard waitUntil(timeout: timeout, { self.acknowledged.withLock { $0 } >= count }) else {
                throw TestFailure("only \(acknowledged.withLock { $0 }) of \(count) commands acknowledged within \(timeout)")
            }
        }
    }

    @Test(arguments: SystemHarness.allProjectors)
    func killedProjectorEndsEqualToARebuild(_ name: String) throws {
        let system = try SystemHarness(projectors: [name])
        defer { system.close() }
        let stream = try CommandStream(endpoint: system.writeNode.commandEndpoint)
        stream.start(orders: 900)
        let projector = system.projectors[name]!
        for moment in [200, 600, 1000] {
            try stream.waitFor(acknowledged: moment)
            projector.kill()
            try projector.start()
        }
        #expect(stream.done.wait(timeout: .now() + 120) == .success)
        let head = stream.lastPosition.withLock { $0 }
        let live = system.queryClients[name]!
        try live.waitForPosition(head)
        let liveDigest = try live.query("digest")["result"]?["digest"]

        let rebuilt = ProjectorProcess(name, writeNode: system.writeNode, workDirectory: system.directory.appendingPathComponent("rebuild"))
        try FileManager.default.createDirectory(at: system.directory.appendingPathComponent("rebuild"), withIntermediateDirectories: true)
        try rebuilt.start(rebuild: true)
        defer { _ = rebuilt.stop() }
        let fresh = try QueryClient(endpoint: rebuilt.queryEndpoint)
        try fresh.waitForPosition(head)
        #expect(liveDigest != nil)
        #expect(try fresh.query("digest")["result"]?["digest"] == liveDigest, "\(name): live model after 3 kill -9s equals a rebuild")
    }

    /// The status model lives in memory: after kill -9 it can only resume from its last snapshot.
    /// With a snapshot every 350 events (at least as many as there are orders, ≤ 300, so the model
    /// keeps that interval) among the ~480 order events, the restarted projector applies fewer than
    /// 350 besides the new ones (a start from zero would apply them all) and ends equal to a rebuild.
    @Test func statusResumesFromItsSnapshotAfterKill() throws {
        let system = try SystemHarness(projectors: [])
        defer { system.close() }
        let every = 350
        let status = ProjectorProcess("status", writeNode: system.writeNode, workDirectory: system.directory,
                                      extraArguments: ["--snapshot-every", "\(every)"])
        try status.start()
        defer { _ = status.stop() }
        let stream = try CommandStream(endpoint: system.writeNode.commandEndpoint)
        stream.start(orders: 300)
        #expect(stream.done.wait(timeout: .now() + 120) == .success)
        let client = try QueryClient(endpoint: status.queryEndpoint)
        try client.waitForPosition(stream.lastPosition.withLock { $0 })
        let snapshot = try #require(status.liveModelDirectory).appendingPathComponent("status.snapshot").path
        #expect(FileManager.default.fileExists(atPath: snapshot), "no snapshot after \(stream.acknowledged.withLock { $0 }) commands")
        status.kill()

        let newOrders = 5
        var head: Int64 = 0
        for index in 0..<newOrders {
            head = try system.send("PlaceOrder", ["orderId": .string("late-\(index)"), "userId": "u1", "amountCents": 10, "description": "after the kill"])
        }
        try status.start()
        try client.waitForPosition(head)
        let resumed = try client.query("stats")["result"]?["eventsApplied"]?.intValue ?? -1

        let rebuilt = ProjectorProcess("status", writeNode: system.writeNode, workDirectory: system.directory.appendingPathComponent("rebuild"))
        try FileManager.default.createDirectory(at: system.directory.appendingPathComponent("rebuild"), withIntermediateDirectories: true)
        try rebuilt.start(rebuild: true)
        defer { _ = rebuilt.stop() }
        let fresh = try QueryClient(endpoint: rebuilt.queryEndpoint)
        try fresh.waitForPosition(head)
        let fromZero = try fresh.query("stats")["result"]?["eventsApplied"]?.intValue ?? -1
        #expect(resumed >= Int64(newOrders) && resumed < Int64(every + newOrders),
                "the restarted projector applied \(resumed) events; from zero it takes \(fromZero)")
        #expect(fromZero > Int64(every + newOrders))
        #expect(try client.query("digest")["result"] == fresh.query("digest")["result"])
    }

    @Test func slowJoinerCatchesUpThenFollowsLive() throws {
        let system = try SystemHarness(projectors: [])
        defer { system.close() }
        // 100,000 OrderCreated events, appended 500 at a time through the generic append.
        for batch in 0..<200 {
            let events: [JSONValue] = (0..<500).map { index in
                let order = "sj-\(batch)-\(index)"
                return ["id": .string(UUID().uuidString), "type": "OrderCreated",
                        "data": ["orderId": .string(order), "userId": .string("u\(index % 100)"), "amountCents": .int(Int64(index + 1)),
                                 "description": .string("catch up item \(index)"), "status": "payment_pending"]]
            }
            let reply = try system.client.send(["append": ["stream": .string("order-sj-\(batch)"), "expectedVersion": "noStream", "events": .array(events)]])
            #expect(reply["ok"] == true)
        }
        for name in SystemHarness.allProjectors {
            let projector = ProjectorProcess(name, writeNode: system.writeNode, workDirectory: system.directory)
            try projector.start()
            defer { _ = projector.stop() }
            let client = try QueryClient(endpoint: projector.queryEndpoint)
            try client.waitForPosition(100_000, timeout: 120)
            // Then live: a new command is visible with read-your-writes.
            let live = try system.send("RegisterUser", ["userId": .string("late-\(name)"), "name": "L", "state": "Utah"])
            #expect(try client.query("health", minPosition: live, waitMs: 5000)["ok"] == true, "\(name)")
            let stats = try client.query("stats")
            #expect(stats["result"]?["applied"]?.intValue ?? 0 >= live, "\(name)")
        }
    }

    @Test func projectorsFollowAcrossAWriteNodeRestart() throws {
        let system = try SystemHarness()
        defer { system.close() }
        try system.send("RegisterUser", ["userId": "r", "name": "R", "state": "Iowa"])
        try system.send("PlaceOrder", ["orderId": "before", "userId": "r", "amountCents": 100, "description": "before restart"])
        #expect(system.writeNode.stop() == 0)
        try system.writeNode.start()
        let after = try system.send("PlaceOrder", ["orderId": "after", "userId": "r", "amountCents": 200, "description": "after restart"])
        #expect(try system.query("orders", "order", ["orderId": "after"], minPosition: after)["result"]?["orderId"] == "after")
        #expect(try system.query("status", "orderStatus", ["orderId": "after"], minPosition: after)["result"]?["status"] == "payment_pending")
        #expect(try system.query("search", "search", ["text": "after"], minPosition: after)["result"]?["hits"]?.arrayValue?.count == 1)
        #expect(try system.query("history", "health", minPosition: after)["ok"] == true)
    }
}
