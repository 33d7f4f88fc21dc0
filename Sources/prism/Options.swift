import ArgumentParser
import Foundation
import WireProtocol
import SecurityOptions
import ZeroMQ

/// Where the write node listens and how to reach it; shared by every subcommand that talks to it.
struct WriteNodeOptions: ParsableArguments {
    @Option(help: "The write node's command endpoint.")
    var commandEndpoint = DefaultEndpoints.command

    @Option(help: "The write node's PUB endpoint.")
    var publishEndpoint = DefaultEndpoints.publish

    @Option(help: "The write node's catch-up endpoint.")
    var catchUpEndpoint = DefaultEndpoints.catchUp

    @Option(help: "Milliseconds to wait for a reply.")
    var timeoutMs = 5000

    @OptionGroup var keys: KeyOptions

    func command() throws -> Server { try keys.writeNode(commandEndpoint) }
    func catchUp() throws -> Server { try keys.writeNode(catchUpEndpoint, flag: "--catch-up-endpoint") }
}

/// The write node's command endpoint and each projector's query endpoint: the processes that
/// `status` and `dashboard` watch.
struct SystemEndpoints: ParsableArguments {
    @Option(help: "The write node's command endpoint.")
    var commandEndpoint = DefaultEndpoints.command

    @Option(name: .customLong("projector"), help: "A projector as name=endpoint (repeatable; default: the four standard ones).")
    var projectors: [String] = []

    func projectorTargets() throws -> [(name: String, endpoint: String)] {
        try projectors.isEmpty ? DefaultEndpoints.queries : projectors.map { spec in
            guard let equals = spec.firstIndex(of: "=") else { throw CLIError("--projector takes name=endpoint, got \(spec)") }
            return (String(spec[..<equals]), String(spec[spec.index(after: equals)...]))
        }
    }

    /// The write node first, then each projector in `projectorTargets()`'s order, reached with
    /// `identity`'s key when CURVE is on (unless `--identity` or `PRISM_IDENTITY` names another).
    func servers(_ keys: KeyOptions, identity: String) throws -> [Server] {
        try [keys.writeNode(commandEndpoint, identity: identity)]
            + projectorTargets().map { try keys.projector($0.name, endpoint: $0.endpoint, flag: "--projector \($0.name)=…", identity: identity) }
    }
}

struct OutputOptions: ParsableArguments {
    @Flag(help: "Print JSON (one document per line) instead of text.")
    var json = false
}

/// A failure the CLI reports as `prism: <message>` with exit code 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Turns `key=value` (a string) and `key:=json` (any JSON value) into an object.
func parseFields(_ arguments: [String]) throws -> [String: JSONValue] {
    var fields: [String: JSONValue] = [:]
    for argument in arguments {
        if let range = argument.range(of: ":=") {
            let key = String(argument[..<range.lowerBound])
            do {
                fields[key] = try JSONParser.parse(String(argument[range.upperBound...]))
            } catch {
                throw CLIError("\(argument): the value after ':=' must be JSON (\(error))")
            }
        } else if let equals = argument.firstIndex(of: "=") {
            fields[String(argument[..<equals])] = .string(String(argument[argument.index(after: equals)...]))
        } else {
            throw CLIError("\(argument): expected key=value (a string) or key:=json (a number, object …)")
        }
    }
    return fields
}

/// Prints a write reply: `position 17: order-o-1@0 OrderCreated`.
func printWriteReply(_ reply: JSONValue, json: Bool) {
    if json {
        print(reply.jsonString)
        return
    }
    let position = reply["position"]?.intValue ?? 0
    let events = reply["events"]?.arrayValue ?? []
    if events.isEmpty { print("position \(position): no events") }
    for event in events {
        let stream = event["stream"]?.stringValue ?? "?"
        let version = event["version"]?.intValue ?? -1
        print("position \(event["position"]?.intValue ?? 0): \(stream)@\(version) \(event["type"]?.stringValue ?? "?")")
    }
}
