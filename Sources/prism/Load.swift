import EventModel
import ArgumentParser
import Foundation
import Histogram
import WireProtocol
import ZeroMQ

extension LoadArrivals: ExpressibleByArgument {}

extension Prism {
    /// `prism load --rate 5000 --duration 30`: open-loop load with the orders domain's command mix.
    struct Load: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send the orders domain's command mix open-loop at a fixed rate; report latency and write→visible time.",
            discussion: """
                Registers --users users first (not timed), then sends commands at their scheduled times \
                whatever the replies are doing: about 40% PlaceOrder, 25% ConfirmPayment, 15% ShipOrder, \
                10% CancelOrder, 10% ChangeUserAddress, each valid when sent. Latency is measured from each \
                command's intended send time, so a stall is not hidden by sending less (coordinated omission). \
                Every --visibility-sample-th command is followed by a `health` query with minPosition on each \
                projector; write→visible runs from the command's intended send time to that reply.
                """)

        @Option(help: "Commands per second over all connections.")
        var rate: Double

        @Option(help: "Seconds of timed load.")
        var duration: Double = 10

        @Option(help: "Arrival process: constant (evenly spaced) or poisson (exponential gaps).")
        var arrivals: LoadArrivals = .constant

        @Option(help: "DEALER connections, each with its own thread and an equal share of the rate.")
        var connections = 4

        @Option(help: "Users registered before the timed phase; the commands spread over them.")
        var users = 1000

        @Option(help: "Bytes of each order description (1…2000).")
        var size = 100

        @Option(help: "Seed of the command mix and Poisson gaps (default: random; printed).")
        var seed: UInt64?

        @Option(help: "Probe visibility after every K-th command.")
        var visibilitySample = 100

        @Option(name: .customLong("projector"),
                help: "A projector to probe, as name=endpoint (repeatable; default: the four standard ones; 'none': no probes).")
        var projectors: [String] = []

        @Flag(help: "Print one line per second (achieved rate, p99 so far) to standard error.")
        var progress = false

        @OptionGroup var node: WriteNodeOptions
        @OptionGroup var output: OutputOptions

        /// How long a probe lets the projector wait for the position before it answers `Stale`.
        static let probeWaitMs = 10_000

        func validate() throws {
            guard rate.isFinite, rate > 0 else { throw ValidationError("--rate must be a number greater than 0, got \(rate)") }
            guard duration.isFinite, duration > 0 else {
                throw ValidationError("--duration must be a number of seconds greater than 0, got \(duration)")
            }
            guard (1...1024).contains(connections) else { throw ValidationError("--connections must be from 1 to 1024, got \(connections)") }
            guard users >= 1 else { throw ValidationError("--users must be at least 1, got \(users)") }
            guard (1...2000).contains(size) else {
                throw ValidationError("--size must be from 1 to 2000 (the longest description the domain accepts), got \(size)")
            }
            guard visibilitySample >= 1 else { throw ValidationError("--visibility-sample must be at least 1, got \(visibilitySample)") }
            guard node.timeoutMs > 0 else { throw ValidationError("--timeout-ms must be greater than 0, got \(node.timeoutMs)") }
            _ = try probeTargets()
        }

        /// The projectors to probe, from `--projector`.
        func probeTargets() throws -> [(name: String, endpoint: String)] {
            if projectors.isEmpty { return DefaultEndpoints.queries }
            if projectors == ["none"] { return [] }
            var targets: [(name: String, endpoint: String)] = []
            for spec in projectors {
                if spec == "none" { throw ValidationError("--projector none cannot be combined with other --projector options") }
                guard let equals = spec.firstIndex(of: "="),
                      case let name = String(spec[..<equals]), !name.isEmpty,
                      case let endpoint = String(spec[spec.index(after: equals)...]), endpoint.contains("://")
                else {
                    throw ValidationError("--projector takes name=endpoint (e.g. status=tcp://127.0.0.1:5562) or 'none', got '\(spec)'")
                }
                if targets.contains(where: { $0.name == name }) { throw ValidationError("--projector \(name) is given twice") }
                targets.append((name, endpoint))
            }
            return targets
        }

        func run() throws {
            let targets = try probeTargets()
            let commandServer = try node.command()
            let probed = try targets.map { try node.keys.projector($0.name, endpoint: $0.endpoint) }
            let context = try Context()
            do {
                _ = try commandServer.client(context).requestJSON(["query": "health"], timeout: node.timeoutMs)
            } catch {
                throw CLIError("write node at \(node.commandEndpoint) did not answer health: \(error)")
            }
            for (target, server) in zip(targets, probed) {
                do {
                    _ = try server.client(context).requestJSON(["query": "health"], timeout: min(node.timeoutMs, 2000))
                } catch {
                    throw CLIError("projector \(target.name) at \(target.endpoint) did not answer health (\(error)); start it or pass --projector none")
                }
            }

            let seed = seed ?? UInt64.random(in: .min ... .max)
            // Ids of this run start with a fresh prefix, so runs can repeat against the same store.
            let runPrefix = "ld" + String(UInt32.random(in: .min ... .max), radix: 16)
            let results = LoadResults()

            let probersDone = DispatchGroup()
            var visibility: [VisibilityResults] = []
            var jobEndpoints: [String] = []
            for (target, server) in zip(targets, probed) {
                let endpoint = "inproc://prism-load-\(runPrefix)-\(target.name)"
                let jobs = try Socket(context, .dealer)
                try jobs.setReceiveHighWaterMark(0)
                try jobs.bind(endpoint)
                jobEndpoints.append(endpoint)
                let probeResults = VisibilityResults(name: target.name)
                visibility.append(probeResults)
                // Probe failures other than `Stale` count as errors of the run.
                let prober = LoadProber(name: target.name, server: server, jobs: jobs, connections: connections,
                                        waitMs: Self.probeWaitMs, context: context, visibility: probeResults, results: results)
                probersDone.enter()
                Thread {
                    prober.run()
                    probersDone.leave()
                }.start()
            }

            let start = LoadStart()
            let connectionsDone = DispatchGroup()
            for index in 0..<connections {
                let connection = LoadConnection(
                    index: index, connections: connections, rate: rate, arrivals: arrivals,
                    durationNanoseconds: Int64(duration * 1e9), users: users, size: size, seed: seed, runPrefix: runPrefix,
                    visibilitySample: visibilitySample, probeJobEndpoints: jobEndpoints, commandServer: commandServer,
                    timeoutMs: node.timeoutMs, context: context, results: results, start: start)
                connectionsDone.enter()
                Thread {
                    connection.run()
                    connectionsDone.leave()
                }.start()
            }
            let registering = monotonicNanoseconds()
            let failures = start.waitForArrivals(connections)
            if let failure = failures.first {
                start.release(at: nil)
                connectionsDone.wait()
                probersDone.wait()
                throw CLIError(failure)
            }
            let registered = monotonicNanoseconds()
            // A little headroom so every thread is waiting on its first send time, not still waking up.
            let t0 = registered + 10_000_000
            start.release(at: t0)

            var lastCompleted = 0
            var lastTime = t0
            while connectionsDone.wait(timeout: .now() + 1) == .timedOut {
                guard progress else { continue }
                let now = monotonicNanoseconds()
                let figures = results.progress()
                let rate = Double(figures.completed - lastCompleted) / (Double(now - lastTime) / 1e9)
                FileHandle.standardError.write(Data(String(
                    format: "prism load: t=%.0fs achieved %.0f/s p99 %@ errors %d\n", Double(now - t0) / 1e9, rate,
                    formatMicros(figures.p99Micros), figures.errors).utf8))
                (lastCompleted, lastTime) = (figures.completed, now)
            }
            probersDone.wait()

            let report = makeReport(results.snapshot(), visibility: visibility, t0: t0, seed: seed,
                                    registrationSeconds: Double(registered - registering) / 1e9)
            if output.json {
                print(report.jsonString)
            } else {
                printReport(report)
            }
            let errors = report["errors"]?.objectValue ?? [:]
            if !errors.isEmpty {
                let total = errors.values.compactMap(\.intValue).reduce(0, +)
                throw CLIError("\(total) errors: " + errors.keys.sorted().map { "\($0) \(errors[$0]!.jsonString)" }.joined(separator: ", "))
            }
        }

        private func makeReport(_ snapshot: LoadResults.Snapshot, visibility: [VisibilityResults], t0: Int64, seed: UInt64,
                                registrationSeconds: Double) -> JSONValue {
            let latency = snapshot.appendLatency
            let succeeded = Int(latency.totalCount)
            // Achieved: answered commands over the time they took, never less than the planned duration.
            let elapsed = max(duration, Double(snapshot.lastReplyAt - t0) / 1e9)
            var visibilityJSON: [String: JSONValue] = [:]
            for projector in visibility {
                let (histogram, stale) = projector.snapshot()
                visibilityJSON[projector.name] = [
                    "p50": .int(histogram.micros(50)), "p90": .int(histogram.micros(90)), "p99": .int(histogram.micros(99)),
                    "max": .int(histogram.maxMicros), "count": .int(Int64(histogram.totalCount)), "stale": .int(Int64(stale)),
                ]
            }
            func number(_ value: Double) -> JSONValue { value.rounded() == value && abs(value) < 1e15 ? .int(Int64(value)) : .double(value) }
            return [
                "rate": number(rate), "achievedRate": .double((Double(succeeded) / elapsed * 10).rounded() / 10),
                "duration": number(duration), "elapsed": .double((elapsed * 1000).rounded() / 1000),
                "commands": .int(Int64(snapshot.sent)), "completed": .int(Int64(snapshot.completed)),
                "errors": .object(snapshot.errors.mapValues { .int(Int64($0)) }),
                // What clients were told is durable: a check that nothing was lost compares with this.
                "acknowledged": ["commands": .int(Int64(succeeded)), "highestPosition": .int(snapshot.highestAcknowledged)],
                "appendLatencyUs": [
                    "p50": .int(latency.micros(50)), "p90": .int(latency.micros(90)), "p99": .int(latency.micros(99)),
                    "p999": .int(latency.micros(99.9)), "max": .int(latency.maxMicros), "count": .int(Int64(succeeded)),
                ],
                "sendLagUs": ["p99": .int(snapshot.sendLag.micros(99)), "max": .int(snapshot.sendLag.maxMicros)],
                "visibilityUs": .object(visibilityJSON),
                "arrivals": .string(arrivals.rawValue), "connections": .int(Int64(connections)),
                "users": .int(Int64(users)), "seed": .string(String(seed)),
                "registrationSeconds": .double((registrationSeconds * 1000).rounded() / 1000),
            ]
        }

        private func printReport(_ report: JSONValue) {
            func int(_ value: JSONValue?) -> Int64 { value?.intValue ?? 0 }
            let latency = report["appendLatencyUs"]
            print(String(format: "target %@ commands/s (%@ arrivals) for %@ s over %d connections, %d users (seed %@)",
                         report["rate"]!.jsonString, arrivals.rawValue, report["duration"]!.jsonString, connections, users,
                         report["seed"]?.stringValue ?? "?"))
            print(String(format: "sent %lld commands, %lld answered, achieved %.1f commands/s over %.2f s",
                         int(report["commands"]), int(report["completed"]),
                         report["achievedRate"]?.doubleOrInt ?? 0, report["elapsed"]?.doubleOrInt ?? 0))
            print("append latency from intended send: p50 \(formatMicros(int(latency?["p50"])))  p90 \(formatMicros(int(latency?["p90"])))"
                  + "  p99 \(formatMicros(int(latency?["p99"])))  p99.9 \(formatMicros(int(latency?["p999"])))"
                  + "  max \(formatMicros(int(latency?["max"])))")
            let lag = report["sendLagUs"]
            print("sender behind schedule: p99 \(formatMicros(int(lag?["p99"])))  max \(formatMicros(int(lag?["max"])))")
            let errors = report["errors"]?.objectValue ?? [:]
            print("errors: " + (errors.isEmpty ? "none" : errors.keys.sorted().map { "\($0) \(errors[$0]!.jsonString)" }.joined(separator: ", ")))
            let visibility = report["visibilityUs"]?.objectValue ?? [:]
            if visibility.isEmpty { return }
            print("write→visible      p50       p90       p99       max       probes  stale")
            for name in visibility.keys.sorted() {
                let row = visibility[name]
                func cell(_ key: String) -> String { formatMicros(int(row?[key])).padding(toLength: 10, withPad: " ", startingAt: 0) }
                print("  " + name.padding(toLength: 16, withPad: " ", startingAt: 0) + cell("p50") + cell("p90") + cell("p99") + cell("max")
                      + String(int(row?["count"])).padding(toLength: 8, withPad: " ", startingAt: 0) + String(int(row?["stale"])))
            }
        }
    }
}

extension JSONValue {
    /// A number as a `Double`, whether it was written as an integer or not.
    fileprivate var doubleOrInt: Double? {
        switch self {
        case .int(let value): Double(value)
        case .double(let value): value
        default: nil
        }
    }
}
