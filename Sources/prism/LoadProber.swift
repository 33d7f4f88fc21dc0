import EventModel
import Foundation
import WireProtocol
import ZeroMQ

/// Measures write→visible for one projector: for each probe job, a `health` query with
/// `minPosition` = the command's position, timed from the command's intended send time to the reply.
///
/// Runs on its own thread with its own sockets so probes never delay the send schedule. A
/// projector may answer a later query before an earlier one that still waits for its position,
/// so replies cannot be matched by order: each probe socket carries one probe at a time, and
/// the pool grows (up to `maxSockets`) when probes overlap.
struct LoadProber: Sendable {
    let name: String
    let server: Server
    /// Bound inproc DEALER the connections send jobs to; handed over from the creating thread.
    let jobs: Socket
    /// End markers (empty frames) to wait for, one per connection.
    let connections: Int
    let waitMs: Int
    let context: Context
    let visibility: VisibilityResults
    let results: LoadResults
    static let maxSockets = 256

    private struct Probe {
        var socket: Socket
        var job: LoadProbeJob
        var deadline: Int64
    }

    func run() {
        var idle: [Socket] = []
        var busy: [Probe] = []
        var queued: [LoadProbeJob] = []
        var ended = 0
        defer {
            for socket in idle { socket.close(linger: 0) }
            for probe in busy { probe.socket.close(linger: 0) }
            jobs.close(linger: 0)
        }
        func dispatch(_ job: LoadProbeJob) throws {
            let socket: Socket
            if let reused = idle.popLast() {
                socket = reused
            } else if busy.count < Self.maxSockets {
                socket = try Socket(context, .dealer)
                try socket.setLinger(0)
                try server.connect(socket)
            } else {
                queued.append(job)
                return
            }
            let body = #"{"query":"health","minPosition":\#(job.position),"timeoutMs":\#(waitMs)}"#
            try socket.send([[], Array(body.utf8)])
            // The projector answers `Stale` after `waitMs`; allow for the trip and a busy projector.
            busy.append(Probe(socket: socket, job: job, deadline: monotonicNanoseconds() + Int64(waitMs + 5000) * 1_000_000))
        }
        do {
            while ended < connections || !busy.isEmpty || !queued.isEmpty {
                var poller = Poller([jobs] + busy.map(\.socket))
                let nearest = busy.map(\.deadline).min().map { max(0, ($0 - monotonicNanoseconds()) / 1_000_000 + 1) } ?? 100
                let ready = try poller.poll(timeout: Int(min(nearest, 100)))
                let now = monotonicNanoseconds()
                var finished: [Int] = []
                for (offset, probe) in busy.enumerated() where ready[offset + 1].readable {
                    guard let frames = try probe.socket.receive(dontWait: true) else { continue }
                    let reply = try? JSONParser.parse(frames.last ?? [])
                    if reply?["ok"] == .bool(true) {
                        visibility.record(now - probe.job.intended)
                    } else if let reply, WireError(reply: reply).code == .stale {
                        visibility.recordStale()
                    } else {
                        let code = reply.map { WireError(reply: $0).code.rawValue } ?? "MalformedReply"
                        results.addError("probe:\(name):\(code)")
                    }
                    finished.append(offset)
                }
                for (offset, probe) in busy.enumerated() where !finished.contains(offset) && probe.deadline <= now {
                    // Never answered: drop the socket so a late reply cannot be taken for another probe's.
                    probe.socket.close(linger: 0)
                    results.addError("probe:\(name):Timeout")
                    finished.append(offset)
                }
                for offset in finished.sorted(by: >) {
                    let probe = busy.remove(at: offset)
                    if probe.deadline > now { idle.append(probe.socket) }
                }
                while !queued.isEmpty, !idle.isEmpty || busy.count < Self.maxSockets {
                    try dispatch(queued.removeFirst())
                }
                if ready[0].readable {
                    while let frames = try jobs.receive(dontWait: true) {
                        guard let body = frames.last, !body.isEmpty else {
                            ended += 1
                            continue
                        }
                        if let job = LoadProbeJob(body) { try dispatch(job) }
                    }
                }
            }
        } catch {
            results.addError("probe:\(name):ClientError")
            FileHandle.standardError.write(Data("prism load: probing \(name) at \(server.endpoint): \(error)\n".utf8))
        }
    }
}
