import EventStore
import WireProtocol

extension WireError {
    /// The one mapping from the store's failures to the wire's error codes.
    init(_ error: EventStoreError) {
        let code: ErrorCode
        switch error.code {
        case .wrongExpectedVersion: code = .wrongExpectedVersion
        case .invalidArgument, .idempotencyConflict: code = .invalidArgument
        case .locked, .damaged, .io: code = .unavailable
        }
        self.init(code, code == .unavailable ? "event store: \(error.message)" : error.message)
    }
}
