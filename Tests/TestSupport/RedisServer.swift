import Foundation
import Glibc

/// A throwaway Redis server for a test: `scripts/store-server redis` (AOF, appendfsync everysec)
/// on a free port, its data in `<directory>/redis`, killed when released.
///
/// `stop`, `kill` and `start` bring the same server back on the same port and directory, as a
/// restarted Redis would come back with its append-only file.
public final class RedisServer: @unchecked Sendable {
    public let directory: String
    public let port: Int
    public let password: String?
    private var process: ManagedProcess?

    /// Starts a server and waits until it is ready.
    ///
    /// - Parameters:
    ///   - directory: a directory of the test's (created if missing); the server's data and logs go under it.
    ///   - password: `requirepass`, or nil for none.
    public init(directory: String, password: String? = nil) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        port = freeTCPPort()
        self.password = password
        try start()
    }

    /// `redis://[:password@]127.0.0.1:<port>`.
    public var url: String { "redis://\(password.map { ":\($0)@" } ?? "")127.0.0.1:\(port)" }

    private var dataDirectory: String { directory + "/redis" }

    /// Starts the server (again) on the same port and directory and waits until it is ready:
    /// Redis says "Ready to accept connections" once it has loaded its append-only file.
    ///
    /// - Throws: `TestFailure` when it exits or does not answer within 20 s.
    public func start() throws {
        var arguments = ["redis", "--dir", dataDirectory, "--port", String(port)]
        if let password { arguments += ["--password", password] }
        let process = try ManagedProcess.storeServer(arguments, name: "redis-server", logDirectory: URL(fileURLWithPath: directory))
        self.process = process
        let ready = waitUntil(timeout: .seconds(20), interval: .milliseconds(20)) {
            !process.isRunning || process.standardOutput.contains("Ready to accept connections")
        }
        guard ready, process.isRunning else {
            throw TestFailure("redis-server on port \(port) did not come up: \(process.standardOutput) \(process.standardError)")
        }
    }

    /// Stops the server with SIGTERM (Redis flushes its AOF) and waits for it to exit.
    public func stop() { end(SIGTERM) }

    /// Kills the server with SIGKILL, as a crash would, and waits for it to exit.
    public func kill() { end(SIGKILL) }

    private func end(_ signal: Int32) {
        guard let process else { return }
        process.signal(signal)
        _ = process.waitForExit(timeout: 30)
        self.process = nil
    }
}
