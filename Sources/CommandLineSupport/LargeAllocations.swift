/// Makes glibc serve every allocation of 1 MiB or more with a mapping of its own, returned to the
/// system when freed. By default its threshold rises to the largest block freed (up to 32 MiB), and
/// blocks under it come from the heap and stay there: a client sending messages of ZMQ_MAXMSGSIZE
/// (16 MiB) left the write node 66 MB larger for good. Setting the threshold also keeps it fixed.
public func mapLargeAllocations() {
    #if os(Linux)
    _ = glibcMallopt(glibcMmapThreshold, 1 << 20)
    #endif
}

#if os(Linux)
// <malloc.h> is not in Swift's Glibc module: `int mallopt(int param, int value)`, M_MMAP_THRESHOLD = -3.
@_silgen_name("mallopt") private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
private let glibcMmapThreshold: Int32 = -3
#endif
