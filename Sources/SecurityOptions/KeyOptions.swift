import ArgumentParser
import Foundation
import Security

/// `--keys DIR` and `--identity NAME`: CURVE on, with this process's key from `DIR/<identity>.key`
/// (`docs/SECURITY.md`). Without `--keys` (or `PRISM_KEYS`) everything is plain text, open to anyone.
public struct KeyOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Key directory: turns CURVE encryption and role checks on (also PRISM_KEYS). See docs/SECURITY.md.",
        valueName: "dir"))
    public var keys: String?

    @Option(help: ArgumentHelp(
        "The name of this process's key in the key directory (<dir>/<name>.key; also PRISM_IDENTITY). Default: the process's own name; admin for prism.",
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
}
