import Foundation
import WireProtocol
import ZeroMQ

/// A `write-node` child process on its own ports and data directory, ready when `start` returns.
public final class WriteNodeProcess: @unchecked Sendable {
    public let dataDirectory: URL
    public let commandEndpoint: String
    public let publishEndpoint: String
    public let catchUpEndpoint: String
    public let extraArguments: [String]
    /// The keys the readiness check reaches a write node started with `--keys` with.
    public let curve: CurveClientKeys?
    public private(set) var process: ManagedProcess?
    private let workDirectory: URL

    /// - Parameter workDirectory: holds the data directory and the logs; the caller removes it.
    public init(workDirectory: URL, extraArguments: [String] = [], curve: CurveClientKeys? = nil) {
        self.workDirectory = workDirectory
        self.dataDirectory = workDirectory.appendingPathComponent("write-node")
        self.commandEndpoint = freeTCPEndpoint()
        self.publishEndpoint = freeTCPEndpoint()
        self.catchUpEndpoint = freeTCPEndpoint()
        self.extraArguments = extraArguments
        self.curve = curve
    }

    public var arguments: [String] {
        ["--data-dir", dataDirectory.path, "--command-endpoint", commandEndpoint,
         "--publish-endpoint", publishEndpoint, "--catch-up-endpoint", catchUpEndpoint,
         // Small segments: tests roll segments often, and do not zero-fill 256 MiB each.
         "--segment-bytes", "1048576"] + extraArguments
    }

    /// Starts the process and polls its health query until it answers (at most `timeout` seconds).
    @discardableResult
    public func start(timeout: Double = 20) throws -> ManagedProcess {
        let process = try ManagedProcess("write-node", arguments, logDirectory: workDirectory)
        self.process = process
        let context = try Context()
        let client = RequestClient(context, endpoint: commandEndpoint, curve: curve)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !process.isRunning {
                throw TestFailure("write-node exited early: \(process.standardError)")
            }
            if let frames = try? client.request(Array(#"{"query":"health"}"#.utf8), timeout: 200),
               let reply = try? JSONParser.parse(frames.last ?? []), reply["ok"] == .bool(true) {
                return process
            }
        }
        throw TestFailure("write-node did not answer within \(timeout) s: \(process.standardError)")
    }

    /// SIGTERM, then waits for the exit status.
    public func stop(timeout: Double = 10) -> Int32? {
        guard let process else { return nil }
        process.signal(SIGTERM)
        return process.waitForExit(timeout: timeout)
    }

    public func kill() {
        process?.signal(SIGKILL)
        _ = process?.waitForExit(timeout: 10)
    }
}

/// A request/reply client for tests: JSON in, JSON out, never hanging past its timeout.
public class JSONRequestClient: @unchecked Sendable {
    public let context: Context
    private let client: RequestClient

    /// - Parameter curve: the keys to reach a CURVE server with; nil for plain text.
    public init(endpoint: String, curve: CurveClientKeys? = nil) throws {
        context = try Context()
        client = RequestClient(context, endpoint: endpoint, curve: curve)
    }

    /// Sends a raw body and returns the parsed reply.
    public func send(_ body: [UInt8], timeout: Int = 5000) throws -> JSONValue {
        let frames = try client.request(body, timeout: timeout)
        guard frames.count == 1 else { throw TestFailure("reply has \(frames.count) frames") }
        return try JSONParser.parse(frames[0])
    }

    public func send(_ request: JSONValue, timeout: Int = 5000) throws -> JSONValue {
        try send(request.jsonBytes, timeout: timeout)
    }
}

/// A client of a write node's command endpoint.
public final class WriteNodeClient: JSONRequestClient, @unchecked Sendable {
    public func command(_ name: String, _ data: JSONValue) throws -> JSONValue {
        try send(["command": .string(name), "data": data])
    }
}
