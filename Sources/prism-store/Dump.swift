import ArgumentParser
import EventStore
import Foundation
import WireProtocol

extension PrismStore {
    /// `prism store dump DIR --from N --limit K`: the log's events, read from the segments.
    struct Dump: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the events of a data directory's log, in position order.")

        @Argument(help: "The write node's data directory.")
        var directory: String

        @Option(help: "First position to print.")
        var from: Int64 = 1

        @Option(help: "Most events to print (all when omitted).")
        var limit: Int?

        @Flag(help: "One JSON object per line, as events are sent on the wire.")
        var json = false

        func validate() throws {
            guard from >= 1 else { throw ValidationError("--from must be at least 1, got \(from)") }
            if let limit, limit < 0 { throw ValidationError("--limit must not be negative, got \(limit)") }
        }

        func run() throws {
            let reader = try LogReader(directory: directory)
            var remaining = limit ?? Int.max
            guard remaining > 0 else { return }
            var output = FileHandleOutput()
            try reader.forEach(from: from) { event in
                output.write(json ? EventFrames.body(of: event) : Array(Self.line(event).utf8))
                remaining -= 1
                return remaining > 0
            }
            output.flush()
        }

        /// `17 order-o-1@0 OrderCreated 0190…-… 1718000000000000000 {data}`.
        static func line(_ event: RecordedEvent) -> String {
            var line = "\(event.position) \(event.stream)@\(event.version) \(event.type) \(event.id.uuidString.lowercased()) \(event.recordedAt) \(String(decoding: event.data, as: UTF8.self))"
            if let metadata = event.metadata { line += " metadata=" + String(decoding: metadata, as: UTF8.self) }
            return line
        }
    }
}

/// Buffered standard output: `print` per event would cost a write and a lock each.
struct FileHandleOutput {
    private var buffer: [UInt8] = []

    mutating func write(_ line: [UInt8]) {
        buffer.append(contentsOf: line)
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        FileHandle.standardOutput.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }
}
