import Foundation
import WireProtocol
import ZeroMQ

/// A projector child process (`orders-projector` …) on its own query port and data directory.
public final class ProjectorProcess: @unchecked Sendable {
    public let name: String
    public let dataDirectory: URL

    /// The live copy of the model: the `generation-<n>` directory the data directory's `CURRENT`
    /// names (nil before the projector first started).
    public var liveModelDirectory: URL? {
        guard let data = FileManager.default.contents(atPath: dataDirectory.appendingPathComponent("CURRENT").path) else { return nil }
        let name = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return dataDirectory.appendingPathComponent(name)
    }
    public let queryEndpoint: String
    public private(set) var process: ManagedProcess?
    private let writeNode: WriteNodeProcess
    private let workDirectory: URL
    private let extraArguments: [String]

    /// - Parameter name: `orders`, `search`, `status` or `history`.
    public init(_ name: String, writeNode: WriteNodeProcess, workDirectory: URL, extraArguments: [String] = []) {
        self.name = name
        self.writeNode = writeNode
        self.workDirectory = workDirectory
        self.dataDirectory = workDirectory.appendingPathComponent("\(name)-projector")
        self.queryEndpoint = freeTCPEndpoint()
        self.extraArguments = extraArguments
    }

    public func arguments(rebuild: Bool = false) -> [String] {
        ["--data-dir", dataDirectory.path, "--query-endpoint", queryEndpoint,
         "--publish-endpoint", writeNode.publishEndpoint, "--catch-up-endpoint", writeNode.catchUpEndpoint,
         "--silence-timeout-ms", "1000"] + (rebuild ? ["--rebuild"] : []) + extraArguments
    }

    /// Starts the projector and polls `health` until it answers (at most `timeout` seconds).
    @discardableResult
    public func start(rebuild: Bool = false, timeout: Double = 20) throws -> ManagedProcess {
        let process = try ManagedProcess("\(name)-projector", arguments(rebuild: rebuild), logDirectory: workDirectory)
        self.process = process
        let client = try QueryClient(endpoint: queryEndpoint)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !process.isRunning { throw TestFailure("\(name)-projector exited early: \(process.standardError)") }
            if let reply = try? client.query("health", timeout: 200), reply["ok"] == .bool(true) { return process }
        }
        throw TestFailure("\(name)-projector did not answer within \(timeout) s: \(process.standardError)")
    }

    public func stop(timeout: Double = 10) -> Int32? {
        process?.signal(SIGTERM)
        return process?.waitForExit(timeout: timeout)
    }

    public func kill() {
        process?.signal(SIGKILL)
        _ = process?.waitForExit(timeout: 10)
    }
}

/// A client of a projector's query endpoint.
public final class QueryClient: JSONRequestClient, @unchecked Sendable {
    public func query(_ name: String, _ params: JSONValue = [:], minPosition: Int64? = nil,
                      waitMs: Int? = nil, timeout: Int = 5000) throws -> JSONValue {
        var request: [String: JSONValue] = ["query": .string(name), "params": params]
        if let minPosition { request["minPosition"] = .int(minPosition) }
        if let waitMs { request["timeoutMs"] = .int(Int64(waitMs)) }
        return try send(JSONValue.object(request).jsonBytes, timeout: timeout)
    }

    /// Waits until the projector has applied `position` (the digest of a settled model, say).
    public func waitForPosition(_ position: Int64, timeout: Double = 30) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let reply = try query("health", minPosition: position, waitMs: 1000, timeout: 3000)
            if reply["ok"] == .bool(true) { return }
        }
        throw TestFailure("position \(position) not applied within \(timeout) s")
    }
}
