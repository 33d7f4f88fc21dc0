extension WireError {
    /// The reply to a command a domain refused: the wire code of the same name.
    public init(_ error: DecisionError) {
        let code: ErrorCode =
            switch error.code {
            case .unknownCommand: .unknownCommand
            case .invalidArgument: .invalidArgument
            case .rejected: .rejected
            }
        self.init(code, error.message)
    }
}
