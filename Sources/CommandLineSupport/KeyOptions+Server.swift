import Logging
import Security
import SecurityOptions

extension KeyOptions {
    /// A server process's CURVE set-up, or nil without a key directory.
    ///
    /// - Throws: `StartupFailure` naming the key file or directory that cannot be used.
    public func serverSecurity(defaultIdentity: String, logger: Logger) throws -> ServerSecurity? {
        guard let directory else { return nil }
        do {
            return try ServerSecurity(keys: directory, identity: identity(default: defaultIdentity), logger: logger)
        } catch {
            throw StartupFailure("\(error.message)")
        }
    }
}
