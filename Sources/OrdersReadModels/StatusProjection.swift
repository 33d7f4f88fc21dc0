import EventStore
import Foundation
import ProjectionRuntime
import WireProtocol

/// Key lookups over orders: each order's status and owner, and each user's orders in creation
/// order (the seed's Redis), held in memory and persisted as one snapshot file.
///
/// The snapshot `<directory>/status.snapshot` holds the checkpoint together with the whole state
/// (format in `StatusSnapshot`), so the checkpoint is always stored with the model it describes.
/// Events applied after the last snapshot live only in memory; after a crash the model reopens at
/// the snapshot's checkpoint and the runtime replays the rest from the log, which gives an
/// exactly-once effect without writing on every batch.
///
/// A snapshot is encoded and written on a thread of its own from a copy-on-write copy of the
/// state, so the apply thread pays only for copying the maps when it next changes them; and it
/// is taken every `max(snapshotEvery, number of orders)` events, so its cost per event stays
/// constant as the model grows.
///
/// Applying an event:
/// - `OrderCreated` adds the order (status `payment_pending`) and appends it to its user's list;
/// - `PaymentConfirmed`, `OrderShipped`, `OrderCancelled` set the status (`paid`, `shipped`,
///   `cancelled`); an order not seen before is added as if created then, so that the model never
///   depends on events it cannot see;
/// - the status comes from the event type; the order's user is the one of its first event;
/// - other event types, and events whose data lacks `orderId` or `userId`, are ignored.
///
/// Queries: `orderStatus` and `userOrders` (see `query(_:params:)`).
public final class StatusProjection: Projection {
    public let category: String? = "order"
    public let queryNames = StatusQuery.names

    /// The directory holding the snapshot.
    public let directory: String
    /// `<directory>/status.snapshot`.
    public let snapshotPath: String
    /// A snapshot is written once at least this many events (or, when more, as many events as
    /// there are orders) were applied since the last one.
    public let snapshotEvery: Int

    private var orders: [String: StatusOrderEntry] = [:]
    private var userOrders: [String: [String]] = [:]
    private var appliedPosition: Int64 = 0
    private var eventsSinceSnapshot = 0
    private var snapshotPosition: Int64 = 0
    /// Writes snapshots in the background, one at a time.
    private let snapshotWriter = DispatchQueue(label: "status-snapshot")
    private let writerState = LockedSnapshotState()

