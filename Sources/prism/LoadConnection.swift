import EventModel
import Foundation
import Histogram
import WireProtocol
import ZeroMQ

/// How commands are spaced in time.
enum LoadArrivals: String, CaseIterable, Sendable {
    /// Evenly spaced: one command every 1/rate seconds.
    case constant
    /// A Poisson process: exponentially distributed gaps with mean 1/rate.
    case poisson
}

/// The start line all connection threads wait at: registration first, then one common `t0`.
final class LoadStart: @unchecked Sendable {
    private let condition = NSCondition()
    private var arrived = 0
    private var failures: [String] = []
    private var startTime: Int64?
    private var aborted = false

    /// A connection has registered its users (or failed to, with `failure`).
    func arrive(failure: String? = nil) {
        condition.withLock {
            arrived += 1
            if let failure { failures.append(failure) }
            condition.broadcast()
        }
    }

    /// Waits until `count` connections arrived; returns their failures.
    func waitForArrivals(_ count: Int) -> [String] {
        condition.withLock {
            while arrived < count { condition.wait() }
            return failures
        }
    }

    /// Releases the connections: to start at `time`, or (nil) to stop.
    func release(at time: Int64?) {
        condition.withLock {
            startTime = time
            aborted = time == nil
            condition.broadcast()
        }
    }

    /// Waits for `release`; nil means abort.
    func waitForRelease() -> Int64? {
        condition.withLock {
            while startTime == nil, !aborted { condition.wait() }
            return startTime
        }
    }
}

/// One load connection: a DEALER socket and the thread that owns it.
///
/// Open loop: the k-th command's intended send time is fixed in advance (`t0 + k/rate`, or
/// cumulative exponential gaps), and the thread sends it then whatever the replies are doing;
/// when behind, it sends at once. Latency runs from the intended time, so a stall shows up in
/// the latency of every command scheduled during it rather than hiding as fewer samples
/// (coordinated omission). Replies on one DEALER come back in request order and are matched
/// FIFO to the intended times.
struct LoadConnection: Sendable {
    let index: Int
    let connections: Int
    /// Commands per second over all connections.
    let rate: Double
    let arrivals: LoadArrivals
    let durationNanoseconds: Int64
    let users: Int
    let size: Int
    let seed: UInt64
    let runPrefix: String
    /// Every this many commands (at least 1) is followed by a visibility probe.
    let visibilitySample: Int
    /// The probers' job endpoints (inproc), one per projector.
    let probeJobEndpoints: [String]
    let commandServer: Server
    let timeoutMs: Int
    let context: Context
    let results: LoadResults
    let start: LoadStart

    /// Registers this connection's share of the users, waits at the start line, runs the timed phase.
    func run() {
        var jobSockets: [Socket] = []
        // Every prober waits for one end marker per connection, whatever happens here.
        defer {
            for socket in jobSockets {
                _ = try? socket.send([UInt8](), dontWait: true)
                socket.close(linger: 5000)
            }
        }
        let socket: Socket
        do {
            for endpoint in probeJobEndpoints {
                let jobs = try Socket(context, .dealer)
                try jobs.setSendHighWaterMark(0)
                try jobs.connect(endpoint)
                jobSockets.append(jobs)
            }
            socket = try Socket(context, .dealer)
            // No high-water marks: an open-loop client must never block on send nor lose a reply.
            try socket.setSendHighWaterMark(0)
            try socket.setReceiveHighWaterMark(0)
            try socket.setLinger(0)
            try commandServer.connect(socket)
        } catch {
            start.arrive(failure: "connection \(index): \(error)")
            return
        }
        defer { socket.close() }
        if let failure = register(socket) {
            start.arrive(failure: failure)
            _ = start.waitForRelease()
            return
        }
        start.arrive()
        guard let t0 = start.waitForRelease() else { return }
        do {
            try timedPhase(socket, jobSockets: jobSockets, t0: t0)
        } catch {
            results.addError("ClientError")
            FileHandle.standardError.write(Data("prism load: connection \(index): \(error)\n".utf8))
        }
    }

    /// Registers users `index`, `index + connections`, … pipelined, up to 128 in flight.
    ///
    /// - Returns: nil, or why registration failed.
    private func register(_ socket: Socket) -> String? {
        let mine = Array(stride(from: index, to: users, by: connections))
        var sent = 0
        var received = 0
        do {
            while received < mine.count {
                while sent < mine.count, sent - received < 128 {
                    try socket.send([[], LoadWorkload.registerUser(runPrefix, mine[sent])])
                    sent += 1
                }
                var poller = Poller([socket])
                guard try poller.poll(timeout: timeoutMs)[0].readable else {
                    return "registering users: no reply from \(commandServer.endpoint) within \(timeoutMs) ms"
                        + (commandServer.silenceHint.map { "; \($0)" } ?? "")
                }
                while let frames = try socket.receive(dontWait: true) {
                    received += 1
                    let reply = try JSONParser.parse(frames.last ?? [])
                    if reply["ok"] != .bool(true) {
                        return "registering user \(LoadWorkload.userID(runPrefix, mine[received - 1])): \(WireError(reply: reply))"
                    }
                }
            }
        } catch {
            return "registering users: \(error)"
        }
        return nil
    }

