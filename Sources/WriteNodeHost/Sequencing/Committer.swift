import EventStore
import Synchronization
import ZeroMQ

/// Writes and syncs one staged batch at a time on its own thread, so the sequencer can receive
/// and decide the next group meanwhile (pipelined group commit).
///
/// The sequencer hands a batch over with `submit` and learns it is done when `completion` (an
/// inproc PAIR it polls beside the command socket) becomes readable; each socket has one owner.
final class Committer: @unchecked Sendable {
    private let store: EventStore
    /// The sequencer's end: `submit` sends on it, `finish` receives from it.
    let completion: Socket
    /// The committer thread's end.
    private let work: Socket
    private let slot = Mutex<Job?>(nil)

    private struct Job {
        var batch: StagedBatch
        var error: EventStoreError?
        var done = false
        /// `fdatasync` duration in ns, for stats.
        var nanoseconds: Int64 = 0
        /// When the write (and the sync covering it) returned, ns since the epoch: lag counts from here.
        var syncedAt: Int64 = 0
    }

    init(context: Context, store: EventStore) throws {
        self.store = store
        let name = "inproc://prism-committer-\(UInt64.random(in: 0...UInt64.max))"
        completion = try Socket(context, .pair)
        work = try Socket(context, .pair)
        try completion.bind(name)
        try work.connect(name)
    }

    /// Whether a batch is being written.
    var isBusy: Bool { slot.withLock { $0 != nil } }

    /// Hands `batch` to the committer thread. Only when not busy.
    func submit(_ batch: StagedBatch) throws {
        slot.withLock { slot in
            precondition(slot == nil, "a batch is already being committed")
            slot = Job(batch: batch)
        }
        try completion.send([[1]])
    }

    /// After `completion` became readable: the finished batch, and the error if it failed.
    func finish() throws -> (batch: StagedBatch, error: EventStoreError?, nanoseconds: Int64, syncedAt: Int64) {
        _ = try completion.receive()
        return slot.withLock { slot in
            guard let job = slot, job.done else { preconditionFailure("completion without a finished batch") }
            slot = nil
            return (job.batch, job.error, job.nanoseconds, job.syncedAt)
        }
    }

    /// The committer thread: until the context is shut down.
    func run() {
        defer {
            work.close(linger: 0)
        }
        while true {
            do {
                guard try work.receive() != nil else { continue }
            } catch {
                return  // the context was shut down
            }
            guard let batch = slot.withLock({ $0?.batch }) else { continue }
            let started = monotonicNanoseconds()
            var failure: EventStoreError?
            do {
                try store.write(batch)
            } catch let error as EventStoreError {
                failure = error
            } catch {
                failure = EventStoreError(.io, "\(error)")
            }
            let syncedAt = wallClockNanoseconds()
            let elapsed = monotonicNanoseconds() - started
            slot.withLock { job in
                job?.syncedAt = syncedAt
                job?.error = failure
                job?.done = true
                job?.nanoseconds = elapsed
            }
            do { try work.send([[1]]) } catch { return }
        }
    }

    func close(linger: Int32) { completion.close(linger: linger) }
}
