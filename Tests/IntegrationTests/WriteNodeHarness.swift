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

    /// Sends `requests` pipelined on `dealer` so that the sequencer takes them off its socket in
    /// one receive (and so decides them into one batch, unless a rule splits it), and returns the
    /// replies in order.
    ///
    /// The node is stopped (SIGSTOP) while they are sent, so they wait side by side; but whether
    /// the client's I/O thread has written them all before SIGCONT cannot be known from here, so
    /// the node's `receives` count says whether they arrived together, and the requests are sent
    /// again (`requests` makes fresh ones, with new ids and streams) until they do: the scenario
    /// under test is built, not assumed. Fails after 20 attempts.
    func sendTogether(on dealer: DealerConnection, _ requests: () throws -> [JSONValue]) throws -> [JSONValue] {
        guard let process = node.process else { throw TestFailure("the write node is not running") }
        for _ in 0..<20 {
            let batch = try requests()
            let before = try receives()
            process.signal(SIGSTOP)
            for request in batch { try dealer.send(request) }
            process.signal(SIGCONT)
            let replies = try batch.map { _ in try dealer.receive() }
            // Each stats query is answered from inside its own receive, counted after it.
            if try receives() - before == 2 { return replies }
        }
        throw TestFailure("20 attempts to have the requests received together failed")
    }

    /// How many times the sequencer has taken requests off its socket.
    func receives() throws -> Int64 {
        try client.send(["query": "stats"])["result"]?["receives"]?.intValue ?? -1
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