    private func timedPhase(_ socket: Socket, jobSockets: [Socket], t0: Int64) throws {
        var workload = LoadWorkload(runPrefix: runPrefix, connection: index, users: users, size: size, seed: seed)
        // Arrival times use their own generator so the mix does not depend on the arrival process.
        var arrivalRandom = SplitMix64(seed: ~seed &+ UInt64(index) &* 0xD1B5_4A32_D192_ED03)
        let end = t0 + durationNanoseconds
        let share = rate / Double(connections)
        var scheduled = 0
        // Constant: connection i sends at (i + k·N)/rate, so all connections together are evenly spaced.
        func intendedTime(after previous: Int64) -> Int64 {
            switch arrivals {
            case .constant:
                return t0 + Int64((Double(index) + Double(scheduled) * Double(connections)) / rate * 1e9)
            case .poisson:
                return previous + Int64(-log(arrivalRandom.nextUnitInterval()) / share * 1e9)
            }
        }
        var next = intendedTime(after: t0)

        // In-flight commands, oldest first: intended send time and whether to probe after it.
        var inflightIntended: [Int64] = []
        var inflightProbe: [Bool] = []
        var head = 0
        var piece = LoadResults.Piece()
        var lastFlush = t0
        var drainDeadline: Int64?
        var poller = Poller([socket])

        while true {
            var now = monotonicNanoseconds()
            // Send everything due, at once when behind schedule (latency still counts from `next`).
            while drainDeadline == nil {
                if next >= end {
                    drainDeadline = max(now, end) + Int64(timeoutMs) * 1_000_000
                    break
                }
                if next > now { break }
                try socket.send([[], workload.next()])
                now = monotonicNanoseconds()
                piece.sendLag.recordNanoseconds(now - next)
                piece.sent += 1
                inflightIntended.append(next)
                inflightProbe.append(!jobSockets.isEmpty && scheduled % visibilitySample == 0)
                scheduled += 1
                next = intendedTime(after: next)
            }
            if let drainDeadline, head == inflightIntended.count || now >= drainDeadline { break }

            // Wait for replies until the next send is due. zmq_poll counts whole milliseconds, so
            // the last fraction of a millisecond is slept in slices short enough (≤ 50 µs) that
            // sends and reply time stamps stay within about 0.1 ms of the truth.
            // Polls are capped at 100 ms so progress is flushed while draining.
            let wait = min((drainDeadline ?? next) - now, 100_000_000)
            if wait >= 1_000_000 {
                _ = try poller.poll(timeout: Int(wait / 1_000_000))
            } else if wait > 0, try !socket.pendingEvents.readable {
                var pause = timespec(tv_sec: 0, tv_nsec: Int(min(wait, 50_000)))
                nanosleep(&pause, nil)
            }
            while let frames = try socket.receive(dontWait: true) {
                let received = monotonicNanoseconds()
                guard head < inflightIntended.count else {
                    piece.errors["UnexpectedReply", default: 0] += 1
                    continue
                }
                let intended = inflightIntended[head]
                let probe = inflightProbe[head]
                head += 1
                piece.completed += 1
                piece.lastReplyAt = received
                let reply = try? JSONParser.parse(frames.last ?? [])
                if reply?["ok"] == .bool(true) {
                    piece.appendLatency.recordNanoseconds(received - intended)
                    let position = reply?["position"]?.intValue
                    piece.highestAcknowledged = max(piece.highestAcknowledged, position ?? 0)
                    if probe, let position {
                        let job = LoadProbeJob(position: position, intended: intended).bytes
                        for jobs in jobSockets where !(try jobs.send(job, dontWait: true)) {
                            piece.errors["probe:JobDropped", default: 0] += 1
                        }
                    }
                } else {
                    let code = reply.map { WireError(reply: $0).code.rawValue } ?? "MalformedReply"
                    piece.errors[code, default: 0] += 1
                }
            }
            // Forget answered commands now and then rather than shifting the array on every reply.
            if head > 4096, head * 2 > inflightIntended.count {
                inflightIntended.removeFirst(head)
                inflightProbe.removeFirst(head)
                head = 0
            }
            if now - lastFlush >= 200_000_000 {
                results.add(piece)
                piece.reset()
                lastFlush = now
            }
        }
        let unanswered = inflightIntended.count - head
        if unanswered > 0 { piece.errors["Timeout", default: 0] += unanswered }
        results.add(piece)
    }
}

/// A visibility probe to run: the command's reply position and its intended send time.
struct LoadProbeJob {
    var position: Int64
    var intended: Int64

    /// 16 bytes, big-endian; an empty frame instead means "no more jobs from this connection".
    var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(16)
        for value in [position, intended] {
            withUnsafeBytes(of: value.bigEndian) { out.append(contentsOf: $0) }
        }
        return out
    }

    init(position: Int64, intended: Int64) {
        self.position = position
        self.intended = intended
    }

    init?(_ bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        func int64(at offset: Int) -> Int64 {
            bytes[offset..<offset + 8].reduce(0) { $0 << 8 | Int64($1) }
        }
        position = int64(at: 0)
        intended = int64(at: 8)
    }
}
