import Foundation
import TestSupport
import WireProtocol

/// A temporary directory with a running write node in it, stopped and removed by `close`.
final class WriteNodeHarness {
    let directory: URL
    let node: WriteNodeProcess
    let client: WriteNodeClient

    init(extraArguments: [String] = []) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("prism-it-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        node = WriteNodeProcess(workDirectory: directory, extraArguments: extraArguments)
        try node.start()
        client = try WriteNodeClient(endpoint: node.commandEndpoint)
    }

    /// Stops the node (SIGTERM) and returns its exit status; removes the directory.
    @discardableResult
    func close() -> Int32? {
        let status = node.stop()
        try? FileManager.default.removeItem(at: directory)
        return status
    }

    func registerUser(_ id: String, state: String = "California") throws -> JSONValue {
        try client.command("RegisterUser", ["userId": .string(id), "name": "Ada", "state": .string(state)])
    }

    func placeOrder(_ id: String, user: String, amount: Int64 = 4999, description: String = "red running shoes") throws -> JSONValue {
        try client.command("PlaceOrder", [
            "orderId": .string(id), "userId": .string(user), "amountCents": .int(amount), "description": .string(description),
        ])
    }
}

extension JSONValue {
    var errorCode: String? { self["error"]?["code"]?.stringValue }
    var errorMessage: String? { self["error"]?["message"]?.stringValue }
    var isOK: Bool { self["ok"] == .bool(true) }
}
