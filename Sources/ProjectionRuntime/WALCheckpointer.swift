import EventStore
import Foundation
import GRDB
import GRDBSQLite
import WireProtocol

/// Checkpoints a read model's WAL from a thread and a connection of its own, so that the apply
/// thread never waits for one.
///
/// SQLite's automatic checkpoint runs inside the commit that crosses its threshold: that commit
/// then copies the WAL into the database file and fsyncs it, tens of milliseconds during which
/// the projector applies nothing — the periodic lag spikes. Instead the apply connection's
/// automatic checkpoint is off and its WAL hook reports each commit's WAL size here:
///
/// - past `passiveBytes` (16 MB), or after `idleMilliseconds` (20 ms) without a commit, this
///   thread runs a PASSIVE checkpoint, which never waits for the writer; once everything is
///   copied, the writer's next transaction starts the WAL from its beginning again;
/// - past `restartBytes` (64 MB) it runs a RESTART checkpoint instead, which waits for the
///   writer's current transaction so that the WAL cannot keep growing under a steady load;
/// - only past `applyThreadBytes` (256 MB) — this thread not keeping up — does the apply thread
///   checkpoint itself (RESTART, waiting for this thread's checkpoint first), which bounds the WAL
///   to that size and a transaction.
public final class WALCheckpointer: @unchecked Sendable {
    /// When to checkpoint (see the type's notes); smaller in tests.
    public struct Thresholds: Sendable {
        public var passiveBytes: Int
        public var restartBytes: Int
        public var applyThreadBytes: Int
        public var idleMilliseconds: Int64

        public init(passiveBytes: Int = 16 << 20, restartBytes: Int = 64 << 20, applyThreadBytes: Int = 256 << 20,
                    idleMilliseconds: Int64 = 20) {
            self.passiveBytes = passiveBytes
            self.restartBytes = restartBytes
            self.applyThreadBytes = applyThreadBytes
            self.idleMilliseconds = idleMilliseconds
        }
    }

    let path: String
    let pageSize: Int
    let thresholds: Thresholds
    private let condition = NSCondition()

    // Guarded by `condition`.
    private var walBytes = 0
    private var lastCommit: Int64 = 0
    private var pending = false  // a commit since the last checkpoint
    private var stopped = false
    /// Signalled when the thread has ended (its connection closed).
    private let exited = DispatchSemaphore(value: 0)
    private var status = WALStatus()

    /// Starts the checkpointing thread for the database at `path`, whose pages are `pageSize` bytes.
    init(path: String, pageSize: Int, thresholds: Thresholds = Thresholds()) {
        self.path = path
        self.pageSize = pageSize
        self.thresholds = thresholds
        let thread = Thread { [self] in run() }
        thread.name = "wal-checkpointer"
        thread.start()
    }

