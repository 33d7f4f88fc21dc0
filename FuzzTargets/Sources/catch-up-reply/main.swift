import FuzzSupport
import WireProtocol

/// The catch-up exchange as each side decodes it. The first byte chooses what the rest is, its
/// frames separated by zero bytes (no JSON frame holds one):
/// - 0: a binary reply `[summary, records]` (`CatchUp.decodeRecords`, `EventRecord.decodeAll`);
/// - 1: a JSON reply `[summary, body, body, …]`;
/// - 2: a request, as the write node parses it (`CatchUp.parse`).
/// Properties: decode → encode → decode gives the same value; a summary's count is what the
/// records decoder holds it to.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCatchUpReply(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = fuzzInput(start, count)
    guard let mode = bytes.first else { return 0 }
    let rest = bytes.dropFirst()
    switch mode % 3 {
    case 0:
        let reply = frames(rest, maxSplits: 1)
        guard let summary = decodeSummary(reply[0]), reply.count == 2 else { return 0 }
        checkRecords(reply[1], count: summary.count)
    case 1:
        let reply = frames(rest)
        guard let summary = decodeSummary(reply[0]) else { return 0 }
        let events = reply.dropFirst().compactMap { try? EventFrames.decodeBody($0) }
        if events.count == reply.count - 1, events.count == summary.count {
            let bodies = events.map { EventFrames.body(of: $0) }
            require(bodies.map { try? EventFrames.decodeBody($0) } == events, "a reply's events written back decode differently")
        }
    default:
        guard let request = try? CatchUp.parse(Array(rest), maxLimit: CatchUp.defaultMaxEvents) else { return 0 }
        let json = switch request {
        case .log(let log): log.json
        case .stream(let stream): stream.json
        }
        require((try? CatchUp.parse(json.jsonBytes, maxLimit: CatchUp.defaultMaxEvents)) == request, "the request written back parses differently")
    }
    return 0
}

/// The summary frame, checked to survive its own round trip.
func decodeSummary(_ frame: [UInt8]) -> CatchUp.Summary? {
    guard let summary = try? CatchUp.Summary(body: frame) else { return nil }
    require((try? CatchUp.Summary(body: summary.json.jsonBytes)) == summary, "the summary written back decodes differently")
    return summary
}

/// A records frame: decoded, its events encoded again decode to the same events, and the bytes
/// are the input's but for the checksum fields (the log's, not checked here) and text that was
/// not UTF-8 (decoded with replacement characters).
func checkRecords(_ frame: [UInt8], count: Int) {
    guard let events = try? CatchUp.decodeRecords(frame, count: count) else { return }
    require(events.count == count, "\(events.count) events where the summary says \(count)")
    var encoded: [UInt8] = []
    for event in events { EventRecord.append(event, to: &encoded) }
    require((try? EventRecord.decodeAll(encoded, count: count)) == events, "the records written back decode differently")
    guard events.allSatisfy(\.hasUTF8Text) else { return }
    var unchecked = frame
    var offset = 0
    for event in events {
        unchecked.replaceSubrange(offset + EventRecord.checksumOffset..<offset + EventRecord.checksumOffset + 4, with: [0, 0, 0, 0])
        offset += EventRecord.length(of: event)
    }
    require(encoded == unchecked, "records written back differ from the input")
}