    /// Opens the model in `directory` (created if needed), loading `status.snapshot` if present.
    ///
    /// - Parameters:
    ///   - directory: where `status.snapshot` lives.
    ///   - snapshotEvery: events applied between automatic snapshots (at least 1); default 50,000.
    /// - Throws: `StatusSnapshotError` when the snapshot exists but cannot be read or is not intact
    ///   (the model never starts empty over a damaged snapshot); file-system errors creating the directory.
    public init(directory: String, snapshotEvery: Int = 50_000) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.directory = directory
        snapshotPath = (directory as NSString).appendingPathComponent("status.snapshot")
        self.snapshotEvery = max(1, snapshotEvery)
        if let snapshot = try StatusSnapshot.load(path: snapshotPath) {
            orders = snapshot.orders
            userOrders = snapshot.userOrders
            appliedPosition = snapshot.checkpoint
            snapshotPosition = snapshot.checkpoint
        }
    }

    /// The checkpoint of the state in memory: the snapshot's at open, then the last `apply`'s.
    public func checkpoint() throws -> Int64 { appliedPosition }

    /// Applies `events` in memory and moves the checkpoint to `position`; starts writing a
    /// snapshot in the background when one is due (see the type's notes).
    ///
    /// Events at or below the checkpoint are skipped (they are already in the state).
    /// - Throws: `StatusSnapshotError` when the last background snapshot could not be written,
    ///   before applying anything; the next snapshot retries.
    public func apply(_ events: [RecordedEvent], through position: Int64) throws {
        if let failure = writerState.takeFailure() {
            eventsSinceSnapshot = max(eventsSinceSnapshot, snapshotEvery)  // due again
            throw failure
        }
        for event in events where event.position > appliedPosition {
            applyEvent(event)
        }
        eventsSinceSnapshot += events.count
        appliedPosition = max(appliedPosition, position)
        if eventsSinceSnapshot >= max(snapshotEvery, orders.count), !writerState.isWriting {
            startSnapshot()
        }
    }

    /// Hands a copy of the state to the snapshot thread.
    private func startSnapshot() {
        let (checkpoint, orders, userOrders) = (appliedPosition, orders, userOrders)
        let (path, state) = (snapshotPath, writerState)
        snapshotPosition = appliedPosition
        eventsSinceSnapshot = 0
        state.started()
        snapshotWriter.async {
            let bytes = StatusSnapshot.encode(checkpoint: checkpoint, orders: orders, userOrders: userOrders)
            do {
                try StatusSnapshot.save(bytes, path: path)
                state.finished(nil)
            } catch {
                state.finished(error)
            }
        }
    }

    /// Waits until the snapshot being written in the background (if any) is on disk.
    public func finishSnapshotWrites() {
        snapshotWriter.sync {}
    }

    private func applyEvent(_ event: RecordedEvent) {
        guard let change = StatusChange(event) else { return }
        // One hash of the id for a known order: update in place through its index.
        if let index = orders.index(forKey: change.orderId) {
            orders.values[index].status = change.status
        } else {
            orders[change.orderId] = StatusOrderEntry(status: change.status, userId: change.userId)
            userOrders[change.userId, default: []].append(change.orderId)
        }
    }

    /// Writes the whole state and its checkpoint to `status.snapshot` atomically (temporary file,
    /// fsync, rename, fsync of the directory), on the calling thread, after any background write.
    /// Does nothing when the checkpoint has not moved since the last snapshot. The runtime calls
    /// it on clean shutdown.
    ///
    /// - Throws: `StatusSnapshotError.io` naming the file and the failed call.
    public func saveSnapshot() throws {
        finishSnapshotWrites()
        if writerState.takeFailure() != nil { eventsSinceSnapshot = max(eventsSinceSnapshot, 1) }
        if appliedPosition == snapshotPosition && eventsSinceSnapshot == 0 { return }
        let bytes = StatusSnapshot.encode(checkpoint: appliedPosition, orders: orders, userOrders: userOrders)
        try StatusSnapshot.save(bytes, path: snapshotPath)
        snapshotPosition = appliedPosition
        eventsSinceSnapshot = 0
    }

    /// On a clean stop, the snapshot takes everything applied so the restart replays nothing.
    public func close() throws {
        try saveSnapshot()
    }

    /// Empties the model, sets the checkpoint to 0 and deletes the snapshot.
    public func reset() throws {
        finishSnapshotWrites()
        _ = writerState.takeFailure()
        orders = [:]
        userOrders = [:]
        appliedPosition = 0
        snapshotPosition = 0
        eventsSinceSnapshot = 0
        try StatusSnapshot.remove(path: snapshotPath, directory: directory)
    }

    /// Answers `orderStatus` or `userOrders` (see `StatusQuery`).
    ///
    /// - Throws: `WireError` `.unknownQuery`, or `.invalidArgument` naming the parameter.
    public func query(_ name: String, params: JSONValue) throws -> JSONValue {
        switch try StatusQuery(name, params: params) {
        case .orderStatus(let orderId):
            return StatusQuery.orderStatusAnswer(orderId: orderId, orders[orderId])
        case .userOrders(let userId, let limit):
            let orderIds = userOrders[userId] ?? []
            return StatusQuery.userOrdersAnswer(userId: userId, orderIds.prefix(limit).map { ($0, orders[$0]!.status) })
        }
    }

    /// FNV-1a over every order sorted by id (`orderId status userId`), then every user sorted by id
    /// with their order ids in creation order. The checkpoint is not included.
    public func digest() throws -> String {
        var digest = Digest()
        for orderId in orders.keys.sorted() {
            let entry = orders[orderId]!
            digest.add(orderId)
            digest.add(entry.status.name)
            digest.add(entry.userId)
        }
        digest.add("\n")
        for userId in userOrders.keys.sorted() {
            digest.add(userId)
            for orderId in userOrders[userId]! { digest.add(orderId) }
            digest.add("\n")
        }
        return digest.hex
    }

    /// Number of orders in memory (for tests and benchmarks).
    public var orderCount: Int { orders.count }
}

/// Whether a background snapshot is being written and how the last one failed, shared by the
/// apply thread and the snapshot thread.
private final class LockedSnapshotState: @unchecked Sendable {
    private let lock = NSLock()
    private var writing = false
    private var failure: (any Error)?

    var isWriting: Bool { lock.withLock { writing } }

    func started() { lock.withLock { writing = true } }

    func finished(_ error: (any Error)?) {
        lock.withLock {
            writing = false
            if let error { failure = error }
        }
    }

    func takeFailure() -> (any Error)? {
        lock.withLock {
            defer { failure = nil }
            return failure
        }
    }
}
