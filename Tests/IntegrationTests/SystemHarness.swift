import Foundation
import TestSupport
import WireProtocol

/// A write node and some projectors, each on its own ports, in one temporary directory.
final class SystemHarness {
    let directory: URL
    let writeNode: WriteNodeProcess
    let client: WriteNodeClient
    private(set) var projectors: [String: ProjectorProcess] = [:]
    private(set) var queryClients: [String: QueryClient] = [:]

    static let allProjectors = ["orders", "search", "status", "history"]

    init(projectors names: [String] = SystemHarness.allProjectors, writeNodeArguments: [String] = []) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("prism-sys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        writeNode = WriteNodeProcess(workDirectory: directory, extraArguments: writeNodeArguments)
        try writeNode.start()
        client = try WriteNodeClient(endpoint: writeNode.commandEndpoint)
        for name in names {
            let projector = ProjectorProcess(name, writeNode: writeNode, workDirectory: directory)
            try projector.start()
            projectors[name] = projector
            queryClients[name] = try QueryClient(endpoint: projector.queryEndpoint)
        }
    }

    func query(_ projector: String, _ name: String, _ params: JSONValue = [:], minPosition: Int64? = nil) throws -> JSONValue {
        try queryClients[projector]!.query(name, params, minPosition: minPosition, waitMs: minPosition == nil ? nil : 5000)
    }

    /// Sends a command and returns its position, failing the test on an error reply.
    @discardableResult
    func send(_ command: String, _ data: JSONValue) throws -> Int64 {
        let reply = try client.command(command, data)
        guard reply["ok"] == .bool(true), let position = reply["position"]?.intValue else {
            throw TestFailure("\(command) failed: \(reply)")
        }
        return position
    }

    /// Stops every process (SIGTERM) and removes the directory; returns the exit statuses by name.
    @discardableResult
    func close() -> [String: Int32?] {
        var statuses: [String: Int32?] = [:]
        for (name, projector) in projectors { statuses[name] = projector.stop() }
        statuses["write-node"] = writeNode.stop()
        try? FileManager.default.removeItem(at: directory)
        return statuses
    }
}
