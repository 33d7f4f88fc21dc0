import ArgumentParser
import Foundation
import WireProtocol
import ZeroMQ

extension Prism {
    /// `prism append order-o-1 NoteAdded text="call back" --expected-version 2`.
    struct Append: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Append one event to a stream (event-store mode, no domain logic).")

        @Argument(help: "The stream, category-id.")
        var stream: String

        @Argument(help: "The event type.")
        var type: String

        @Argument(help: "The event's data fields: key=value or key:=json.")
        var fields: [String] = []

        @Option(help: "A version number, any, or noStream.")
        var expectedVersion = "any"

        @Option(help: "The event id (a UUID); repeat an append with the same id to retry it safely.")
        var id: String?

        @OptionGroup var node: WriteNodeOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let expected: JSONValue
            switch expectedVersion {
            case "any", "noStream": expected = .string(expectedVersion)
            default:
                guard let version = Int64(expectedVersion), version >= 0 else {
                    throw CLIError("--expected-version must be a version number, any or noStream, got \(expectedVersion)")
                }
                expected = .int(version)
            }
            let eventID = id ?? UUID().uuidString.lowercased()
            let request: JSONValue = [
                "append": [
                    "stream": .string(stream), "expectedVersion": expected,
                    "events": [["id": .string(eventID), "type": .string(type), "data": .object(try parseFields(fields))]],
                ],
            ]
            let context = try Context()
            printWriteReply(try node.command().client(context).requestJSON(request, timeout: node.timeoutMs), json: output.json)
        }
    }
}
