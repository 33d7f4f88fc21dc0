import ArgumentParser
import Foundation
import HTTPEndpoint
import SecurityOptions
import ZeroMQ

extension Prism {
    /// `prism dashboard`: one web page showing, live, the head, each projector's position, lag and health.
    struct Dashboard: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve a live web page of the head position, each projector's position, lag and health.",
            discussion: """
                Polls every process's health and stats over ZeroMQ (as `prism status` does, four times a \
                second) and serves one self-contained page with server-sent updates. With --keys it \
                uses the `reader` key unless --identity names another. It restarts each projector's \
                interval lag histogram (`stats` with `reset`) once a second, so do not run it beside \
                another tool that does (scripts/lag-experiment's sampler). See docs/DASHBOARD.md.
                """)

        @OptionGroup var system: SystemEndpoints

        @Option(help: ArgumentHelp(
            "Where to serve the page: port, host:port or [v6]:port. Loopback unless you name another address: the page and its data have no authentication (docs/DASHBOARD.md).",
            valueName: "address"))
        var listen = "127.0.0.1:5580"

        @Option(help: "Milliseconds between two polls of each process (and two updates of the page).")
        var intervalMs = 250

        @Option(help: "Milliseconds to wait for a process's reply before showing it as down.")
        var timeoutMs = 1000

        @Option(help: "Seconds of history the charts show.")
        var windowSeconds = 300

        @OptionGroup var keys: KeyOptions

        /// The dashboard's key by default: it only reads.
        static let identity = "reader"

        func validate() throws {
            guard (50...10_000).contains(intervalMs) else { throw ValidationError("--interval-ms must be 50…10000, got \(intervalMs)") }
            guard (10...60_000).contains(timeoutMs) else { throw ValidationError("--timeout-ms must be 10…60000, got \(timeoutMs)") }
            // One point a second, all sent to each page that opens: an hour with four projectors is about 1 MB.
            guard (10...3600).contains(windowSeconds) else { throw ValidationError("--window-seconds must be 10…3600, got \(windowSeconds)") }
        }

        func run() throws {
            let address: HTTPAddress
            do { address = try HTTPAddress(parsing: listen) } catch { throw CLIError("--listen: \(error)") }
            let server: DashboardServer
            do {
                server = try DashboardServer(
                    .init(servers: system.servers(keys, identity: Self.identity),
                          names: ["write-node"] + system.projectorTargets().map(\.name),
                          listen: address, intervalMs: intervalMs, timeoutMs: timeoutMs, windowSeconds: windowSeconds),
                    context: try Context())
            } catch let error as HTTPEndpointError {
                throw CLIError("\(error) (--listen)")
            }
            server.start()
            print("prism dashboard: http://\(server.address)/")
            if !address.isLoopback {
                FileHandle.standardError.write(Data(("prism dashboard: listening on \(server.address), not loopback: anyone who can reach it"
                    + " sees every process's positions, states and errors, with no authentication (docs/DASHBOARD.md)\n").utf8))
            }
            fflush(nil)  // all streams: a script reading the pipe learns the port now
            // Nothing to flush or close in order: SIGINT and SIGTERM end the process as they are.
            dispatchMain()
        }
    }
}
