import ArgumentParser
import Foundation
import SecurityOptions
import WireProtocol
import ZeroMQ

extension Prism {
    /// `prism status`: the write node's head and every projector's position, lag and health.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the head position and each projector's lag and health.")

        @Option(help: "The write node's command endpoint.")
        var commandEndpoint = DefaultEndpoints.command

        @Option(name: .customLong("projector"), help: "A projector as name=endpoint (repeatable; default: the four standard ones).")
        var projectors: [String] = []

        @Option(help: "Milliseconds to wait for each reply.")
        var timeoutMs = 2000

        @OptionGroup var keys: KeyOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let context = try Context()
            var head: Int64?
            if let reply = try? keys.writeNode(commandEndpoint).client(context).requestJSON(["query": "health"], timeout: timeoutMs) {
                head = reply["position"]?.intValue
            }
            let targets: [(name: String, endpoint: String)] = try projectors.isEmpty ? DefaultEndpoints.queries : projectors.map { spec in
                guard let equals = spec.firstIndex(of: "=") else { throw CLIError("--projector takes name=endpoint, got \(spec)") }
                return (String(spec[..<equals]), String(spec[spec.index(after: equals)...]))
            }
            var rows: [JSONValue] = []
            for target in targets {
                let client = try keys.projector(target.name, endpoint: target.endpoint).client(context)
                guard let health = try? client.requestJSON(["query": "health"], timeout: timeoutMs)["result"],
                      let stats = try? client.requestJSON(["query": "stats"], timeout: timeoutMs)["result"]
                else {
                    rows.append(["name": .string(target.name), "status": "unreachable", "endpoint": .string(target.endpoint)])
                    continue
                }
                rows.append(["name": .string(target.name), "status": health["status"] ?? "?", "applied": stats["applied"] ?? 0,
                             "behind": .int(max(0, (head ?? 0) - (stats["applied"]?.intValue ?? 0))),
                             "eventsApplied": stats["eventsApplied"] ?? 0, "lagUs": stats["lagUs"] ?? .null,
                             "endpoint": .string(target.endpoint)])
            }
            if output.json {
                print(JSONValue.object(["head": head.map { .int($0) } ?? .null, "projectors": .array(rows)]).jsonString)
                return
            }
            print("write node: " + (head.map { "head position \($0)" } ?? "unreachable at \(commandEndpoint)"))
            print(pad("projector", 10) + pad("status", 13) + pad("applied", 10) + pad("behind", 8)
                  + pad("lag p50", 10) + pad("p99", 10) + pad("p99.9", 10) + "max")
            for row in rows {
                let lag = row["lagUs"]
                func micros(_ key: String) -> String { lag?[key]?.intValue.map(formatMicros) ?? "-" }
                print(pad(row["name"]?.stringValue ?? "?", 10) + pad(row["status"]?.stringValue ?? "?", 13)
                      + pad(row["applied"]?.intValue.map(String.init) ?? "-", 10) + pad(row["behind"]?.intValue.map(String.init) ?? "-", 8)
                      + pad(micros("p50"), 10) + pad(micros("p99"), 10) + pad(micros("p999"), 10) + micros("max"))
            }
        }
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
