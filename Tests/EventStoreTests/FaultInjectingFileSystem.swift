@testable import EventStore
import TestSupport
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// The real file system, made to lie on request, as RocksDB's `FaultInjectionTestFS` and SQLite's
/// crash-test VFS do: the next write fails with `ENOSPC` (after writing some of its bytes: a short
/// write), the next `fdatasync` fails with `EIO` (keeping or losing what it should have synced),
/// segment creation fails; and every write not yet synced is remembered with what it overwrote, so
/// `crash` can drop, keep, or tear (some 4 KiB pages kept, others reverted, in any order) exactly
/// what a power cut could.
final class FaultInjectingFileSystem: LogFileSystem {
    enum Operation: Sendable { case create, write, sync }

    struct Fault: Sendable {
        var operation: Operation
        /// Only files whose path ends with this.
        var pathSuffix: String
        var errno: Int32
        /// How many more times it fires; nil: until `clearFaults()`.
        var times: Int?
        /// For a write: how many of its bytes reach the file before it fails (a short write).
        var bytesWritten = 0
        /// For a sync: the writes it should have made durable are lost as it fails (the kernel
        /// dropped the dirty pages), rather than left in the file.
        var losesUnsyncedWrites = false
    }

    /// A write since the file's last successful sync: where, and what it overwrote.
    struct UnsyncedWrite: Sendable {
        var offset: Int
        var count: Int
        var preImage: [UInt8]
    }

    private struct State {
        var faults: [Fault] = []
        var unsynced: [String: [UnsyncedWrite]] = [:]
        var fired = 0
    }

    static let pageBytes = 4096
    let base = POSIXFileSystem()
    private let state = Mutex(State())

    // MARK: - Faults

    func inject(_ fault: Fault) {
        state.withLock { $0.faults.append(fault) }
    }

    /// The next write to a file ending in `suffix` fails with `errno`, after writing `bytesWritten` of its bytes.
    func failNextWrite(errno: Int32 = ENOSPC, to suffix: String = LogSegment.suffix, afterWriting bytesWritten: Int = 0) {
        inject(Fault(operation: .write, pathSuffix: suffix, errno: errno, times: 1, bytesWritten: bytesWritten))
    }

    /// The next `fdatasync` of a segment fails with `errno`.
    func failNextSync(errno: Int32 = EIO, losingUnsyncedWrites: Bool = false) {
        inject(Fault(operation: .sync, pathSuffix: LogSegment.suffix, errno: errno, times: 1, losesUnsyncedWrites: losingUnsyncedWrites))
    }

    /// No new segment can be made (created or zero-filled) until `clearFaults()`: a full disk.
    func failSegmentCreation(errno: Int32 = ENOSPC) {
        inject(Fault(operation: .create, pathSuffix: LogSegment.preparingSuffix, errno: errno, times: nil))
        inject(Fault(operation: .write, pathSuffix: LogSegment.preparingSuffix, errno: errno, times: nil))
    }

    func clearFaults() {
        state.withLock { $0.faults.removeAll() }
    }

    /// How many faults have fired.
    var faultsFired: Int { state.withLock { $0.fired } }

    /// The fault that fires now for `operation` on `path`, if any (counting it down).
    fileprivate func take(_ operation: Operation, _ path: String) -> Fault? {
        state.withLock { state in
            guard let index = state.faults.firstIndex(where: { $0.operation == operation && path.hasSuffix($0.pathSuffix) }) else { return nil }
            let fault = state.faults[index]
            if let times = fault.times {
                if times <= 1 { state.faults.remove(at: index) } else { state.faults[index].times = times - 1 }
            }
            state.fired += 1
            return fault
        }
    }

    // MARK: - Unsynced writes and crashes

    fileprivate func remember(_ write: UnsyncedWrite, path: String) {
        state.withLock { $0.unsynced[path, default: []].append(write) }
    }

    fileprivate func synced(_ path: String) {
        state.withLock { $0.unsynced[path] = nil }
    }

    /// Bytes written and not synced, over all files.
    var unsyncedBytes: Int {
        state.withLock { $0.unsynced.values.joined().reduce(0) { $0 + $1.count } }
    }

    /// A power cut: each 4 KiB page (of the file) that unsynced writes touched is kept as written
    /// when `keep(path, pageIndex)` says so and otherwise reverted to what it held before them.
    /// Afterwards nothing is unsynced. Call it with the store closed (a dead process).
    func crash(keepingPage keep: (_ path: String, _ page: Int) -> Bool) throws {
        let unsynced = state.withLock { state in
            defer { state.unsynced.removeAll() }
            return state.unsynced
        }
        for path in unsynced.keys.sorted() { try revert(unsynced[path]!, of: path, keepingPage: { keep(path, $0) }) }
    }

