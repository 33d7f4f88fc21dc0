import Foundation
import Glibc

/// Files that must survive a crash once written (`skipped.jsonl`, `CURRENT`, the status model's
/// snapshot): every call syncs before it returns, and errors name the call, the path and `strerror`.
public enum DurableFile {
    /// Appends `bytes` to `path` (created if missing) and syncs the file.
    public static func append(_ bytes: [UInt8], to path: String) throws {
        try write(bytes, to: path, flags: O_WRONLY | O_APPEND | O_CREAT)
    }

    /// Replaces `path` with `bytes` atomically: a temporary file, synced, renamed over it, and the
    /// directory synced, so a crash leaves either the old content or the new.
    public static func replace(_ path: String, with bytes: [UInt8]) throws {
        let temporary = path + ".tmp"
        do {
            try write(bytes, to: temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
        } catch {
            unlink(temporary)
            throw error
        }
        try check(rename(temporary, path), "rename(\(temporary), \(path))")
        try syncDirectory((path as NSString).deletingLastPathComponent)
    }

    public static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        try check(fd, "open(\(path))")
        defer { close(fd) }
        try check(fsync(fd), "fsync(\(path))")
    }

    private static func write(_ bytes: [UInt8], to path: String, flags: Int32) throws {
        let fd = open(path, flags | O_CLOEXEC, 0o644)
        try check(fd, "open(\(path))")
        defer { close(fd) }
        try bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let count = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if count < 0, errno == EINTR { continue }
                try check(Int32(clamping: count), "write(\(path))")
                done += count
            }
        }
        try check(fsync(fd), "fsync(\(path))")
    }

    private static func check(_ result: Int32, _ call: String) throws {
        if result < 0 { throw ProjectorError("\(call): \(String(cString: strerror(errno)))") }
    }
}
