import Glibc

/// CLOCK_MONOTONIC in nanoseconds, for deadlines and turn-away windows (this module links no
/// EventModel, whose `monotonicNanoseconds` the other modules use).
func monotonicNanoseconds() -> Int64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
}