    /// Reports each commit of `connection` (the apply connection) to this checkpointer, in
    /// place of SQLite's automatic checkpoint. The checkpointer must outlive the hook: call
    /// `uninstall(from:)` before releasing it.
    func install(on connection: SQLiteConnection) {
        sqlite3_wal_autocheckpoint(connection, 0)
        sqlite3_wal_hook(connection, { context, _, _, pages in
            Unmanaged<WALCheckpointer>.fromOpaque(context!).takeUnretainedValue().committed(pages: Int(pages))
            return SQLITE_OK
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    func uninstall(from connection: SQLiteConnection) {
        sqlite3_wal_hook(connection, nil, nil)
    }

    /// On the apply thread after a transaction: when the WAL has passed `applyThreadBytes`, a
    /// RESTART checkpoint here (after the one the thread may be running; it copies everything and
    /// makes the next transaction start the WAL from its beginning) bounds it — a stall, but only
    /// when the checkpointing thread cannot keep up.
    func checkpointIfOverdue(_ connection: SQLiteConnection) {
        guard overdue else { return }
        overdue = false
        let started = monotonicNanoseconds()
        var copied: Int32 = 0
        var result = sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_RESTART, nil, &copied)
        // SQLite does not wait for another connection's checkpoint (the busy handler is not
        // called for that lock): retry until the thread's checkpoint is over, for up to a second.
        for _ in 0..<1000 where result == SQLITE_BUSY {
            usleep(1000)
            result = sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_RESTART, nil, &copied)
        }
        condition.lock()
        status.applyThreadCheckpoints += 1
        status.record(nanoseconds: monotonicNanoseconds() - started, pages: copied)
        if result != SQLITE_OK {
            status.lastError = "checkpoint on the apply thread: \(String(cString: sqlite3_errmsg(connection)))"
        }
        condition.unlock()
    }

    /// Ends the thread after its current checkpoint (if any) and waits until its connection is
    /// closed, so that nothing writes to the files once the model is closed (a replaced copy is
    /// deleted right after).
    func stop() {
        condition.lock()
        let first = !stopped
        stopped = true
        condition.signal()
        condition.unlock()
        if first { exited.wait() }
    }

    var currentStatus: WALStatus {
        condition.lock()
        defer { condition.unlock() }
        return status
    }

    /// Set by the WAL hook past `applyThreadBytes`; read by `checkpointIfOverdue` (apply thread only).
    private var overdue = false

    /// On the apply thread, after each commit (inside it: the checkpoint waits for the transaction's end).
    private func committed(pages: Int) {
        let bytes = pages * pageSize
        if bytes >= thresholds.applyThreadBytes { overdue = true }
        condition.lock()
        walBytes = bytes
        status.walBytes = bytes
        status.maxWALBytes = max(status.maxWALBytes, bytes)
        lastCommit = monotonicNanoseconds()
        pending = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        defer { exited.signal() }  // declared first: runs last, after the connection is closed
        var connection: SQLiteConnection?
        let opened = sqlite3_open_v2(path, &connection, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil)
        defer { sqlite3_close_v2(connection) }
        condition.lock()
        defer { condition.unlock() }
        guard opened == SQLITE_OK, let connection else {
            status.lastError = "cannot open \(path) to checkpoint: \(connection.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory")"
            return
        }
        // A RESTART waits this long for the writer's transaction before giving up until next time.
        sqlite3_busy_timeout(connection, 1000)
        // A connection opens the WAL only when it first reads; until then a checkpoint on it is a
        // silent no-op (SQLite 3.40).
        sqlite3_exec(connection, "SELECT count(*) FROM sqlite_schema", nil, nil, nil)
        let idle = thresholds.idleMilliseconds * 1_000_000
        while !stopped {
            let idleFor = monotonicNanoseconds() - lastCommit
            guard pending, walBytes >= thresholds.passiveBytes || idleFor >= idle else {
                if pending {
                    _ = condition.wait(until: Date(timeIntervalSinceNow: Double(idle - idleFor) / 1e9))
                } else {
                    condition.wait()
                }
                continue
            }
            let mode = walBytes >= thresholds.restartBytes ? SQLITE_CHECKPOINT_RESTART : SQLITE_CHECKPOINT_PASSIVE
            pending = false
            condition.unlock()
            let started = monotonicNanoseconds()
            var copied: Int32 = 0
            let result = sqlite3_wal_checkpoint_v2(connection, nil, mode, nil, &copied)
            let elapsed = monotonicNanoseconds() - started
            let error = result == SQLITE_OK || result == SQLITE_BUSY ? nil : String(cString: sqlite3_errmsg(connection))
            condition.lock()
            status.checkpoints += 1
            if mode == SQLITE_CHECKPOINT_RESTART { status.restarts += 1 }
            status.record(nanoseconds: elapsed, pages: copied)
            if let error { status.lastError = error }
        }
    }
}

/// What `stats` shows of a read model's WAL and its checkpoints (`readModel.wal`).
public struct WALStatus: Sendable {
    /// The WAL's size after the last commit, and the largest it has been.
    public var walBytes = 0
    public var maxWALBytes = 0
    /// Checkpoints by the checkpointing thread, how many of them RESTART, and by the apply thread.
    public var checkpoints = 0
    public var restarts = 0
    public var applyThreadCheckpoints = 0
    /// The longest checkpoint, on either thread, and the WAL pages found copied after each one, summed.
    public var maxCheckpointMicroseconds: Int64 = 0
    public var pagesCheckpointed = 0
    public var lastError: String?

    mutating func record(nanoseconds: Int64, pages: Int32) {
        maxCheckpointMicroseconds = max(maxCheckpointMicroseconds, nanoseconds / 1000)
        pagesCheckpointed += Int(max(0, pages))
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "walBytes": .int(Int64(walBytes)), "maxWalBytes": .int(Int64(maxWALBytes)),
            "checkpoints": .int(Int64(checkpoints)), "restarts": .int(Int64(restarts)),
            "applyThreadCheckpoints": .int(Int64(applyThreadCheckpoints)),
            "maxCheckpointUs": .int(maxCheckpointMicroseconds), "pagesCheckpointed": .int(Int64(pagesCheckpointed)),
        ]
        if let lastError { object["lastError"] = .string(lastError) }
        return .object(object)
    }
}
