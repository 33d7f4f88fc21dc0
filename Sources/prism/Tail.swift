import ArgumentParser
import Dispatch
import Foundation
import Subscription
import WireProtocol
import ZeroMQ

extension Prism {
    /// `prism tail --from 0 --category order`: follow the event stream without losing or repeating one.
    struct Tail: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Follow events live, repairing any gap through the catch-up endpoint.")

        @Option(help: "Print events after this position (0: from the beginning).")
        var from: Int64?

        @Option(help: "Only this category's events.")
        var category: String?

        @Option(help: "Stop after this many events (for scripts).")
        var count: Int?

        @OptionGroup var node: WriteNodeOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let context = try Context()
            let start = try from ?? currentHead(context)
            var configuration = EventFeed.Configuration(
                publishEndpoint: node.publishEndpoint, catchUpEndpoint: node.catchUpEndpoint, category: category)
            configuration.requestTimeoutMs = node.timeoutMs
            // The PUB and catch-up endpoints are both the write node's: one server key.
            let server = try node.catchUp()
            configuration.curve = server.curve
            let feed = try EventFeed(context: context, configuration: configuration, after: start)
            let stop = StopFlag()
            let signals = [SIGINT, SIGTERM].map { number in
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { stop.set() }
                source.resume()
                return source
            }
            defer { signals.forEach { $0.cancel() } }
            var printed = 0
            var hinted = false
            while !stop.isSet {
                // The feed retries a failed catch-up forever (it outlives write node restarts); a refusal
                // will not change by retrying, and a silence under CURVE may be a refused key.
                switch feed.lastFailure {
                case .refused(let error) where error.code == .forbidden:
                    throw CLIError("catch-up: \(error)")
                case .silent where !hinted:
                    if let hint = server.silenceHint, let failure = feed.lastError {
                        FileHandle.standardError.write(Data("prism tail: \(failure); \(hint)\n".utf8))
                        hinted = true
                    }
                default: break
                }
                for event in try feed.poll(timeout: 200).events {
                    printEvent(event, json: output.json)
                    printed += 1
                    if let count, printed >= count { return }
                }
                fflush(nil)  // all streams: a pipe reader sees each event as it comes
            }
        }

        /// Without `--from`, tail starts at the head, like `tail -f`.
        private func currentHead(_ context: Context) throws -> Int64 {
            let reply = try node.command().client(context).requestJSON(["query": "health"], timeout: node.timeoutMs)
            return reply["position"]?.intValue ?? 0
        }
    }
}

/// A flag set from a signal handler's queue and read by the loop.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
