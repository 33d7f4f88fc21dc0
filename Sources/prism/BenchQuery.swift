import ArgumentParser
import Foundation
import Histogram
import SecurityOptions
import WireProtocol
import ZeroMQ

/// `prism bench query`: closed-loop query throughput and latency against one projector.
struct BenchQuery: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Send N queries from C clients to a projector; print throughput and latency.",
        discussion: "Parameters are key=value or key:=json, as for `prism query`.")

    @Argument(help: "The projector: orders, search, status or history.")
    var projector: String

    @Argument(help: "The query.")
    var query: String

    @Argument(help: "The query's parameters.")
    var parameters: [String] = []

    @Option(help: "Concurrent clients (one DEALER socket and thread each).")
    var clients = 8

    @Option(help: "Queries to send in all.")
    var requests = 20_000

    @Option(help: "The projector's query endpoint (default: its standard port on 127.0.0.1).")
    var endpoint: String?

    @OptionGroup var keys: KeyOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard clients >= 1, requests >= clients else { throw ValidationError("need clients ≥ 1 and requests ≥ clients") }
    }

    func run() throws {
        guard let target = endpoint ?? DefaultEndpoints.queries.first(where: { $0.name == projector })?.endpoint else {
            throw CLIError("unknown projector '\(projector)'; give --endpoint")
        }
        let body = JSONValue.object(["query": .string(query), "params": .object(try parseFields(parameters))]).jsonBytes
        let server = try keys.projector(projector, endpoint: target)
        let context = try Context()
        // One query first, so a typo fails loudly instead of being timed.
        _ = try server.client(context).requestJSON(try JSONParser.parse(body), timeout: 5000)

        let results = BenchResults()
        let perClient = requests / clients
        let started = DispatchTime.now().uptimeNanoseconds
        let done = DispatchGroup()
        for index in 0..<clients {
            done.enter()
            Thread {
                results.add(Self.runClient(index: index, context: context, server: server, body: body, count: perClient))
                done.leave()
            }.start()
        }
        done.wait()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        let (histogram, failures) = results.snapshot()
        func micros(_ percentile: Double) -> Double { Double(histogram.valueAtPercentile(percentile)) / 1000 }
        let answered = Double(histogram.totalCount)
        if output.json {
            print(JSONValue.object([
                "projector": .string(projector), "query": .string(query), "clients": .int(Int64(clients)),
                "queries": .int(Int64(answered)), "failures": .int(Int64(failures)), "seconds": .double(seconds),
                "queriesPerSecond": .double(answered / seconds),
                "latencyUs": ["p50": .double(micros(50)), "p99": .double(micros(99)), "p999": .double(micros(99.9)),
                              "max": .double(Double(histogram.max) / 1000)],
            ]).jsonString)
        } else {
            print(String(format: "%@ %@: %d clients, %.0f queries/s, latency µs p50 %.0f p99 %.0f p99.9 %.0f max %.0f, %d failures",
                         projector, query, clients, answered / seconds, micros(50), micros(99), micros(99.9),
                         Double(histogram.max) / 1000, failures))
        }
        if failures > 0 { throw CLIError("\(failures) queries failed") }
    }

    private static func runClient(index: Int, context: Context, server: Server, body: [UInt8], count: Int) -> (Histogram<UInt64>, Int) {
        var histogram = makeLatencyHistogram()
        var failures = 0
        do {
            let socket = try Socket(context, .dealer)
            try socket.setLinger(0)
            try socket.setReceiveTimeout(10_000)
            try server.connect(socket)
            defer { socket.close() }
            for _ in 0..<count {
                let sent = DispatchTime.now().uptimeNanoseconds
                try socket.send([[], body])
                guard let reply = try socket.receive() else { throw CLIError("no reply within 10 s") }
                _ = histogram.record(DispatchTime.now().uptimeNanoseconds - sent)
                // Replies have sorted keys: an error reply, and only an error reply, starts with `{"error"`.
                if reply.last?.starts(with: BenchClient.errorPrefix) != false { failures += 1 }
            }
        } catch {
            FileHandle.standardError.write(Data("client \(index): \(error)\n".utf8))
            failures += count
        }
        return (histogram, failures)
    }
}
