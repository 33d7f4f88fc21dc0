import Foundation
import JSON
import Logging
import Synchronization

/// Writes each log record to standard error as one JSON object on one line:
/// `{"time": "2026-12-03T15:40:00.123Z", "level": "notice", "logger": "prism.orders-projector",
/// "message": "…", <metadata keys>…}`.
///
/// Metadata keys sit at the top level, as log shippers index them, under the fixed four (a
/// metadata key named like one of those is dropped rather than allowed to hide it). One `write(2)`
/// per record under a lock, so records from several threads never interleave.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String

    public init(label: String) {
        self.label = label
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: JSONValue] = [:]
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let explicit = event.metadata { merged.merge(explicit) { $1 } }
        for (key, value) in merged { fields[key] = Self.json(value) }
        fields["time"] = .string(Self.timestamp(Date()))
        fields["level"] = .string(event.level.rawValue)
        fields["logger"] = .string(label)
        fields["message"] = .string(event.message.description)
        if let error = event.error { fields["error"] = .string("\(error)") }
        var bytes = JSONWriter.write(.object(fields))
        bytes.append(UInt8(ascii: "\n"))
        Self.output.withLock { _ in
            bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = Foundation.write(2, buffer.baseAddress! + offset, buffer.count - offset)
                    if written <= 0 { break }  // stderr closed: the record is lost, the process goes on
                    offset += written
                }
            }
        }
    }

    private static let output = Mutex(())

    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let text): .string(text)
        case .stringConvertible(let convertible): .string(convertible.description)
        case .array(let values): .array(values.map(json))
        case .dictionary(let entries): .object(entries.mapValues(json))
        }
    }

    /// RFC 3339 in UTC with milliseconds.
    static func timestamp(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        var whole = time_t(seconds.rounded(.down))
        var parts = tm()
        gmtime_r(&whole, &parts)
        let milliseconds = Int((seconds - seconds.rounded(.down)) * 1000)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), milliseconds)
    }
}
