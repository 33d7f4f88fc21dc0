import Foundation
import NIOCore
import NIOPosix
import PostgresNIO
import ProjectionRuntime

/// A statement the server refused for what it was given (a constraint, a bad value, an error
/// raised by a model's function): the event at fault, not the store, so the runtime stops there.
public struct PostgresQueryError: Error, Sendable, CustomStringConvertible {
    /// The SQLSTATE, e.g. `23505`.
    public var sqlState: String
    public var message: String

    public var description: String { "PostgreSQL error \(sqlState): \(message)" }
}

extension PostgresSession {
    /// Sorts an error from PostgresNIO as the store contract asks:
    ///
    /// - `ReadModelStoreError(disconnected: true)`: the connection refused, lost or timed out;
    ///   authentication (SQLSTATE class 28), a missing database (3D000), connection exceptions
    ///   (class 08), an administrator's shutdown (57P01–57P03); a missing schema, table or
    ///   function (3F000, 42P01, 42883: dropped under the projector); TLS or protocol trouble.
    /// - `ReadModelStoreError` (not disconnected): serialization failure (40001), deadlock (40P01),
    ///   insufficient resources (class 53, e.g. a full disk): the next try may pass.
    /// - `PostgresQueryError`: any other error the server sent.
    ///
    /// PostgresNIO's own descriptions hide the server's text (to keep it from end users); the
    /// messages built here carry it, with `endpoint`, because an operator reads them.
    static func classify(_ error: any Error, endpoint: String, user: String) -> any Error {
        if error is ReadModelStoreError || error is PostgresQueryError { return error }
        guard let error = error as? PSQLError else {
            return ReadModelStoreError("PostgreSQL at \(endpoint): \(readable(error))", disconnected: true)
        }
        switch error.code {
        case .server:
            let sqlState = error.serverInfo?[.sqlState] ?? "?????"
            var message = error.serverInfo?[.message] ?? "(no message)"
            if let detail = error.serverInfo?[.detail] { message += " (\(detail))" }
            if sqlState.hasPrefix("28") || sqlState == "3D000" || sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(sqlState) {
                return ReadModelStoreError("PostgreSQL at \(endpoint) refused the connection: \(message) (SQLSTATE \(sqlState))", disconnected: true)
            }
            // The model's schema, a table or a function of it dropped under the projector: the next connection
            // creates the schema again (checkpoint 0), and the runtime catches it up.
            if ["3F000", "42P01", "42883"].contains(sqlState) {
                return ReadModelStoreError("PostgreSQL at \(endpoint): \(message) (SQLSTATE \(sqlState)): was the schema dropped?", disconnected: true)
            }
            if ["40001", "40P01"].contains(sqlState) || sqlState.hasPrefix("53") {
                return ReadModelStoreError("PostgreSQL at \(endpoint): \(message) (SQLSTATE \(sqlState))")
            }
            return PostgresQueryError(sqlState: sqlState, message: message)
        case .connectionError:
            let cause = error.underlying.map(readable) ?? "connection failed"
            return ReadModelStoreError("cannot connect to PostgreSQL at \(endpoint): \(cause)", disconnected: true)
        case .serverClosedConnection, .uncleanShutdown, .clientClosedConnection:
            return ReadModelStoreError("lost the connection to PostgreSQL at \(endpoint) (\(error.code))", disconnected: true)
        case .authMechanismRequiresPassword:
            return ReadModelStoreError("PostgreSQL at \(endpoint) asks a password for user \(user): put it in the URL", disconnected: true)
        case .unsupportedAuthMechanism, .saslError:
            return ReadModelStoreError("cannot authenticate as \(user) to PostgreSQL at \(endpoint) (\(error.code))", disconnected: true)
        default:
            return ReadModelStoreError("PostgreSQL at \(endpoint): \(error.code)", disconnected: true)
        }
    }

    /// A network error in words: "connection refused", "timed out after 2 s".
    private static func readable(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError {
            if let failure = error.connectionErrors.first { return readable(failure.error) }
            if let dns = error.dnsAError ?? error.dnsAAAAError { return "cannot resolve \(error.host): \(readable(dns))" }
            return "cannot resolve \(error.host)"
        }
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        if let error = error as? ChannelError, case .connectTimeout(let timeout) = error {
            return "timed out after \(timeout.nanoseconds / 1_000_000) ms"
        }
        return String(reflecting: error)
    }
}
