import Foundation
import WireProtocol

/// A generic append of one event per id to `stream` (`expectedVersion: any`), as a write node's
/// command endpoint takes it; each event's data holds its index in the request.
public func appendRequest(stream: String, ids: [UUID], type: String = "Probe") -> JSONValue {
    ["append": [
        "stream": .string(stream), "expectedVersion": "any",
        "events": .array(ids.enumerated().map { index, id in
            ["id": .string(id.uuidString), "type": .string(type), "data": ["index": .int(Int64(index))]]
        }),
    ]]
}

extension WriteNodeClient {
    /// Appends `count` events of `type` to `stream` in one generic append.
    ///
    /// - Returns: the events as acknowledged, in order: the id sent and the position stored.
    /// - Throws: `TestFailure` when the reply is not an `ok` with one position per event.
    public func append(stream: String, count: Int = 1, type: String = "Probe", timeout: Int = 10_000) throws -> [(id: UUID, position: Int64)] {
        let ids = (0..<count).map { _ in UUID() }
        let reply = try send(appendRequest(stream: stream, ids: ids, type: type), timeout: timeout)
        guard reply["ok"] == .bool(true), let positions = reply["events"]?.arrayValue?.compactMap({ $0["position"]?.intValue }),
              positions.count == count
        else { throw TestFailure("append to \(stream) failed: \(reply)") }
        return zip(ids, positions).map { (id: $0, position: $1) }
    }
}
