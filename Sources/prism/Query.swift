import ArgumentParser
import SecurityOptions
import WireProtocol
import ZeroMQ

extension Prism {
    /// `prism query orders ordersByStatus status=payment_pending userState=California --min-position 17`.
    struct Query: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Query a projector's read model.",
            discussion: "Parameters are key=value (a string) or key:=json (a number, boolean …).")

        @Argument(help: "The projector: orders, search, status or history.")
        var projector: String

        @Argument(help: "The query, e.g. ordersByStatus, search, orderStatus, monthly, stats, health.")
        var query: String

        @Argument(help: "The query's parameters.")
        var parameters: [String] = []

        @Option(help: "Answer only once this position is applied (read your writes).")
        var minPosition: Int64?

        @Option(help: "How long the projector may wait for --min-position, in milliseconds.")
        var waitMs = 5000

        @Option(help: "The projector's query endpoint (default: its standard port on 127.0.0.1).")
        var endpoint: String?

        @Option(help: "Milliseconds to wait for a reply.")
        var timeoutMs = 10_000

        @OptionGroup var keys: KeyOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            guard let target = endpoint ?? DefaultEndpoints.queries.first(where: { $0.name == projector })?.endpoint else {
                throw CLIError("unknown projector '\(projector)' (known: \(DefaultEndpoints.queries.map(\.name).joined(separator: ", "))); or give --endpoint")
            }
            var request: [String: JSONValue] = ["query": .string(query), "params": .object(try parseFields(parameters))]
            if let minPosition {
                request["minPosition"] = .int(minPosition)
                request["timeoutMs"] = .int(Int64(waitMs))
            }
            let context = try Context()
            let reply = try keys.projector(projector, endpoint: target).client(context).requestJSON(.object(request), timeout: timeoutMs)
            if output.json {
                print(reply.jsonString)
            } else {
                print("position \(reply["position"]?.intValue ?? 0)")
                print(prettyJSON(reply["result"] ?? .null))
            }
        }
    }
}

/// JSON over several lines with two-space indentation, for people.
func prettyJSON(_ value: JSONValue, indent: String = "") -> String {
    let inner = indent + "  "
    switch value {
    case .array(let elements) where !elements.isEmpty:
        return "[\n" + elements.map { inner + prettyJSON($0, indent: inner) }.joined(separator: ",\n") + "\n\(indent)]"
    case .object(let members) where !members.isEmpty:
        return "{\n" + members.keys.sorted().map { key in
            inner + JSONValue.string(key).jsonString + ": " + prettyJSON(members[key]!, indent: inner)
        }.joined(separator: ",\n") + "\n\(indent)}"
    default:
        return value.jsonString
    }
}
