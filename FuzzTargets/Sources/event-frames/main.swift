import FuzzSupport
import WireProtocol

/// What a subscriber decodes from the PUB socket: the 32-byte header, an event body, a
/// heartbeat body. The whole input is tried as each (the header on its first 32 bytes).
/// Properties: decode → encode → decode gives the same value, and encoding is a fixed point.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEventFrames(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = fuzzInput(start, count)

    let headerBytes = Array(bytes.prefix(EventFrames.Header.size))
    let header = EventFrames.Header(bytes: headerBytes)
    require((header != nil) == (headerBytes.count == EventFrames.Header.size), "a header of \(headerBytes.count) bytes")
    if let header { require(header.bytes == headerBytes, "the header encodes to other bytes") }
    require(EventFrames.Header(bytes: bytes) == (bytes.count == EventFrames.Header.size ? header : nil), "a header frame of \(bytes.count) bytes")

    if let (event, syncedAt) = try? EventFrames.decodePublishedBody(bytes) {
        let body = EventFrames.body(of: event, syncedAt: syncedAt)
        let again = try? EventFrames.decodePublishedBody(body)
        require(again?.event == event && again?.syncedAt == syncedAt, "the event written back decodes differently")
        require(again.map { EventFrames.body(of: $0.event, syncedAt: $0.syncedAt) } == body, "writing the event again gives other bytes")
        require((try? EventFrames.decodeBody(body)) == event, "decodeBody and decodePublishedBody disagree")
    }

    if let heartbeat = try? EventFrames.Heartbeat(body: bytes) {
        let frames = heartbeat.frames
        require(frames.count == 3 && frames[0] == EventFrames.heartbeatTopicBytes, "a heartbeat's frames")
        let header = EventFrames.Header(bytes: frames[1])
        require(header?.position == heartbeat.head && header?.recordedAt == heartbeat.sentAt, "a heartbeat's header")
        require((try? EventFrames.Heartbeat(body: frames[2])) == heartbeat, "the heartbeat written back decodes differently")
    }
    return 0
}
