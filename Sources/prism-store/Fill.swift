import ArgumentParser
import EventStore
import Foundation

extension PrismStore {
    /// `prism store fill DIR --events N`: a store with N synthetic events, written fast, for
    /// measuring how appends behave with a long log (`docs/BENCHMARKS.md`, "A long log").
    struct Fill: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Append synthetic events to a data directory quickly (for benchmarks with a long log).")

        @Argument(help: "The write node's data directory (no write node may be running on it).")
        var directory: String

        @Option(help: "Events to append.")
        var events = 1_000_000

        @Option(help: "Streams the events are spread over (bench-0 … bench-N-1, as prism bench append uses).")
        var streams = 5_000

        @Option(help: "Bytes of each event's data (a JSON object), about.")
        var eventBytes = 200

        @Option(help: "Events per group (one fdatasync each).")
        var groupEvents = 10_000

        @Option(help: "Size of new segment files, in bytes.")
        var segmentBytes = 256 << 20

        func validate() throws {
            guard events >= 1 else { throw ValidationError("--events must be at least 1") }
            guard streams >= 1 else { throw ValidationError("--streams must be at least 1") }
            guard (16...65_536).contains(eventBytes) else { throw ValidationError("--event-bytes must be 16…65536") }
            guard groupEvents >= 1 else { throw ValidationError("--group-events must be at least 1") }
        }

        func run() throws {
            var options = EventStore.Options()
            options.segmentBytes = segmentBytes
            let store = try EventStore(directory: directory, options: options)
            defer { try? store.close() }
            var versions: [Int64] = Array(repeating: -1, count: streams)
            // Versions of streams that already hold events (a second fill continues them).
            for index in 0..<streams {
                versions[index] = try store.streamVersion("bench-\(index)") ?? -1
            }
            let padding = String(repeating: "x", count: max(0, eventBytes - 40))
            let started = monotonicNanoseconds()
            var written = 0
            var random = SystemRandomNumberGenerator()
            while written < events {
                let head = store.headPosition
                let count = min(groupEvents, events - written)
                let recordedAt = wallClockNanoseconds()
                let group = (0..<count).map { offset -> RecordedEvent in
                    let stream = Int.random(in: 0..<streams, using: &random)
                    versions[stream] += 1
                    return RecordedEvent(
                        id: .timeOrdered(), position: head + 1 + Int64(offset), stream: "bench-\(stream)",
                        version: versions[stream], type: "BenchEvent",
                        data: Array(#"{"n":\#(head + 1 + Int64(offset)),"pad":"\#(padding)"}"#.utf8),
                        metadata: nil, recordedAt: recordedAt)
                }
                try store.appendRecorded(group)
                written += count
                if written % 1_000_000 < count {
                    let seconds = Double(monotonicNanoseconds() - started) / 1e9
                    FileHandle.standardError.write(Data("prism store fill: \(written) events, \(Int(Double(written) / seconds))/s\n".utf8))
                }
            }
            let seconds = Double(monotonicNanoseconds() - started) / 1e9
            print("filled \(directory): \(written) events in \(String(format: "%.1f", seconds)) s, head \(store.headPosition)")
        }
    }
}
