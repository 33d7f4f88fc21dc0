#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// One open file of the log. Positional reads and writes only, so one file may be read from
/// several threads while one thread writes it.
protocol LogFile: AnyObject, Sendable {
    var path: String { get }
    /// Reads up to `count` bytes at `offset`; fewer only at the end of the file.
    func read(at offset: Int, count: Int) throws -> [UInt8]
    /// Reads up to `buffer.count` bytes at `offset` into `buffer`; returns how many (fewer only
    /// at the end of the file). A reader that reuses its buffer saves allocating and zeroing one.
    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// Writes all of `bytes` at `offset`.
    func write(_ bytes: [UInt8], at offset: Int) throws
    /// `fdatasync`: everything written so far is durable when it returns.
    func sync() throws
    func size() throws -> Int
    func close()
}

extension LogFile {
    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let bytes = try read(at: offset, count: buffer.count)
        buffer.copyBytes(from: bytes)
        return bytes.count
    }
}

/// The file operations the log needs, behind a seam so tests can make them lie
/// (`FaultInjectingFileSystem` in the tests: short writes, `ENOSPC`, failing syncs, lost or
/// torn unsynced pages), as RocksDB's `FaultInjectionTestFS` does.
protocol LogFileSystem: Sendable {
    func open(_ path: String, create: Bool) throws -> any LogFile
    /// Names in `directory`, unsorted.
    func list(_ directory: String) throws -> [String]
    func rename(_ from: String, _ to: String) throws
    func remove(_ path: String) throws
    /// `fsync` of the directory itself, so a created or renamed entry survives a crash.
    func syncDirectory(_ directory: String) throws
    func exists(_ path: String) -> Bool
}

/// An error from a system call, naming the call, the path and `strerror`, as an `EventStoreError`.
struct SystemCall {
    /// Runs `body` until it does not fail with `EINTR`; other failures throw `.io`.
    @discardableResult
    static func run<T: BinaryInteger>(_ name: String, _ path: String, _ body: () -> T) throws -> T {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = errno
            if code == EINTR { continue }
            throw error(name, path, code)
        }
    }

    static func error(_ name: String, _ path: String, _ code: Int32) -> EventStoreError {
        EventStoreError(.io, "\(name)(\(path)) failed: \(String(cString: strerror(code)))")
    }
}

/// The real file system.
struct POSIXFileSystem: LogFileSystem {
    func open(_ path: String, create: Bool) throws -> any LogFile {
        let flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0)
        let descriptor = try SystemCall.run("open", path) { Glibc.open(path, flags, 0o644) }
        return POSIXFile(path: path, descriptor: descriptor)
    }

    func list(_ directory: String) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw EventStoreError(.io, "cannot list \(directory): \(error.localizedDescription)")
        }
    }

    func rename(_ from: String, _ to: String) throws {
        try SystemCall.run("rename", "\(from) → \(to)") { Glibc.rename(from, to) }
    }

    func remove(_ path: String) throws {
        try SystemCall.run("unlink", path) { unlink(path) }
    }

    func syncDirectory(_ directory: String) throws {
        let descriptor = try SystemCall.run("open", directory) { Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { Glibc.close(descriptor) }
        try SystemCall.run("fsync", directory) { fsync(descriptor) }
    }

    func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
}

final class POSIXFile: LogFile, @unchecked Sendable {
    let path: String
    private let descriptor: Int32

    init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    func read(at offset: Int, count: Int) throws -> [UInt8] {
        var done = 0
        let bytes = try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            done = try read(at: offset, into: UnsafeMutableRawBufferPointer(buffer))
            initialized = done
        }
        return bytes
    }

    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = try SystemCall.run("pread", path) { pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done)) }
            if n == 0 { break }
            done += n
        }
        return done
    }

    func write(_ bytes: [UInt8], at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            let n = try bytes.withUnsafeBytes { buffer in
                try SystemCall.run("pwrite", path) { pwrite(descriptor, buffer.baseAddress! + done, bytes.count - done, off_t(offset + done)) }
            }
            done += n
        }
    }

    func sync() throws {
        try SystemCall.run("fdatasync", path) { fdatasync(descriptor) }
    }

    func size() throws -> Int {
        var status = stat()
        try SystemCall.run("fstat", path) { fstat(descriptor, &status) }
        return Int(status.st_size)
    }

    func close() { Glibc.close(descriptor) }
}
