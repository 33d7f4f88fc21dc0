import Foundation
import TestSupport
import Testing
import WireProtocol

/// `prism load` against a real write node (and a status projector when it is built).
@Suite struct LoadTests {
    /// Runs `prism load --json` against `system`'s write node (probing its status projector, if
    /// any) and returns the report.
    static func load(_ system: SystemHarness, rate: Int, duration: Int, users: Int = 50, timeout: Double = 30) throws -> JSONValue {
        let probes = system.projectors["status"].map { ["--projector", "status=\($0.queryEndpoint)"] } ?? ["--projector", "none"]
        let run = try runExecutable("prism", [
            "load", "--rate", "\(rate)", "--duration", "\(duration)", "--json", "--users", "\(users)", "--seed", "7",
            "--visibility-sample", "20", "--command-endpoint", system.writeNode.commandEndpoint,
        ] + probes, timeout: timeout)
        guard run.status == 0 else { throw TestFailure("prism load failed: \(run.error)") }
        return try JSONParser.parse(run.output)
    }

    /// Counts, not rates (those are `LoadBenchmark`'s): constant arrivals at 500/s for 2 s send
    /// exactly 1,000 commands, one event each after the 50 registrations.
    @Test func openLoopRunReportsLatencyAndVisibility() throws {
        let hasProjector = FileManager.default.isExecutableFile(atPath: ManagedProcess.executable("status-projector").path)
        let system = try SystemHarness(projectors: hasProjector ? ["status"] : [])
        defer { system.close() }
        let report = try Self.load(system, rate: 500, duration: 2)

        #expect(report["errors"] == [:])
        let commands: Int64 = 1000
        #expect(report["commands"]?.intValue == commands)
        #expect(report["completed"]?.intValue == commands)
        #expect(report["acknowledged"] == ["commands": .int(commands), "highestPosition": .int(commands + 50)])
        let latency = report["appendLatencyUs"]
        #expect(latency?["count"]?.intValue == commands)
        for key in ["p50", "p90", "p99", "p999", "max"] {
            #expect((latency?[key]?.intValue ?? 0) > 0, "appendLatencyUs.\(key)")
        }
        #expect(report["arrivals"] == "constant")
        #expect(report["connections"] == 4)
        #expect(report["rate"] == 500)
        #expect(report["duration"] == 2)

        if hasProjector {
            let status = report["visibilityUs"]?["status"]
            #expect((status?["count"]?.intValue ?? 0) >= 40, "visibility probes: \(String(describing: status))")
            #expect(status?["stale"] == 0)
            #expect((status?["p50"]?.intValue ?? 0) > 0)
            #expect((status?["max"]?.intValue ?? 0) >= (status?["p99"]?.intValue ?? 0))
            // The commands really happened: the projector gets to the last acknowledged position.
            let stats = try system.query("status", "stats", minPosition: commands + 50)
            #expect(stats["ok"] == true, "stats: \(stats)")
            #expect((stats["result"]?["applied"]?.intValue ?? 0) >= commands + 50)
        }
    }

    @Test(arguments: [
        (["--rate", "0"], "--rate must be a number greater than 0"),
        (["--rate", "100", "--duration", "0"], "--duration must be a number of seconds greater than 0"),
        (["--rate", "100", "--projector", "status"], "--projector takes name=endpoint"),
        (["--rate", "100", "--projector", "none", "--projector", "a=tcp://127.0.0.1:1"], "cannot be combined"),
        (["--rate", "100", "--arrivals", "bursty"], "bursty"),
    ])
    func badFlagsAreRejected(arguments: [String], message: String) throws {
        let run = try runExecutable("prism", ["load"] + arguments, timeout: 30)
        #expect(run.status != 0)
        #expect(run.error.contains(message), "stderr: \(run.error)")
    }
}
