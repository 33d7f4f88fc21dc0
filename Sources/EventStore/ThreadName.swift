#if canImport(Glibc)
import Glibc
#endif

/// Names the calling thread (at most 15 bytes), so `top -H`, `perf` and `/proc/PID/task/*/comm`
/// tell the write node's threads apart. Foundation's `Thread.name` does not reach the kernel on
/// Linux, and `pthread_setname_np` is not visible to Swift without `_GNU_SOURCE`, so this writes
/// `/proc/thread-self/comm`, which is what both do.
public func nameCurrentThread(_ name: String) {
    let descriptor = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return }
    let bytes = Array(name.utf8.prefix(15))
    _ = write(descriptor, bytes, bytes.count)
    close(descriptor)
}

/// Lowers the calling thread's CPU priority by `niceness`, so a bulk reader yields the CPU to the
/// threads whose latency matters when both want it. (On Linux a nice value is a thread's own:
/// `setpriority(PRIO_PROCESS, 0, …)` changes the calling thread only.)
public func lowerCurrentThreadPriority(by niceness: Int32) {
    let which = __priority_which_t(PRIO_PROCESS.rawValue)
    _ = setpriority(which, 0, getpriority(which, 0) + niceness)
}
