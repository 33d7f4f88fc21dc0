@testable import EventStore
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// A small `tmpfs`, mounted for one test and unmounted after it.
struct SmallTmpfs {
    let directory = TemporaryDirectory()
    var path: String { directory.path }

    /// Mounts `bytes` of tmpfs on a fresh temporary directory.
    /// - Throws: when `mount(2)` fails (not root, or no `CAP_SYS_ADMIN` in this container).
    init(bytes: Int) throws {
        let mounted = "size=\(bytes)".withCString { mount("tmpfs", directory.path, "tmpfs", 0, $0) }
        guard mounted == 0 else {
            let reason = String(cString: strerror(errno))
            directory.remove()
            throw EventStoreError(.io, "mount tmpfs on \(directory.path): \(reason)")
        }
    }

    func unmount() {
        // Lazily if something still holds a file open, so the mount never outlives the test run.
        if Glibc.umount(path) != 0 { _ = umount2(path, Int32(MNT_DETACH)) }
        directory.remove()
    }

    /// Whether this process can mount a tmpfs (it must be root with `CAP_SYS_ADMIN`); probed once.
    static let canMount: Bool = {
        guard getuid() == 0, let probe = try? SmallTmpfs(bytes: 1 << 20) else { return false }
        probe.unmount()
        return true
    }()
}

/// A real `ENOSPC`, not an injected one: the store on a 2 MiB tmpfs fills it. Needs root (to mount
/// the tmpfs); elsewhere the test is reported as skipped, with the reason, by `swift test`.
@Suite struct DiskFullTests {
    @Test(.enabled(if: SmallTmpfs.canMount, "needs root with CAP_SYS_ADMIN to mount a 2 MiB tmpfs (mount -t tmpfs -o size=2m); skipped"))
    func aFullDiskFailsAppendsKeepsReadsAndRecoversWhenSpaceReturns() throws {
        let disk = try SmallTmpfs(bytes: 2 << 20)
        defer { disk.unmount() }
        let path = disk.path + "/data"
        // Room to give back later: a file taking a fifth of the disk.
        let filler = disk.path + "/filler"
        #expect(FileManager.default.createFile(atPath: filler, contents: Data(count: 400 << 10)))
        var options = EventStore.Options()
        options.segmentBytes = 256 << 10
        var written: [RecordedEvent] = []
        do {
            let store = try EventStore(directory: path, options: options)
            defer { try? store.close() }
            var failure: EventStoreError?
            for n in 0..<2000 {
                do {
                    written += try store.append("item-\(n % 10)", .any, [event(bytes: 2000)])
                } catch let error as EventStoreError {
                    failure = error
                    break
                }
            }
            let error = try #require(failure, "2,000 events of 2 KB did not fill 2 MiB")
            #expect(error.code == .io)
            #expect(error.message.contains("No space left on device"), "\(error.message)")
            #expect(store.failure == error)
            let head = store.headPosition
            #expect(head == Int64(written.count))
            // Nothing of the failed append is visible; reads keep working.
            #expect(try store.readAll() == written)
            #expect(try store.readStream("item-3", limit: 10_000) == written.filter { $0.stream == "item-3" })
            #expect(throws: EventStoreError.self) { try store.append("item-0", .any, [event(bytes: 2000)]) }

            try FileManager.default.removeItem(atPath: filler)
            let resumed = try store.append("item-0", .any, [event(bytes: 2000)])
            #expect(resumed.map(\.position) == [head + 1])
            #expect(store.failure == nil)
            written += resumed
        }
        let reopened = try EventStore(directory: path, options: options)
        #expect(try reopened.readAll() == written)
        try reopened.close()
        try expectSound(path)
    }
}
