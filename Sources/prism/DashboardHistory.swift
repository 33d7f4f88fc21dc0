import Foundation
import WireProtocol

/// The dashboard's picture of the system: each process's latest state, one chart point a second
/// over the last `windowSeconds`, and the faults (a process going down, failing, coming back)
/// seen in that window. Not thread-safe: `DashboardServer` calls it under its lock.
struct DashboardHistory {
    /// The states drawn as a fault: the process answers nothing, or cannot go on by itself.
    static let faultStates: Set<String> = ["down", "failed", "disconnected", "retrying", "appendsRefused"]

    let names: [String]
    let windowSeconds: Int
    private var points: [JSONValue] = []
    private var faults: [JSONValue] = []
    private var states: [String?]
    private var lagSerials: [Int]
    private var lastPointAt: Int64 = 0

    /// - Parameter names: `write-node` first, then the projectors, as the collector's servers.
    init(names: [String], windowSeconds: Int) {
        self.names = names
        self.windowSeconds = windowSeconds
        states = Array(repeating: nil, count: names.count)
        lagSerials = Array(repeating: 0, count: names.count)
    }

    /// Takes the collector's latest readings at `now` (ms since the epoch) and returns the `update`
    /// to send: every process's state and position, the head, plus the new chart point (once a
    /// second) and the faults found since the previous update.
    mutating func record(_ readings: [DashboardCollector.Reading], now: Int64) -> JSONValue {
        let writeNode = readings[0]
        // The freshest head the write node gave (its own row's, or one a projector's thread asked
        // for since), and never below a position a projector has applied (the log holds it);
        // while the write node is down, the highest any projector has seen.
        let applied = readings.dropFirst().compactMap(\.position)
        let head = writeNode.position.map { max($0, (readings.compactMap(\.writeNodeHead) + applied).max() ?? $0) }
            ?? readings.dropFirst().compactMap(\.head).max()
        var processes: [JSONValue] = []
        var newFaults: [JSONValue] = []
        for (index, reading) in readings.enumerated() {
            let name = names[index]
            if let fault = transition(index, to: reading, now: now) { newFaults.append(fault) }
            var process: [String: JSONValue] = ["name": .string(name), "state": .string(reading.state)]
            process["position"] = reading.position.map { .int($0) } ?? .null
            process["lastPosition"] = reading.lastPosition.map { .int($0) } ?? .null
            if index > 0 {
                process["behind"] = Self.behind(reading, head: head).map { .int($0) } ?? .null
                process["eventsApplied"] = reading.eventsApplied.map { .int($0) } ?? .null
                process["lagP50Us"] = reading.lagP50.map { .int($0) } ?? .null
                process["lagP99Us"] = reading.lagP99.map { .int($0) } ?? .null
            }
            if let error = reading.error { process["error"] = .string(error) }
            processes.append(.object(process))
        }
        faults += newFaults
        var update: [String: JSONValue] = ["time": .int(now), "head": head.map { .int($0) } ?? .null,
                                           "processes": .array(processes), "faults": .array(newFaults)]
        if now - lastPointAt >= 1000 {
            lastPointAt = now
            let point = self.point(readings, head: head, now: now)
            points.append(point)
            update["point"] = point
        }
        trim(now: now)
        return .object(update)
    }

    /// Everything a page needs when it opens: the chart points and faults of the window.
    var snapshot: JSONValue {
        .object(["names": .array(names.map { .string($0) }), "windowSeconds": .int(Int64(windowSeconds)),
                 "points": .array(points), "faults": .array(faults)])
    }

    // A fault when a process enters a fault state (or moves between two), and a recovery when it
    // leaves one; `catchingUp` ↔ `live` under load is not a fault and would bury the markers.
    private mutating func transition(_ index: Int, to reading: DashboardCollector.Reading, now: Int64) -> JSONValue? {
        // Not polled yet: no state to compare with, and none to draw.
        guard reading.state != "unknown" else { return nil }
        let previous = states[index]
        states[index] = reading.state
        guard previous != reading.state else { return nil }
        let wasFault = previous.map(Self.faultStates.contains) ?? false
        guard Self.faultStates.contains(reading.state) || wasFault else { return nil }
        var fault: [String: JSONValue] = ["time": .int(now), "process": .string(names[index]), "state": .string(reading.state),
                                          "previous": previous.map { .string($0) } ?? .null]
        if let error = reading.error { fault["error"] = .string(error) }
        return .object(fault)
    }

    private mutating func point(_ readings: [DashboardCollector.Reading], head: Int64?, now: Int64) -> JSONValue {
        var applied: [String: JSONValue] = [:], behind: [String: JSONValue] = [:]
        var p50: [String: JSONValue] = [:], p99: [String: JSONValue] = [:]
        for (index, reading) in readings.enumerated().dropFirst() {
            let name = names[index]
            if let position = reading.position { applied[name] = .int(position) }
            if let events = Self.behind(reading, head: head) { behind[name] = .int(events) }
            // Each lag interval once: a reading not refreshed since the last point adds nothing.
            if reading.lagSerial != lagSerials[index] {
                lagSerials[index] = reading.lagSerial
                if let value = reading.lagP50 { p50[name] = .int(value) }
                if let value = reading.lagP99 { p99[name] = .int(value) }
            }
        }
        return .object(["time": .int(now), "head": head.map { .int($0) } ?? .null, "applied": .object(applied),
                        "behind": .object(behind), "lagP50Us": .object(p50), "lagP99Us": .object(p99)])
    }

    /// Events between a projector's applied position and the write node's head read just after it
    /// (else the latest head known).
    private static func behind(_ reading: DashboardCollector.Reading, head: Int64?) -> Int64? {
        guard let applied = reading.position, let head = reading.writeNodeHead ?? head else { return nil }
        return max(0, head - applied)
    }

    private mutating func trim(now: Int64) {
        let oldest = now - Int64(windowSeconds) * 1000
        points.removeAll { ($0["time"]?.intValue ?? 0) < oldest }
        faults.removeAll { ($0["time"]?.intValue ?? 0) < oldest }
    }
}
