import ArgumentParser
import EventModel
import WireProtocol
import ZeroMQ

extension Prism {
    /// `prism read order-o-1`: a stream's events in version order, through the catch-up endpoint.
    struct Read: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a stream's events.")

        @Argument(help: "The stream.")
        var stream: String

        @Option(help: "First version to print.")
        var from: Int64 = 0

        @Option(help: "Most events to print.")
        var limit = 1000

        @OptionGroup var node: WriteNodeOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let context = try Context()
            let client = try node.catchUp().client(context)
            var version = from
            var remaining = limit
            while remaining > 0 {
                let request = CatchUp.StreamRequest(stream: stream, fromVersion: version, limit: min(remaining, 1000))
                let frames = try client.request([request.json.jsonBytes], timeout: node.timeoutMs)
                guard let first = frames.first else { throw CLIError("empty reply") }
                let summary = try CatchUp.Summary(body: first)
                for body in frames.dropFirst() {
                    printEvent(try EventFrames.decodeBody(body), json: output.json)
                }
                if summary.count < request.limit { break }
                remaining -= summary.count
                version += Int64(summary.count)
            }
        }
    }
}

/// Prints one event: JSON as on the wire, or `17 order-o-1@0 OrderCreated {data}`.
func printEvent(_ event: RecordedEvent, json: Bool) {
    if json {
        print(String(decoding: EventFrames.body(of: event), as: UTF8.self))
    } else {
        print("\(event.position) \(event.stream)@\(event.version) \(event.type) \(String(decoding: event.data, as: UTF8.self))")
    }
}
