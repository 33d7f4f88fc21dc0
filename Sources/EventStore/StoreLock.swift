#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The exclusive `flock` on `<directory>/write-node.lock` that makes one write node own a data directory.
///
/// `flock` locks belong to an open file description, so a second `StoreLock` on the same
/// directory fails even inside the same process, and the kernel drops the lock if the process dies.
final class StoreLock {
    let path: String
    private var descriptor: Int32

    /// Creates `directory` if needed and takes its lock, writing our pid into the lock file.
    /// - Throws: `.io` when the directory cannot be created or written, `.locked` when another
    ///   holder has it (the message names the pid the holder wrote).
    init(directory: String) throws {
        try StoreLock.makeDirectory(directory)
        path = (directory as NSString).appendingPathComponent("write-node.lock")
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw EventStoreError(.io, "cannot open \(path): \(StoreLock.describe(errno))")
        }
        var result: Int32
        repeat {
            result = flock(descriptor, LOCK_EX | LOCK_NB)
        } while result != 0 && errno == EINTR
        guard result == 0 else {
            let code = errno
            let holder = StoreLock.readPid(descriptor)
            close(descriptor)
            if code == EWOULDBLOCK {
                throw EventStoreError(.locked, "data directory \(directory) is in use by another write node (pid \(holder ?? "unknown"))")
            }
            throw EventStoreError(.io, "cannot lock \(path): \(StoreLock.describe(code))")
        }
        self.descriptor = descriptor
        let pid = Array("\(getpid())\n".utf8)
        if ftruncate(descriptor, 0) != 0 || pwrite(descriptor, pid, pid.count, 0) != pid.count {
            let code = errno
            release()
            throw EventStoreError(.io, "cannot write pid to \(path): \(StoreLock.describe(code))")
        }
    }

    deinit { release() }

    /// Clears the pid and drops the lock; idempotent.
    func release() {
        guard descriptor >= 0 else { return }
        // Clear the pid first, while we still hold the lock, so no reader sees a stale owner.
        _ = ftruncate(descriptor, 0)
        close(descriptor)  // closing the last descriptor releases the flock
        descriptor = -1
    }

    /// `mkdir -p`, reporting the first component that fails with its `strerror`.
    static func makeDirectory(_ directory: String) throws {
        guard !directory.isEmpty else {
            throw EventStoreError(.io, "data directory path is empty")
        }
        var path = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            path += "/" + component
            if mkdir(path, 0o755) == 0 { continue }
            let code = errno
            var status = stat()
            if code == EEXIST, stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR { continue }
            let reason = code == EEXIST ? "it exists and is not a directory" : describe(code)
            throw EventStoreError(.io, "cannot create data directory \(directory): \(path): \(reason)")
        }
    }

    private static func readPid(_ descriptor: Int32) -> String? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = pread(descriptor, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }

    static func describe(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
