/// Why a domain refused a command: a stable `code` and a `message` that states facts.
///
/// The write node answers it with the wire error of the same name (`UnknownCommand`,
/// `InvalidArgument`, `Rejected`); the raw values are those names.
public struct DecisionError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable, CaseIterable {
        /// The domain has no command of that name.
        case unknownCommand = "UnknownCommand"
        /// The command's data is missing a field, or has one of the wrong type or out of range.
        case invalidArgument = "InvalidArgument"
        /// A domain rule forbids the command in the current state.
        case rejected = "Rejected"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
