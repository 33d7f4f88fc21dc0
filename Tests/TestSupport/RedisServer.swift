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

    /// Starts a server and waits until it answers `PING`.
    ///
    /// - Parameters:
    ///   - directory: an empty directory of the test's; the server's data and logs go under it.
    ///   - password: `requirepass`, or nil for none.
    public init(directory: String, password: String? = nil) throws {
        self.directory = directory
        port = freeTCPPort()
        self.password = password
        try start()
    }

    /// `redis://[:password@]127.0.0.1:<port>`.
    public var url: String { "redis://\(password.map { ":\($0)@" } ?? "")127.0.0.1:\(port)" }

    public var dataDirectory: String { directory + "/redis" }

    /// Starts the server (again) on the same port and directory and waits until it answers `PING`.
    ///
    /// - Throws: `TestFailure` when it exits or does not answer within 20 s.
    public func start() throws {
        var arguments = ["redis", "--dir", dataDirectory, "--port", String(port)]
        if let password { arguments += ["--password", password] }
        let process = try ManagedProcess(
            executable: ManagedProcess.packageRoot.appendingPathComponent("scripts/store-server"), name: "redis-server",
            arguments, logDirectory: URL(fileURLWithPath: directory))
        self.process = process
        let ready = waitUntil(timeout: .seconds(20), interval: .milliseconds(20)) { !process.isRunning || ping() }
        guard ready, process.isRunning else {
            throw TestFailure("redis-server on port \(port) did not come up: \(process.standardOutput) \(process.standardError)")
        }
    }

    /// Stops the server with SIGTERM (Redis flushes its AOF) and waits for it to exit.
    public func stop() { end(SIGTERM) }

    /// Kills the server with SIGKILL, as a crash would, and waits for it to exit.
    public func kill() { end(SIGKILL) }

    /// Kills the server and starts it again on the same port and directory.
    public func restart() throws {
        kill()
        try start()
    }

    private func end(_ signal: Int32) {
        guard let process else { return }
        process.signal(signal)
        _ = process.waitForExit(timeout: 30)
        self.process = nil
    }

    /// Whether the server answers `PING` with `PONG` (not `LOADING`, not a refused connection).
    public func ping() -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { return false }
        // AUTH first when there is a password: PING answers NOAUTH without it.
        var request = ""
        if let password { request += "AUTH \(password)\r\n" }
        request += "PING\r\n"
        guard send(fd, request, request.utf8.count, Int32(MSG_NOSIGNAL)) == request.utf8.count else { return false }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        while !String(decoding: reply, as: UTF8.self).contains("PONG") && !String(decoding: reply, as: UTF8.self).contains("-") {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { return false }
            reply += buffer[0..<count]
        }
        return String(decoding: reply, as: UTF8.self).hasSuffix("+PONG\r\n")
    }
}
