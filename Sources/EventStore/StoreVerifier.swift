/// `prism store verify`: checks a data directory without changing it, beside a running node or not.
///
/// Every group's and record's checksum; positions 1…head without a hole; each stream's versions
/// 0…n in order; and the index agreeing with the log (every indexed position up to its
/// checkpoint is the record the log holds there, with the same stream and version, and none is
/// missing).
public enum StoreVerifier {
    public struct Report: Sendable {
        public var segments = 0
        public var events: Int64 = 0
        public var streams = 0
        public var head: Int64 = 0
        public var indexedPosition: Int64 = 0
        /// A torn tail that the next open will cut (normal after a crash; seen on a live node too,
        /// when a group is being written).
        public var tornTail: String?
        /// What is wrong; empty when the store is sound.
        public var problems: [String] = []

        public var isSound: Bool { problems.isEmpty }
    }

    public static func verify(directory: String) throws -> Report {
        try verify(directory: directory, fileSystem: POSIXFileSystem())
    }

    static func verify(directory: String, fileSystem: any LogFileSystem) throws -> Report {
        var report = Report()
        var versions: [String: Int64] = [:]
        let loaded: LogLoader.Loaded
        do {
            loaded = try LogLoader(directory: directory, fileSystem: fileSystem, readOnly: true).load(from: nil) { group in
                for event in group.events {
                    let expected = (versions[event.stream] ?? -1) + 1
                    if event.version != expected, report.problems.count < 100 {
                        report.problems.append("position \(event.position): stream \(event.stream) has version \(event.version) where \(expected) belongs")
                    }
                    versions[event.stream] = event.version
                }
                report.events += Int64(group.events.count)
            }
        } catch let error as EventStoreError {
            report.problems.append(error.message)
            return report
        }
        defer { loaded.segments.forEach { $0.file.close() } }
        report.segments = loaded.segments.count
        report.head = loaded.head
        report.streams = versions.count
        if let cut = loaded.cut { report.tornTail = "\(cut.bytes) bytes at \(cut.location) (cut on the next open)" }
        if report.events != report.head {
            report.problems.append("the log holds \(report.events) events but ends at position \(report.head)")
        }
        try verifyIndex(directory: directory, loaded: loaded, report: &report)
        return report
    }

    private static func verifyIndex(directory: String, loaded: LogLoader.Loaded, report: inout Report) throws {
        let index: LogIndex
        do {
            index = try LogIndex(directory: directory, readOnly: true)
        } catch let error as EventStoreError {
            report.problems.append("index: \(error.message) (the write node rebuilds it from the log on start)")
            return
        }
        defer { try? index.close() }
        let checkpoint = try index.checkpoint()
        report.indexedPosition = checkpoint?.position ?? 0
        if report.indexedPosition > loaded.head {
            report.problems.append("index: reaches position \(report.indexedPosition), beyond the log's head \(loaded.head)")
        }
        var files: [Int64: any LogFile] = [:]
        for segment in loaded.segments { files[segment.firstPosition] = segment.file }
        var expected: Int64 = 1
        var reader = RecordReader()
        try index.forEachEntry { position, stream, version, location in
            guard position <= report.indexedPosition else { return }
            if position != expected, report.problems.count < 100 {
                report.problems.append("index: no entry for position\(position - expected > 1 ? "s \(expected)...\(position - 1)" : " \(expected)")")
            }
            expected = position + 1
            guard let file = files[location.segment] else {
                report.problems.append("index: position \(position) points into segment \(location), which does not exist")
                return
            }
            let actual: (Int64, Int64, String)
            do {
                let event = try reader.record(at: location, in: file)
                actual = (event.position, event.version, event.stream)
            } catch let error as LogFormat.RecordProblem {
                report.problems.append("index: position \(position) points at \(location), where there is no valid record (\(error.reason))")
                return
            }
            if actual.0 != position || actual.1 != version || actual.2 != stream, report.problems.count < 100 {
                report.problems.append("index: position \(position) is \(stream)@\(version) at \(location), but the log has \(actual.2)@\(actual.1) (position \(actual.0)) there")
            }
        }
        if expected <= report.indexedPosition {
            report.problems.append("index: no entries for positions \(expected)...\(report.indexedPosition)")
        }
    }
}
