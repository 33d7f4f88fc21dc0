import ArgumentParser
import Foundation
import Histogram
import WireProtocol
import ZeroMQ

/// `prism bench append`: closed-loop append throughput and latency with C clients × K in flight.
struct BenchAppend: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Append N events from C clients with K requests in flight each; print throughput and latency.")

    @Option(help: "Concurrent clients (one DEALER socket and thread each).")
    var clients = 16

    @Option(help: "Requests each client keeps in flight (pipelining).")
    var inflight = 1

    @Option(help: "Events to append in all.")
    var events = 100_000

    @Option(help: "Approximate size of each event's data, in bytes.")
    var size = 200

    @Option(help: "Number of streams the events are spread over.")
    var streams = 5000

    @OptionGroup var node: WriteNodeOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard clients >= 1, inflight >= 1, events >= clients, size >= 16, streams >= 1 else {
            throw ValidationError("need clients ≥ 1, inflight ≥ 1, events ≥ clients, size ≥ 16, streams ≥ 1")
        }
    }

    func run() throws {
        let server = try node.command()
        let context = try Context()
        let statsClient = server.client(context)
        let before = try statsClient.requestJSON(["query": "stats"], timeout: node.timeoutMs)["result"]

        let perClient = events / clients
        let results = BenchResults()
        let started = DispatchTime.now().uptimeNanoseconds
        let done = DispatchGroup()
        for index in 0..<clients {
            done.enter()
            let client = BenchClient(
                index: index, requests: perClient, inflight: inflight, size: size, streams: streams,
                server: server, context: context)
            Thread {
                results.add(client.run())
                done.leave()
            }.start()
        }
        done.wait()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        let after = try statsClient.requestJSON(["query": "stats"], timeout: node.timeoutMs)["result"]

        let (histogram, failures) = results.snapshot()
        let appended = Double(histogram.totalCount)
        func delta(_ key: String) -> Int64 { (after?[key]?.intValue ?? 0) - (before?[key]?.intValue ?? 0) }
        let batches = delta("batches"), appendMs = delta("appendMs"), batchMs = delta("batchMs")
        func micros(_ percentile: Double) -> Double { Double(histogram.valueAtPercentile(percentile)) / 1000 }
        let summary: JSONValue = [
            "clients": .int(Int64(clients)), "inflight": .int(Int64(inflight)), "events": .int(Int64(appended)),
            "size": .int(Int64(size)), "streams": .int(Int64(streams)), "failures": .int(Int64(failures)),
            "seconds": .double(seconds), "eventsPerSecond": .double(appended / seconds),
            "latencyUs": ["p50": .double(micros(50)), "p99": .double(micros(99)), "p999": .double(micros(99.9)),
                          "max": .double(Double(histogram.max) / 1000)],
            "batches": .int(batches), "eventsPerBatch": .double(batches > 0 ? appended / Double(batches) : 0),
            "writeNode": ["batchMs": .int(batchMs), "appendMs": .int(appendMs)],
        ]
        if output.json {
            print(summary.jsonString)
        } else {
            print(String(format: "clients %d × inflight %d, %d events of ~%d bytes over %d streams, %d failures",
                         clients, inflight, Int(appended), size, streams, failures))
            print(String(format: "throughput %.0f events/s over %.2f s (%.1f events per commit)",
                         appended / seconds, seconds, batches > 0 ? appended / Double(batches) : 0))
            print(String(format: "append latency µs: p50 %.0f  p99 %.0f  p99.9 %.0f  max %.0f",
                         micros(50), micros(99), micros(99.9), Double(histogram.max) / 1000))
            print(String(format: "write node: busy %.2f s of %.2f s, %.0f%% of it in the store's append (SQLite + fsync)",
                         Double(batchMs) / 1000, seconds, batchMs > 0 ? 100 * Double(appendMs) / Double(batchMs) : 0))
        }
        if failures > 0 { throw CLIError("\(failures) appends failed") }
    }
}

/// Latencies merged from every client thread.
final class BenchResults: @unchecked Sendable {
    private let lock = NSLock()
    private var histogram = makeLatencyHistogram()
    private var failures = 0

    func add(_ result: (Histogram<UInt64>, Int)) {
        lock.withLock {
            histogram.add(result.0)
            failures += result.1
        }
    }

    func snapshot() -> (Histogram<UInt64>, Int) { lock.withLock { (histogram, failures) } }
}

/// One benchmark client: its own DEALER socket, K requests in flight, FIFO replies.
struct BenchClient: Sendable {
    let index: Int
    let requests: Int
    let inflight: Int
    let size: Int
    let streams: Int
    let server: Server
    let context: Context
    static let errorPrefix = Array("{\"error\"".utf8)

    func run() -> (Histogram<UInt64>, Int) {
        var histogram = makeLatencyHistogram()
        var failures = 0
        do {
            let socket = try Socket(context, .dealer)
            try socket.setLinger(0)
            try server.connect(socket)
            defer { socket.close() }
            // Ids are a per-client random prefix plus a counter: unique, valid UUIDs, cheap to make.
            // The body is assembled from bytes made once: `String(format:)` and interpolation per
            // request cost the client a third of the floor server's pipelined rate.
            let prefix = String(format: "%08x-%04x-4%03x-8%03x-", UInt32.random(in: .min ... .max),
                                UInt16.random(in: .min ... .max), Int.random(in: 0..<4096), index % 4096)
            let padding = String(repeating: "x", count: max(0, size - 16))
            let head = Array(#"{"append":{"stream":"bench-"#.utf8)
            let beforeID = Array(#"","expectedVersion":"any","events":[{"id":""#.utf8) + Array(prefix.utf8)
            let beforeData = Array(#"","type":"BenchEvent","data":{"n":"#.utf8)
            let tail = Array(#","pad":"\#(padding)"}}]}}"#.utf8)
            let hexDigits = Array("0123456789abcdef".utf8)
            var generator = SystemRandomNumberGenerator()
            func appendDecimal(_ value: Int, to bytes: inout [UInt8]) {
                if value >= 10 { appendDecimal(value / 10, to: &bytes) }
                bytes.append(UInt8(ascii: "0") + UInt8(value % 10))
            }
            func body(_ sequence: Int) -> [UInt8] {
                var bytes: [UInt8] = []
                bytes.reserveCapacity(head.count + beforeID.count + beforeData.count + tail.count + 40)
                bytes += head
                appendDecimal(Int.random(in: 0..<streams, using: &generator), to: &bytes)
                bytes += beforeID
                for shift in stride(from: 44, through: 0, by: -4) { bytes.append(hexDigits[(sequence >> shift) & 0xF]) }
                bytes += beforeData
                appendDecimal(sequence, to: &bytes)
                bytes += tail
                return bytes
            }
            var sentAt: [UInt64] = []
            sentAt.reserveCapacity(requests)
            var sent = 0
            var received = 0
            while received < requests {
                while sent < requests, sent - received < inflight {
                    sentAt.append(DispatchTime.now().uptimeNanoseconds)
                    try socket.send([[], body(sent)])
                    sent += 1
                }
                guard let reply = try socket.receive() else { continue }
                let now = DispatchTime.now().uptimeNanoseconds
                _ = histogram.record(now - sentAt[received])
                received += 1
                // Replies have sorted keys: an error reply, and only an error reply, starts with `{"error"`.
                if reply.last?.starts(with: Self.errorPrefix) != false { failures += 1 }
            }
        } catch {
            FileHandle.standardError.write(Data("client \(index): \(error)\n".utf8))
            failures += requests
        }
        return (histogram, failures)
    }
}
