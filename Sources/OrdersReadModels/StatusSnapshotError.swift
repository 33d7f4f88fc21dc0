/// A status snapshot that cannot be read or written.
///
/// The message names the file and states what was found, e.g.
/// "status snapshot /data/status/status.snapshot is corrupt: checksum mismatch (stored 1f…, computed 9a…); …".
public struct StatusSnapshotError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        /// The file exists but is not a complete, intact snapshot this build can read.
        case corrupt = "Corrupt"
        /// A system call failed while reading or writing the file.
        case io = "IO"
    }

    public var code: Code
    /// The file concerned.
    public var path: String
    public var message: String

    public init(_ code: Code, path: String, _ message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    public var description: String { message }
}
