import ArgumentParser
import Foundation
import SecurityOptions
import WireProtocol
import ZeroMQ

extension Prism {
    /// `prism status`: the write node's head and every projector's position, lag and health.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the head position and each projector's lag and health.")

        @OptionGroup var system: SystemEndpoints

        @Option(help: "Milliseconds to wait for each process's replies (all are asked at once).")
        var timeoutMs = 1000

        @Flag(help: "Exit non-zero also when a projector is not live (catching up, rebuilding, retrying, disconnected).")
        var strict = false

        @OptionGroup var keys: KeyOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let context = try Context()
            let targets = try system.projectorTargets()
            let servers = try system.servers(keys, identity: KeyOptions.cliIdentity)
            // Every process at once: with everything down this takes one timeout, not one per process.
            let probes = Probes(count: servers.count)
            let timeoutMs = timeoutMs
            DispatchQueue.concurrentPerform(iterations: servers.count) { index in
                let client = servers[index].client(context)
                probes.set(index, Result {
                    let health = try client.requestJSON(["query": "health"], timeout: timeoutMs)
                    return index == 0 ? health : try client.requestJSON(["query": "stats"], timeout: timeoutMs).merging(health: health)
                })
            }
            let results = probes.results
            var head: Int64?
            if case .success(let reply) = results[0] { head = reply["position"]?.intValue }
            var rows: [JSONValue] = []
            for (index, target) in targets.enumerated() {
                switch results[index + 1] {
                case .failure(let error):
                    rows.append(["name": .string(target.name), "status": "unreachable", "endpoint": .string(target.endpoint),
                                 "error": .string("\(error)")])
                case .success(let reply):
                    let stats = reply["result"]
                    rows.append(["name": .string(target.name), "status": reply["health"] ?? "?", "applied": stats?["applied"] ?? 0,
                                 "behind": .int(max(0, (head ?? 0) - (stats?["applied"]?.intValue ?? 0))),
                                 "eventsApplied": stats?["eventsApplied"] ?? 0, "lagUs": stats?["lagUs"] ?? .null,
                                 "endpoint": .string(target.endpoint)])
                }
            }
            let down = rows.filter { row in
                let status = row["status"]?.stringValue ?? "?"
                return status == "unreachable" || status == "failed" || (strict && status != "live")
            }
            if output.json {
                print(JSONValue.object(["head": head.map { .int($0) } ?? .null, "projectors": .array(rows)]).jsonString)
            } else {
                printTable(results[0], head: head, rows: rows)
            }
            // Non-zero for scripts and health checks: the write node or a projector down or failed.
            if head == nil || !down.isEmpty { throw ExitCode.failure }
        }

        private func printTable(_ writeNode: Result<JSONValue, any Error>, head: Int64?, rows: [JSONValue]) {
            if case .failure(let error) = writeNode { print("write node: unreachable: \(error)") } else {
                print("write node: head position \(head ?? 0)")
            }
            print(pad("projector", 10) + pad("status", 13) + pad("applied", 10) + pad("behind", 8)
                  + pad("lag p50", 10) + pad("p99", 10) + pad("p99.9", 10) + "max")
            for row in rows {
                let lag = row["lagUs"]
                func micros(_ key: String) -> String { lag?[key]?.intValue.map(formatMicros) ?? "-" }
                print(pad(row["name"]?.stringValue ?? "?", 10) + pad(row["status"]?.stringValue ?? "?", 13)
                      + pad(row["applied"]?.intValue.map(String.init) ?? "-", 10) + pad(row["behind"]?.intValue.map(String.init) ?? "-", 8)
                      + pad(micros("p50"), 10) + pad(micros("p99"), 10) + pad(micros("p999"), 10) + micros("max"))
            }
            for row in rows where row["error"] != nil {
                print("\(row["name"]?.stringValue ?? "?"): \(row["error"]?.stringValue ?? "")")
            }
        }
    }
}

/// The probes' answers, written from `concurrentPerform`'s threads.
private final class Probes: @unchecked Sendable {
    private let lock = NSLock()
    private var answers: [Result<JSONValue, any Error>?]

    init(count: Int) { answers = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ result: Result<JSONValue, any Error>) { lock.withLock { answers[index] = result } }

    var results: [Result<JSONValue, any Error>] {
        lock.withLock { answers.map { $0 ?? .failure(CLIError("not asked")) } }
    }
}

extension JSONValue {
    /// A `stats` reply with the `health` reply's status beside its result, as `health`.
    fileprivate func merging(health: JSONValue) -> JSONValue {
        guard case .object(var members) = self else { return self }
        members["health"] = health["result"]?["status"] ?? "?"
        return .object(members)
    }
}

private func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}

/// `850µs`, `12.3ms`, `4.1s`.
func formatMicros(_ micros: Int64) -> String {
    if micros < 1000 { return "\(micros)µs" }
    if micros < 1_000_000 { return String(format: "%.1fms", Double(micros) / 1000) }
    return String(format: "%.1fs", Double(micros) / 1_000_000)
}
