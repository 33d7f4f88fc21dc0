import EventStore
import Foundation
import Logging
import Subscription
import ZeroMQ

/// A fresh copy of a read model built from position 0 beside the live one, on a thread of its own
/// with its own feed, through the same apply code as the live projector.
///
/// Once it has reached the head (and the live copy's position) the thread stops and hands its
/// projection and feed over to the projector thread, which brings it level and switches.
final class ShadowBuild: @unchecked Sendable {
    enum State {
        case building
        /// Caught up: `projection` and `feed` now belong to the projector thread.
        case ready
        case failed(String)
    }

    let generation: Int
    let directory: String
    let startedAt = monotonicNanoseconds()
    private let lock = NSLock()
    private var _state = State.building
    private var _applied: Int64 = 0
    private var _head: Int64 = 0
    private var _liveApplied: Int64 = 0
    private var stopRequested = false
    private let finished = DispatchSemaphore(value: 0)
    /// Signalled by `stop()`: cuts a store-retry backoff short.
    private let stopSignal = DispatchSemaphore(value: 0)

    // Owned by the builder thread, then (state `ready`) by the projector thread.
    private(set) var projection: (any Projection)?
    private(set) var feed: EventFeed?

    init(generation: Int, directory: String) {
        self.generation = generation
        self.directory = directory
    }

    var state: State { lock.withLock { _state } }
    /// How far the copy is, and the head its feed has seen (for `stats`).
    var progress: (applied: Int64, head: Int64) { lock.withLock { (_applied, max(_head, _applied)) } }

    /// Tells the builder how far the live copy is: it hands over only once it is there too.
    func noteLive(_ applied: Int64) { lock.withLock { _liveApplied = applied } }

    /// Starts building on a new thread.
    ///
    /// - Parameters:
    ///   - skipped: positions an operator skipped, left out as the live projector leaves them out.
    ///   - makeProjection: opens a read model in a directory (called on the builder thread).
    func start(context: Context, feedConfiguration: EventFeed.Configuration, batch: Int, maxRetryDelayMs: Int,
               skipped: Set<Int64>, makeProjection: @escaping @Sendable (String) throws -> any Projection, logger: Logger) {
        Thread { [self] in
            defer { finished.signal() }
            do {
                try build(context: context, feedConfiguration: feedConfiguration, batch: batch, maxRetryDelayMs: maxRetryDelayMs,
                          skipped: skipped, makeProjection: makeProjection)
            } catch let error as ZMQError where error.isContextTerminated {
                lock.withLock { _state = .failed("stopped") }
            } catch {
                logger.error("rebuild failed", metadata: ["rebuild.generation": "\(generation)", "error": "\(error)"])
                lock.withLock { _state = .failed("\(error)") }
            }
            if case .failed = state {
                feed = nil
                projection = nil
            }
        }.start()
    }

    /// Stops the builder (if still building) and waits for its thread.
    func stop() {
        lock.withLock { stopRequested = true }
        stopSignal.signal()
        finished.wait()
        finished.signal()
    }

    private func build(context: Context, feedConfiguration: EventFeed.Configuration, batch: Int, maxRetryDelayMs: Int,
                       skipped: Set<Int64>, makeProjection: (String) throws -> any Projection) throws {
        if FileManager.default.fileExists(atPath: directory) { try FileManager.default.removeItem(atPath: directory) }
        let projection = try makeProjection(directory)
        // A model in a server outlives its directory: an interrupted rebuild's copy is emptied.
        if try projection.checkpoint() > 0 { try projection.reset() }
        var feed = try EventFeed(context: context, configuration: feedConfiguration, after: 0)
        var applied: Int64 = 0
        var backlog: [RecordedEvent] = []
        var backlogThrough: Int64 = 0
        var backoff = StoreRetryBackoff(maxMilliseconds: maxRetryDelayMs)
        while true {
            let (stop, liveApplied) = lock.withLock { (stopRequested, _liveApplied) }
            if stop { throw ProjectorError("stopped before it reached the head") }
            if backlogThrough <= applied {
                let events = try feed.poll(timeout: 100, limit: batch).events
                if !events.isEmpty || feed.position > applied {
                    backlog = events.leavingOut(skipped)
                    backlogThrough = feed.position
                }
            }
            if backlogThrough > applied {
                switch projection.applyBatch(backlog, through: backlogThrough, after: applied) {
                case .applied:
                    applied = backlogThrough
                    backoff.reset()
                case .storeFailed(_, let through):
                    applied = through
                    // Waits out the backoff unless `stop()` comes first (the loop then sees it).
                    if stopSignal.wait(timeout: .now() + .milliseconds(backoff.next())) == .success { stopSignal.signal() }
                    // As the live projector does: the store's own checkpoint decides where to go on.
                    if let stored = try? projection.checkpoint(), stored != applied {
                        applied = stored
                        backlogThrough = stored
                        feed = try EventFeed(context: context, configuration: feedConfiguration, after: stored)
                    }
                case .stopped(let failure, _):
                    throw ProjectorError("the projection failed on position \(failure.position) (\(failure.type)): \(failure.error)")
                }
                backlog.removeAll { $0.position <= applied }
            }
            lock.withLock {
                _applied = applied
                _head = feed.head
            }
            // A live copy ahead of the log (the write node's store was replaced) is not waited for.
            if applied >= feed.head, applied >= liveApplied || liveApplied > feed.head, !feed.isCatchingUp, backlogThrough <= applied {
                try projection.reachedHead()
                self.projection = projection
                self.feed = feed
                lock.withLock { _state = .ready }
                return
            }
        }
    }
}
