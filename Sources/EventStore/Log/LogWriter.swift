import Dispatch
import Synchronization

/// Appends groups to the last segment, one `pwrite` + `fdatasync` each, and rolls to a new segment
/// when the next group does not fit. Used from one thread at a time (the committer).
///
/// The next segment is zero-filled in the background once the active one is half full, so a
/// roll costs a header write, a rename and a directory sync, not 256 MiB of zeros.
final class LogWriter: @unchecked Sendable {
    let directory: String
    let fileSystem: any LogFileSystem
    /// Capacity of a new segment in bytes.
    let segmentBytes: Int
    /// Every segment by first position, for readers on other threads.
    let segments: Mutex<[Int64: LogSegment]>
    private(set) var active: LogSegment?
    /// Where the next group goes in `active`.
    private(set) var end: Int

    private let preparer = DispatchQueue(label: "prism.log.prepare-segment")
    private let prepared = Mutex<PreparedSegment>(.none)
    private let preparing = DispatchGroup()

    private enum PreparedSegment {
        case none, running
        case ready(any LogFile)
        case failed(EventStoreError)
    }

    init(directory: String, fileSystem: any LogFileSystem, segmentBytes: Int, loaded: LogLoader.Loaded) {
        self.directory = directory
        self.fileSystem = fileSystem
        self.segmentBytes = segmentBytes
        segments = Mutex(Dictionary(uniqueKeysWithValues: loaded.segments.map { ($0.firstPosition, $0) }))
        active = loaded.segments.last
        end = loaded.end.offset
    }

    /// Writes one group (its first event is at `firstPosition`) and syncs it.
    /// - Returns: where the group starts.
    /// - Throws: `.io` naming the call; then the group may be partly written, and the caller must
    ///   stop appending until the log's tail is validated again (`EventStore` reopens it).
    func append(_ group: [UInt8], firstPosition: Int64) throws -> LogLocation {
        if active == nil || (end + group.count > segmentBytes && end > LogFormat.segmentHeaderLength) {
            try roll(firstPosition: firstPosition)
        }
        guard let active else { preconditionFailure("roll leaves an active segment") }
        try active.file.write(group, at: end)
        try active.file.sync()
        let location = LogLocation(segment: active.firstPosition, offset: end)
        end += group.count
        if end > segmentBytes / 2 { prepareNext() }
        return location
    }

    /// Creates the first segment of an empty log, so the first append does not zero-fill one.
    func createFirstSegment() throws {
        if active == nil { try roll(firstPosition: 1) }
    }

    /// Names a prepared (or a freshly zero-filled) file as the segment starting at `firstPosition`.
    private func roll(firstPosition: Int64) throws {
        let file = try takePrepared()
        let name = LogSegment.name(firstPosition: firstPosition)
        do {
            try file.write(LogFormat.segmentHeader(firstPosition: firstPosition), at: 0)
            try file.sync()
            try fileSystem.rename(file.path, directory + "/" + name)
            try fileSystem.syncDirectory(directory)
        } catch {
            file.close()
            try? fileSystem.remove(file.path)
            throw error
        }
        file.close()
        // Reopened under its final name, so every later message names the right file.
        let segment = LogSegment(firstPosition: firstPosition, file: try fileSystem.open(directory + "/" + name, create: false))
        segments.withLock { $0[firstPosition] = segment }
        active = segment
        end = LogFormat.segmentHeaderLength
    }

    private func takePrepared() throws -> any LogFile {
        preparing.wait()
        let taken = prepared.withLock { state -> PreparedSegment in
            defer { state = .none }
            return state
        }
        if case .ready(let file) = taken { return file }
        // None ready (or its preparation failed, e.g. ENOSPC): try now, on the commit path.
        return try Self.zeroFilledFile(directory: directory, fileSystem: fileSystem, bytes: segmentBytes)
    }

    private func prepareNext() {
        let start = prepared.withLock { state -> Bool in
            guard case .none = state else { return false }
            state = .running
            return true
        }
        guard start else { return }
        let (directory, fileSystem, bytes) = (self.directory, self.fileSystem, segmentBytes)
        preparer.async(group: preparing) { [self] in
            let outcome: PreparedSegment
            do {
                outcome = .ready(try Self.zeroFilledFile(directory: directory, fileSystem: fileSystem, bytes: bytes))
            } catch let error as EventStoreError {
                outcome = .failed(error)
            } catch {
                outcome = .failed(EventStoreError(.io, "\(error)"))
            }
            prepared.withLock { $0 = outcome }
        }
    }

    /// A new `*.segment.preparing` file of `bytes` zeros, synced, with its directory entry synced.
    static func zeroFilledFile(directory: String, fileSystem: any LogFileSystem, bytes: Int) throws -> any LogFile {
        let path = directory + "/" + String(monotonicNanoseconds()) + LogSegment.preparingSuffix
        let file = try fileSystem.open(path, create: true)
        do {
            let chunk = [UInt8](repeating: 0, count: 1 << 20)
            var offset = 0
            while offset < bytes {
                let count = min(chunk.count, bytes - offset)
                try file.write(count == chunk.count ? chunk : Array(chunk[0..<count]), at: offset)
                offset += count
                // Synced every 8 MiB: a few hundred MiB of dirty pages flushed at once would stall
                // the active segment's `fdatasync`s behind them.
                if offset % (8 << 20) == 0 { try file.sync() }
            }
            try file.sync()
            try fileSystem.syncDirectory(directory)
            return file
        } catch {
            file.close()
            try? fileSystem.remove(path)
            throw error
        }
    }

    /// Waits for a background preparation and closes every file.
    func close() {
        preparing.wait()
        if case .ready(let file) = prepared.withLock({ $0 }) {
            file.close()
            try? fileSystem.remove(file.path)
        }
        prepared.withLock { $0 = .none }
        segments.withLock { all in
            for segment in all.values { segment.file.close() }
            all.removeAll()
        }
        active = nil
    }
}
