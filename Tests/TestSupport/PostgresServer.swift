import Foundation

/// A throwaway PostgreSQL server for a test: `scripts/store-server postgres` on a free port, its
/// cluster in a temporary directory of its own (under /tmp, which the `postgres` user reaches
/// when the tests run as root), removed when released.
///
/// The server can be stopped, killed and started again on the same port and directory: the same
/// database comes back, as after a restart or a crash in production.
public final class PostgresServer: @unchecked Sendable {
    public let port: Int
    /// Holds the cluster (`data/`) and the server's output.
    public let directory: URL
    private var process: ManagedProcess?
    /// `scripts/store-server postgres` options beyond the directory and port (`--wal-level logical`).
    private let options: [String]

    /// The user, password and database `scripts/store-server` creates.
    public static let user = "prism", password = "prism", database = "prism"

    /// Starts a new server and waits until it accepts connections.
    ///
    /// - Parameters:
    ///   - logicalDecoding: `wal_level = logical` with wal2json's replication slots (CDC).
    ///   - maxSlotWALKeepSize: `max_slot_wal_keep_size` (`1MB`), nil for no limit.
    public init(logicalDecoding: Bool = false, maxSlotWALKeepSize: String? = nil) throws {
        options = (logicalDecoding ? ["--wal-level", "logical"] : []) + (maxSlotWALKeepSize.map { ["--max-slot-wal-keep-size", $0] } ?? [])
        port = freeTCPPort()
        directory = URL(fileURLWithPath: "/tmp").appendingPathComponent("prism-postgres-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try start()
    }

    deinit {
        kill()
        try? FileManager.default.removeItem(at: directory)
    }

    /// `postgres://prism:prism@127.0.0.1:<port>/prism`, or with another password.
    public func url(password: String = PostgresServer.password) -> String {
        "postgres://\(Self.user):\(password)@127.0.0.1:\(port)/\(Self.database)"
    }

    private var dataDirectory: URL { directory.appendingPathComponent("data") }

    /// Starts the server (creating the cluster the first time) and waits until it is ready:
    /// `postmaster.pid` names this process and says `ready`, which is how `pg_ctl` waits.
    ///
    /// - Throws: `TestFailure` with the server's output when it exits or is not ready within 60 s.
    public func start() throws {
        let process = try ManagedProcess.storeServer(
            ["postgres", "--dir", dataDirectory.path, "--port", String(port)] + options, name: "postgres", logDirectory: directory)
        self.process = process
        let ready = waitUntil(timeout: .seconds(60), interval: .milliseconds(20)) {
            guard process.isRunning else { return true }
            let lines = ((try? String(contentsOf: dataDirectory.appendingPathComponent("postmaster.pid"), encoding: .utf8)) ?? "")
                .split(separator: "\n", omittingEmptySubsequences: false)
            return lines.count > 7 && Int32(lines[0]) == process.pid && lines[7].trimmingCharacters(in: .whitespaces) == "ready"
        }
        guard ready, process.isRunning else {
            throw TestFailure("PostgreSQL on port \(port) did not start: \(process.standardError)")
        }
    }

    /// A fast shutdown (SIGINT: clients are disconnected, the cluster is checkpointed); waits for the exit.
    public func stop() {
        guard let process else { return }
        process.signal(SIGINT)
        _ = process.waitForExit(timeout: 60)
        self.process = nil
    }

    /// A crash: SIGKILL to the postmaster, then its backends, which exit once they notice it is
    /// gone (the next start refuses to run while any of them still holds the shared memory).
    public func kill() {
        guard let process else { return }
        // Listed before the kill: an orphan's parent becomes another process.
        let backends = Self.children(of: process.pid)
        process.signal(SIGKILL)
        _ = process.waitForExit(timeout: 60)
        for backend in backends { Glibc.kill(backend, SIGKILL) }
        waitUntil(timeout: .seconds(30)) { backends.allSatisfy { Self.status(of: $0)?.state ?? "Z" == "Z" } }
        self.process = nil
    }

    /// The processes whose parent is `pid` (from /proc).
    private static func children(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { status(of: $0)?.parent == pid }
    }

    /// A process's state letter (`Z` for a zombie) and parent, nil when it is gone.
    private static func status(of pid: Int32) -> (state: Substring, parent: Int32)? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else {
            return nil
        }
        // The fields after the command's closing parenthesis: state, then the parent's pid.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 1, let parent = Int32(fields[1]) else { return nil }
        return (fields[0], parent)
    }
}
