import Foundation
import Synchronization

/// The write node's indexer: a thread that moves durable groups from memory into the index, in
/// large transactions, after the commit (the "chaser" of KurrentDB). Appends never wait for it;
/// reads combine what it has indexed with the groups it has not reached yet.
///
/// It runs every `interval`, or sooner when `batchEvents` are waiting, not after every group:
/// each SQLite commit writes every page it dirtied, and the stream key's pages are random, so
/// indexing group by group cost as much CPU (mostly WAL writes) as the sequencer at 30,000
/// events/s. The price is memory: up to `interval` worth of events stay in the tail.
final class Indexer: @unchecked Sendable {
    private let index: LogIndex
    let batchEvents: Int
    static let interval: TimeInterval = 0.2
    private let condition = NSCondition()
    private var stopping = false
    private var wakeups = 0
    private let finished = DispatchSemaphore(value: 0)
    private var thread: Thread?

    init(index: LogIndex, batchEvents: Int) {
        self.index = index
        self.batchEvents = batchEvents
    }

    func start(store: EventStore) {
        // Strong: the thread lives until `close()` stops it, so a store must be closed, not dropped.
        let thread = Thread { [self] in
            nameCurrentThread("indexer")
            run(store: store)
            finished.signal()
        }
        self.thread = thread
        thread.start()
    }

    /// `batchEvents` or more are waiting: index them now.
    func wake() {
        condition.lock()
        wakeups += 1
        condition.signal()
        condition.unlock()
    }

    /// Finishes the current transaction and stops.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
        if thread != nil { finished.wait() }
        thread = nil
    }

    private func run(store: EventStore) {
        while true {
            condition.lock()
            if wakeups == 0 && !stopping { _ = condition.wait(until: Date(timeIntervalSinceNow: Self.interval)) }
            let stop = stopping
            wakeups = 0
            condition.unlock()
            // On stop too, so the next open has less to catch up.
            while indexSome(store: store) {}
            if stop { return }
        }
    }

    /// Indexes up to `batchEvents` events of the tail; false when there was nothing to do.
    private func indexSome(store: EventStore) -> Bool {
        var groups: [LogGroup] = []
        var count = 0
        store.visible.withLock { visible in
            for group in visible.tail.groups {
                groups.append(group)
                count += group.events.count
                if count >= batchEvents { break }
            }
        }
        guard !groups.isEmpty else { return false }
        do {
            try Self.add(groups, to: index)
        } catch {
            // Off the commit path: the groups stay in memory, and the next wake-up tries again.
            FileHandle.standardError.write(Data("prism indexer: \(error)\n".utf8))
            return false
        }
        store.visible.withLock { visible in
            visible.tail.removeFirst(groups.count)
            visible.indexed = groups[groups.count - 1].lastPosition
        }
        return true
    }

    /// Writes `groups` (consecutive, whole) to the index with the checkpoint after the last.
    static func add(_ groups: [LogGroup], to index: LogIndex) throws {
        var entries: [LogIndex.Entry] = []
        for group in groups {
            for (i, event) in group.events.enumerated() {
                entries.append(LogIndex.Entry(
                    position: event.position, location: group.recordLocation(i), stream: event.stream,
                    version: event.version))
            }
        }
        let last = groups[groups.count - 1]
        try index.add(
            entries, groups: groups.map { ($0.firstPosition, $0.location) },
            checkpoint: LogIndex.Checkpoint(position: last.lastPosition, next: LogLocation(segment: last.location.segment, offset: last.end)))
    }
}
