import EventStore
import Foundation
import WireProtocol

/// What a client can ask of the write node: a domain command or a generic append.
/// Public for the fuzz targets (`FuzzTargets/`), which feed `parse` hostile bytes.
public enum WriteRequest: Equatable {
    case command(Command)
    case append(AppendRequest)
    /// `{"query": "health" | "stats"}`: the write node's own state.
    case query(String)

    /// Parses a request body, validating every field with a precise `WireError`.
    public static func parse(_ body: [UInt8], limits: WriteNodeConfiguration) throws(WireError) -> WriteRequest {
        if body.count > limits.maxRequestBytes {
            throw WireError(.tooLarge, "request is \(body.count) bytes, more than the limit of \(limits.maxRequestBytes)")
        }
        let json: JSONValue
        do { json = try JSONParser.parse(body) } catch { throw error.wireError }
        guard case .object(let members) = json else {
            throw WireError(.malformed, "request must be a JSON object, got \(json.typeName)")
        }
        let kinds = ["command", "append", "query"].filter { members[$0] != nil }
        if kinds.count > 1 {
            throw WireError(.malformed, "request has \(kinds.map { "'\($0)'" }.joined(separator: " and ")); send one per request")
        }
        if let name = members["command"] {
            guard let name = name.stringValue, !name.isEmpty else {
                throw WireError(.malformed, "command must be a non-empty string, got \(name.typeName)")
            }
            let data = members["data"] ?? .object([:])
            guard case .object = data else {
                throw WireError(.invalidArgument, "data must be an object, got \(data.typeName)")
            }
            return .command(Command(name: name, data: data))
        }
        if let query = members["query"] {
            guard let name = query.stringValue else {
                throw WireError(.malformed, "query must be a string, got \(query.typeName)")
            }
            return .query(name)
        }
        if let append = members["append"] {
            return .append(try parseAppend(append, limits: limits))
        }
        throw WireError(.malformed, "request must have a 'command', 'append' or 'query' field")
    }

    /// `{"stream", "expectedVersion": n | "any" | "noStream", "events": [{"id", "type", "data", "metadata"?}]}`.
    static func parseAppend(_ json: JSONValue, limits: WriteNodeConfiguration) throws(WireError) -> AppendRequest {
        guard case .object(let members) = json else {
            throw WireError(.invalidArgument, "append must be an object, got \(json.typeName)")
        }
        guard let streamValue = members["stream"] else { throw WireError(.invalidArgument, "append.stream is missing") }
        guard let stream = streamValue.stringValue else {
            throw WireError(.invalidArgument, "append.stream must be a string, got \(streamValue.typeName)")
        }
        if let problem = StreamName.problem(with: stream) { throw WireError(.invalidArgument, "append.stream: \(problem)") }

        let expected: ExpectedVersion
        switch members["expectedVersion"] {
        case nil, .string("any"): expected = .any
        case .string("noStream"): expected = .noStream
        case .int(let version) where version >= 0: expected = .exact(version)
        case let other?:
            throw WireError(.invalidArgument,
                "append.expectedVersion must be a version (0 or more), \"any\" or \"noStream\", got \(other.jsonString)")
        }

        guard let eventsValue = members["events"] else { throw WireError(.invalidArgument, "append.events is missing") }
        guard case .array(let elements) = eventsValue else {
            throw WireError(.invalidArgument, "append.events must be an array, got \(eventsValue.typeName)")
        }
        guard !elements.isEmpty else { throw WireError(.invalidArgument, "append.events is empty") }
        guard elements.count <= limits.maxEventsPerAppend else {
            throw WireError(.tooLarge, "append has \(elements.count) events, more than the limit of \(limits.maxEventsPerAppend)")
        }
        var events: [NewEvent] = []
        events.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            events.append(try parseEvent(element, path: "append.events[\(index)]", limits: limits))
        }
        return AppendRequest(stream: stream, expectedVersion: expected, events: events)
    }

    static func parseEvent(_ json: JSONValue, path: String, limits: WriteNodeConfiguration) throws(WireError) -> NewEvent {
        guard case .object(let members) = json else {
            throw WireError(.invalidArgument, "\(path) must be an object, got \(json.typeName)")
        }
        guard let idValue = members["id"] else { throw WireError(.invalidArgument, "\(path).id is missing") }
        guard let idText = idValue.stringValue else {
            throw WireError(.invalidArgument, "\(path).id must be a string, got \(idValue.typeName)")
        }
        guard let id = UUID.parse(idText) else {
            throw WireError(.invalidArgument, "\(path).id must be a UUID, got \"\(idText.prefix(80))\"")
        }
        guard let typeValue = members["type"] else { throw WireError(.invalidArgument, "\(path).type is missing") }
        guard let type = typeValue.stringValue, !type.isEmpty, type.utf8.count <= 200 else {
            throw WireError(.invalidArgument, "\(path).type must be a string of 1 to 200 bytes")
        }
        if let problem = type.utf8.first(where: { $0 <= 0x20 || $0 == 0x7F }) {
            throw WireError(.invalidArgument, "\(path).type must not contain spaces or control characters (byte \(problem))")
        }
        let data = (members["data"] ?? .object([:])).jsonBytes
        let metadata = members["metadata"].flatMap { $0 == .null ? nil : $0.jsonBytes }
        let size = data.count + (metadata?.count ?? 0)
        if size > limits.maxEventBytes {
            throw WireError(.tooLarge, "\(path) is \(size) bytes of data and metadata, more than the limit of \(limits.maxEventBytes)")
        }
        return NewEvent(id: id, type: type, data: data, metadata: metadata)
    }
}
