/// What an append expects of its stream: the optimistic-concurrency check.
public enum ExpectedVersion: Sendable, Equatable, CustomStringConvertible {
    /// The stream's last event has exactly this version.
    case exact(Int64)
    /// The stream has no events yet.
    case noStream
    /// No check.
    case any

    public var description: String {
        switch self {
        case .exact(let version): "\(version)"
        case .noStream: "noStream"
        case .any: "any"
        }
    }
}
