import FuzzSupport
import WireProtocol
import WriteNodeHost

/// The write node's request parser (commands, appends, queries), with its default limits.
/// Properties: it fails only with a client's error code, and an accepted request written back as
/// JSON parses to the same request.
let limits = WriteNodeConfiguration(dataDirectory: "/nonexistent")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWriteRequest(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = fuzzInput(start, count)
    let request: WriteRequest
    do {
        request = try WriteRequest.parse(bytes, limits: limits)
    } catch {
        requireClientError(error)
        return 0
    }
    let written = json(request).jsonBytes
    require((try? WriteRequest.parse(written, limits: limits)) == request, "the request written back parses differently")
    if case .append(let append) = request {
        for event in append.events {
            let size = event.data.count + (event.metadata?.count ?? 0)
            require(size <= limits.maxEventBytes, "an accepted event of \(size) bytes is over the limit")
            require((try? JSONParser.parse(event.data)) != nil, "an accepted event's data is not JSON")
        }
    }
    return 0
}

/// The request as a client would send it.
func json(_ request: WriteRequest) -> JSONValue {
    switch request {
    case .command(let command):
        return ["command": .string(command.name), "data": command.data]
    case .query(let name):
        return ["query": .string(name)]
    case .append(let append):
        let expected: JSONValue = switch append.expectedVersion {
        case .any: "any"
        case .noStream: "noStream"
        case .exact(let version): .int(version)
        }
        let events: [JSONValue] = append.events.map { event in
            var members: [String: JSONValue] = [
                "id": .string(event.id.lowercasedText), "type": .string(event.type),
                "data": (try? JSONParser.parse(event.data)) ?? .null,
            ]
            if let metadata = event.metadata { members["metadata"] = (try? JSONParser.parse(metadata)) ?? .null }
            return .object(members)
        }
        return ["append": ["stream": .string(append.stream), "expectedVersion": expected, "events": .array(events)]]
    }
}
