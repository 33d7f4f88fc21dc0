import Foundation
import TestSupport
import Testing
import WireProtocol

/// The breakdown of the lag in `stats`, measured in the running system: present for every
/// projector and the write node, never negative, and adding up to the lag of the same events.
@Suite(.serialized) struct LagStagesTests {
    static let stages = ["network", "queue", "apply", "commit"]

    @Test func everyProjectorsStagesAddUpToTheLagOfTheSameEvents() throws {
        let system = try SystemHarness()
        defer { system.close() }
        try system.send("RegisterUser", ["userId": "ada", "name": "Ada", "state": "California"])
        for name in SystemHarness.allProjectors {
            // Events published before a projector's subscription took arrive by catch-up, without
            // stages: place orders until one has reached this projector live.
            var stats = JSONValue.null
            for order in 0..<200 {
                let position = try system.send("PlaceOrder", [
                    "orderId": .string("\(name)-\(order)"), "userId": "ada", "amountCents": 100, "description": "socks",
                ])
                stats = try system.query(name, "stats", minPosition: position)["result"] ?? .null
                if stats["lagStagesUs"]?["total"]?["count"]?.intValue ?? 0 > 0 { break }
            }
            let breakdown = try #require(stats["lagStagesUs"], "\(name): \(stats)")
            let live = try #require(breakdown["total"]?["count"]?.intValue)
            #expect(live > 0 && live <= stats["lagUs"]?["count"]?.intValue ?? 0, "\(name): \(breakdown)")
            var sumOfMeans = 0.0
            for stage in Self.stages {
                let summary = try #require(breakdown[stage], "\(name) has no \(stage) stage: \(breakdown)")
                #expect(summary["count"]?.intValue == live, "\(name).\(stage) covers the same events as total")
                for figure in ["p50", "p99", "max"] {
                    #expect(summary[figure]?.intValue ?? -1 >= 0, "\(name).\(stage).\(figure): \(summary)")
                }
                sumOfMeans += Self.mean(summary)
            }
            let beforePoll = try #require(breakdown["beforePoll"], "\(name): \(breakdown)")
            #expect(beforePoll["count"]?.intValue == live && Self.mean(beforePoll) <= Self.mean(breakdown["network"]!),
                    "\(name): beforePoll is part of network: \(breakdown)")
            // Each stage is truncated to whole microseconds, the total at least 1 µs.
            #expect(abs(sumOfMeans - Self.mean(breakdown["total"]!)) <= 5, "\(name): \(breakdown)")
            #expect(stats["intervalLagStagesUs"]?["network"] != nil, "\(name): \(stats)")
        }
        let writeNode = try system.client.send(["query": "stats"])["result"] ?? .null
        #expect(writeNode["syncUs"]?["count"]?.intValue ?? 0 > 0, "\(writeNode)")
        #expect(writeNode["syncWaitUs"]?["count"]?.intValue ?? 0 > 0, "\(writeNode)")
        #expect(writeNode["publishUs"]?["count"]?.intValue == writeNode["eventsAppended"]?.intValue, "\(writeNode)")
    }

    static func mean(_ summary: JSONValue) -> Double {
        switch summary["mean"] {
        case .double(let value): value
        case .int(let value): Double(value)
        default: .nan
        }
    }
}
