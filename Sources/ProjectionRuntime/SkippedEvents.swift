import EventStore
import Foundation
import WireProtocol

/// The events an operator told the projector to skip, one JSON object a line in
/// `<data dir>/skipped.jsonl`: the record of what a read model is missing, and what a restart (or a
/// rebuild) leaves out again.
final class SkippedEvents {
    static let fileName = "skipped.jsonl"
    let path: String
    private(set) var positions: Set<Int64> = []

    /// Reads the record in `directory` (none yet: empty).
    init(directory: String) throws {
        path = (directory as NSString).appendingPathComponent(Self.fileName)
        guard let data = FileManager.default.contents(atPath: path) else { return }
        if let last = data.last, last != UInt8(ascii: "\n") {
            // A line torn by a crash: cut it, or the next skip would be appended onto it and lost.
            let keep = (data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 }) ?? 0
            guard truncate(path, off_t(keep)) == 0 else {
                throw ProjectorError("cannot cut the torn last line of \(path): \(String(cString: strerror(errno)))")
            }
        }
        for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            // A line torn by a crash while it was written was never acknowledged: ignore it.
            if let entry = try? JSONParser.parse(Array(line)), let position = entry["position"]?.intValue {
                positions.insert(position)
            }
        }
    }

    func contains(_ position: Int64) -> Bool { positions.contains(position) }

    /// Appends `failure` with the time of the skip and syncs the file before returning.
    ///
    /// - Throws: `ProjectorError` naming the call that failed.
    func record(_ failure: ApplyFailure) throws {
        var entry = failure.json
        if case .object(var members) = entry {
            members["skippedAt"] = .int(wallClockNanoseconds())
            entry = .object(members)
        }
        try DurableFile.append(entry.jsonBytes + [UInt8(ascii: "\n")], to: path)
        positions.insert(failure.position)
    }
}

extension Array where Element == RecordedEvent {
    /// These events without the skipped positions (the same array when none are skipped).
    func leavingOut(_ skipped: Set<Int64>) -> [RecordedEvent] {
        skipped.isEmpty ? self : filter { !skipped.contains($0.position) }
    }
}
