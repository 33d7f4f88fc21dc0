import Foundation
import TestSupport
import Testing
import WireProtocol

/// `prism load` against a real write node (and a status projector when it is built).
@Suite struct LoadTests {
    @Test func openLoopRunReportsLatencyAndVisibility() throws {
        let hasProjector = FileManager.default.isExecutableFile(atPath: ManagedProcess.executable("status-projector").path)
        let system = try SystemHarness(projectors: hasProjector ? ["status"] : [])
        defer { system.close() }
        let probes = hasProjector ? ["--projector", "status=\(system.projectors["status"]!.queryEndpoint)"] : ["--projector", "none"]
        let run = try runExecutable("prism", [
            "load", "--rate", "500", "--duration", "2", "--json", "--users", "50", "--seed", "7", "--visibility-sample", "20",
            "--command-endpoint", system.writeNode.commandEndpoint,
        ] + probes, timeout: 30)
        #expect(run.status == 0, "prism load failed: \(run.error)")
        let report = try JSONParser.parse(run.output)

        #expect(report["errors"] == [:])
        let commands = report["commands"]?.intValue ?? 0
        #expect((800...1200).contains(commands), "commands: \(commands)")
        #expect(report["completed"]?.intValue == commands)
        let achieved = Double(report["achievedRate"]?.jsonString ?? "") ?? 0
        #expect(achieved > 400 && achieved < 600, "achievedRate: \(achieved)")
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
            // The commands really happened: a fresh store holds the 50 registrations and every command,
            // one event each (positions 1…commands + 50), and the projector gets to the last of them.
            let stats = try system.query("status", "stats", minPosition: Int64(commands + 50))
            #expect(stats["ok"] == true, "stats: \(stats)")
            #expect((stats["result"]?["applied"]?.intValue ?? 0) >= Int64(commands + 50))
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
