import ArgumentParser
import Foundation
import Logging
import Synchronization

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// How a process writes its log to standard error.
public enum LogFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// swift-log's line for people: time, level, label, metadata, message.
    case text
    /// One JSON object per line for log shippers (Loki, Elasticsearch, Vector): `JSONLogHandler`.
    case json
}

/// `--log-level` and `--log-format`, shared by every server process.
public struct LogOptions: ParsableArguments {
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    public var logLevel: Logger.Level = .info

    @Option(help: "Log format on standard error: text (for people) or json (one object per line, for log shippers).")
    public var logFormat: LogFormat = .text

    public init() {}

    /// Routes every logger of the process (the store clients' too) to standard error in the
    /// chosen format and level, and returns the process's own logger.
    ///
    /// swift-log allows one bootstrap per process: later calls only make loggers.
    public func bootstrap(label: String) -> Logger {
        let (format, level) = (logFormat, logLevel)
        LogOptions.once.withLock { done in
            guard !done else { return }
            done = true
            LoggingSystem.bootstrap { label in
                var handler: any LogHandler = switch format {
                case .text: StreamLogHandler.standardError(label: label)
                case .json: JSONLogHandler(label: label)
                }
                handler.logLevel = level
                return handler
            }
        }
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }

    private static let once = Mutex(false)
}