    /// A failed sync that lost the file's unsynced writes: all of them revert.
    fileprivate func loseUnsyncedWrites(of path: String) throws {
        let writes = state.withLock { $0.unsynced.removeValue(forKey: path) } ?? []
        try revert(writes, of: path) { _ in false }
    }

    private func revert(_ writes: [UnsyncedWrite], of path: String, keepingPage keep: (Int) -> Bool) throws {
        guard !writes.isEmpty else { return }
        let file = try base.open(path, create: false)
        defer { file.close() }
        var decisions: [Int: Bool] = [:]
        // Newest first, so a page two writes touched ends up as it was before both.
        for write in writes.reversed() {
            for page in (write.offset / Self.pageBytes)...((write.offset + write.count - 1) / Self.pageBytes) {
                let kept = decisions[page] ?? keep(page)
                decisions[page] = kept
                if kept { continue }
                let from = max(write.offset, page * Self.pageBytes)
                let to = min(write.offset + write.count, (page + 1) * Self.pageBytes)
                // Bytes past the old end of the file revert to zeros (a hole).
                let old = (from..<to).map { at in at - write.offset < write.preImage.count ? write.preImage[at - write.offset] : 0 }
                try file.write(old, at: from)
            }
        }
    }

    enum CrashOutcome: String, Sendable { case dropped, kept, torn }

    /// A power cut decided by `seed`: for each file, its unsynced writes are all dropped, all
    /// kept, or torn (each page kept or reverted at random).
    /// - Returns: what happened to each file with unsynced writes, by path.
    @discardableResult
    func crash(seed: UInt64) throws -> [String: CrashOutcome] {
        var random = SeededGenerator(seed: seed)
        var outcomes: [String: CrashOutcome] = [:]
        try crash { path, _ in
            let outcome = outcomes[path] ?? [.dropped, .kept, .torn][Int(random.next() % 3)]
            outcomes[path] = outcome
            switch outcome {
            case .dropped: return false
            case .kept: return true
            case .torn: return random.next() % 2 == 0
            }
        }
        return outcomes
    }

    // MARK: - LogFileSystem

    func open(_ path: String, create: Bool) throws -> any LogFile {
        if create, let fault = take(.create, path) {
            throw SystemCall.error("open", path, fault.errno)
        }
        return FaultInjectingFile(base: try base.open(path, create: create), fileSystem: self)
    }

    func list(_ directory: String) throws -> [String] { try base.list(directory) }

    func rename(_ from: String, _ to: String) throws {
        try base.rename(from, to)
        state.withLock { state in
            if let writes = state.unsynced.removeValue(forKey: from) { state.unsynced[to] = writes }
        }
    }

    func remove(_ path: String) throws {
        try base.remove(path)
        state.withLock { $0.unsynced[path] = nil }
    }

    func syncDirectory(_ directory: String) throws { try base.syncDirectory(directory) }

    func exists(_ path: String) -> Bool { base.exists(path) }
}

/// A file of `FaultInjectingFileSystem`: every write remembered until synced, faults applied.
final class FaultInjectingFile: LogFile {
    let base: any LogFile
    let fileSystem: FaultInjectingFileSystem

    init(base: any LogFile, fileSystem: FaultInjectingFileSystem) {
        self.base = base
        self.fileSystem = fileSystem
    }

    var path: String { base.path }

    func read(at offset: Int, count: Int) throws -> [UInt8] { try base.read(at: offset, count: count) }

    func write(_ bytes: [UInt8], at offset: Int) throws {
        if let fault = fileSystem.take(.write, path) {
            let written = min(fault.bytesWritten, bytes.count)
            if written > 0 { try rememberAndWrite(Array(bytes[0..<written]), at: offset) }
            throw SystemCall.error("pwrite", path, fault.errno)
        }
        try rememberAndWrite(bytes, at: offset)
    }

    private func rememberAndWrite(_ bytes: [UInt8], at offset: Int) throws {
        let preImage = try base.read(at: offset, count: bytes.count)
        fileSystem.remember(.init(offset: offset, count: bytes.count, preImage: preImage), path: path)
        try base.write(bytes, at: offset)
    }

    func sync() throws {
        if let fault = fileSystem.take(.sync, path) {
            if fault.losesUnsyncedWrites {
                try fileSystem.loseUnsyncedWrites(of: path)
            }
            throw SystemCall.error("fdatasync", path, fault.errno)
        }
        try base.sync()
        fileSystem.synced(path)
    }

    func size() throws -> Int { try base.size() }

    func close() { base.close() }
}
