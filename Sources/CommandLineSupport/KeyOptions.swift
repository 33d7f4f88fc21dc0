import ArgumentParser
import Foundation
import Logging
import Security

/// `--keys DIR` and `--identity NAME`: CURVE on, with this process's key from `DIR/<identity>.key`
/// (`docs/SECURITY.md`). Without `--keys` (or `PRISM_KEYS`) everything is plain text, open to anyone.
public struct KeyOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Key directory: turns CURVE encryption and role checks on (also PRISM_KEYS). See docs/SECURITY.md.",
        valueName: "dir"))
    public var keys: String?

    @Option(help: ArgumentHelp(
        "The name of this process's key in the key directory (<dir>/<name>.key). Default: the process's own name.",
        valueName: "name"))
    public var identity: String?

    public init() {}

    /// The key directory from the flag, else from `PRISM_KEYS`; nil when security is off.
    public var directory: KeyDirectory? {
        (keys ?? ProcessInfo.processInfo.environment["PRISM_KEYS"]).flatMap { $0.isEmpty ? nil : KeyDirectory($0) }
    }

    /// The identity from the flag, else `PRISM_IDENTITY`, else `fallback`.
    public func identity(default fallback: String) -> String {
        identity ?? ProcessInfo.processInfo.environment["PRISM_IDENTITY"] ?? fallback
    }

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
