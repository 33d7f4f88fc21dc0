import Foundation

/// A built executable of this package running as a child process, killed when released.
///
/// Standard output and error go to files so a test can read them after the fact without a pipe
/// filling up and blocking the child.
public final class ManagedProcess: @unchecked Sendable {
    public let name: String
    public let arguments: [String]
    private let process = Process()
    private let outputURL: URL
    private let errorURL: URL

    /// Starts `.build/debug/<name>` (or the directory in `PRISM_BIN_DIR`) with `arguments`, and
    /// `environment` added to this process's.
    public convenience init(_ name: String, _ arguments: [String], logDirectory: URL, environment: [String: String] = [:]) throws {
        try self.init(executable: Self.executable(name), name: name, arguments, logDirectory: logDirectory, environment: environment)
    }

    /// Starts any executable (a script of the repository), logging under `name`.
    /// `scripts/store-server` with `arguments` (`postgres|redis --dir D --port P …`): a throwaway
    /// database server in the foreground, for `PostgresServer` and `RedisServer`.
    public static func storeServer(_ arguments: [String], name: String, logDirectory: URL) throws -> ManagedProcess {
        try ManagedProcess(executable: packageRoot.appendingPathComponent("scripts/store-server"), name: name, arguments, logDirectory: logDirectory)
    }

    public init(executable: URL, name: String, _ arguments: [String], logDirectory: URL, environment: [String: String] = [:]) throws {
        self.name = name
        self.arguments = arguments
        let tag = "\(name)-\(UUID().uuidString.prefix(8))"
        outputURL = logDirectory.appendingPathComponent("\(tag).out")
        errorURL = logDirectory.appendingPathComponent("\(tag).err")
        FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        FileManager.default.createFile(atPath: errorURL.path, contents: nil)
        process.executableURL = executable
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.standardOutput = try FileHandle(forWritingTo: outputURL)
        process.standardError = try FileHandle(forWritingTo: errorURL)
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Where the package's executables were built.
    public static func executable(_ name: String) -> URL {
        if let directory = ProcessInfo.processInfo.environment["PRISM_BIN_DIR"] {
            return URL(fileURLWithPath: directory).appendingPathComponent(name)
        }
        return packageRoot.appendingPathComponent(".build/debug/\(name)")
    }

    /// The repository root, found from this file's location.
    public static let packageRoot: URL = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }()

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// Signals the process if it is still running (a reaped pid may already belong to another).
    public func signal(_ number: Int32) {
        if process.isRunning { kill(process.processIdentifier, number) }
    }

    /// Waits for the process to exit, at most `timeout` seconds.
    ///
    /// - Returns: the exit status (or 128 + signal), nil if it was still running at the deadline.
    public func waitForExit(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline { return nil }
            usleep(5_000)
        }
        return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }

    public var standardOutput: String { (try? String(contentsOf: outputURL, encoding: .utf8)) ?? "" }
    public var standardError: String { (try? String(contentsOf: errorURL, encoding: .utf8)) ?? "" }
}

/// Runs a built executable to completion and returns its status and output.
public func runExecutable(_ name: String, _ arguments: [String], timeout: Double = 60) throws -> (status: Int32, output: String, error: String) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("prism-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let process = try ManagedProcess(name, arguments, logDirectory: directory)
    guard let status = process.waitForExit(timeout: timeout) else {
        process.signal(SIGKILL)
        throw TestFailure("\(name) \(arguments.joined(separator: " ")) did not finish within \(timeout) s")
    }
    return (status, process.standardOutput, process.standardError)
}

/// A test-harness failure with a readable message.
public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
