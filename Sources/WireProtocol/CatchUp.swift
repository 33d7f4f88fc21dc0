import EventModel

/// The catch-up exchange: "events after position N, at most K, optionally filtered".
///
/// Request: one JSON frame `{"after": N, "limit": K, "categories": [...], "types": [...],
/// "format": "json" | "binary"}`.
/// Reply: `[summary, body, body, …]` where the summary is
/// `{"ok": true, "head": H, "count": n, "scannedTo": P}` and each body is an event as in
/// `EventFrames.body(of:)`; or, in the binary format, `[summary, records]` with the `count`
/// events as `EventRecord`s end to end in one frame. Every matching event in `(after, scannedTo]`
/// is in the reply, so a filtered reader may advance its checkpoint to `scannedTo` even when
/// `count` is 0.
public enum CatchUp {
    /// Most events in one catch-up reply unless the write node is configured otherwise
    /// (`--max-catch-up-events`); a client asking for more gets `InvalidArgument`.
    public static let defaultMaxEvents = 10_000

    /// How a log read's events are sent.
    public enum Format: String, Sendable, CaseIterable {
        /// One JSON body per event (`EventFrames.body(of:)`): any client can read it.
        case json
        /// The stored records in one frame (`EventRecord`): no JSON to write or parse.
        case binary
    }

    /// A binary reply stops after the record that takes it past this many bytes (so a reply of
    /// large events stays far below a client's message size limit).
    public static let maxBinaryReplyBytes = 8 << 20

    public struct Request: Sendable, Equatable {
        public var after: Int64
        public var limit: Int
        public var filter: EventFilter
        public var format: Format

        public init(after: Int64, limit: Int, filter: EventFilter = .all, format: Format = .json) {
            self.after = after
            self.limit = limit
            self.filter = filter
            self.format = format
        }

        public var json: JSONValue {
            var members: [String: JSONValue] = ["after": .int(after), "limit": .int(Int64(limit))]
            if !filter.categories.isEmpty { members["categories"] = .array(filter.categories.map { .string($0) }) }
            if !filter.types.isEmpty { members["types"] = .array(filter.types.map { .string($0) }) }
            if format != .json { members["format"] = .string(format.rawValue) }
            return .object(members)
        }

        /// Validates a parsed request.
        ///
        /// - Parameter maxLimit: the largest `limit` served; larger ones are an `InvalidArgument`.
        public init(members: [String: JSONValue], maxLimit: Int) throws(WireError) {
            for key in members.keys.sorted() where !["after", "limit", "categories", "types", "format"].contains(key) {
                throw WireError(.invalidArgument, "unknown field '\(key)' in catch-up request")
            }
            guard let afterValue = members["after"] else { throw WireError(.invalidArgument, "after is missing") }
            guard let after = afterValue.intValue else {
                throw WireError(.invalidArgument, "after must be an integer, got \(afterValue.typeName)")
            }
            guard after >= 0 else { throw WireError(.invalidArgument, "after must be 0 or more, got \(after)") }
            self.init(
                after: after, limit: try CatchUp.limit(members["limit"], max: maxLimit),
                filter: EventFilter(
                    categories: try Self.strings(members["categories"], "categories"),
                    types: try Self.strings(members["types"], "types")),
                format: try Self.format(members["format"]))
        }

        private static func format(_ value: JSONValue?) throws(WireError) -> Format {
            guard let value else { return .json }
            guard let name = value.stringValue, let format = Format(rawValue: name) else {
                throw WireError(.invalidArgument, "format must be one of \(Format.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")), got \(value.jsonString.prefix(64))")
            }
            return format
        }

        private static func strings(_ value: JSONValue?, _ field: String) throws(WireError) -> [String] {
            guard let value else { return [] }
            guard case .array(let elements) = value else {
                throw WireError(.invalidArgument, "\(field) must be an array of strings, got \(value.typeName)")
            }
            guard elements.count <= 100 else {
                throw WireError(.invalidArgument, "\(field) has \(elements.count) entries, at most 100 are allowed")
            }
            var strings: [String] = []
            for element in elements {
                guard let text = element.stringValue, !text.isEmpty else {
                    throw WireError(.invalidArgument, "\(field) must hold non-empty strings, got \(element.typeName)")
                }
                strings.append(text)
            }
            return strings
        }
    }

    /// Parses a request body: a log read (`after`) or a stream read (`stream`).
    public static func parse(_ body: [UInt8], maxLimit: Int) throws(WireError) -> ReadRequest {
        let json: JSONValue
        do { json = try JSONParser.parse(body) } catch { throw error.wireError }
        guard case .object(let members) = json else {
            throw WireError(.malformed, "catch-up request must be a JSON object, got \(json.typeName)")
        }
        if members["stream"] != nil {
            return .stream(try StreamRequest(members: members, maxLimit: maxLimit))
        }
        return .log(try Request(members: members, maxLimit: maxLimit))
    }

    public enum ReadRequest: Sendable, Equatable {
        case log(Request)
        case stream(StreamRequest)
    }

    /// `{"stream": name, "fromVersion": v, "limit": k}`: one stream's events in version order.
    /// The reply is `[{"ok": true, "head": H, "count": n, "scannedTo": H}, body, …]`.
    public struct StreamRequest: Sendable, Equatable {
        public var stream: String
        public var fromVersion: Int64
        public var limit: Int

        public init(stream: String, fromVersion: Int64 = 0, limit: Int) {
            self.stream = stream
            self.fromVersion = fromVersion
            self.limit = limit
        }

        public var json: JSONValue {
            ["stream": .string(stream), "fromVersion": .int(fromVersion), "limit": .int(Int64(limit))]
        }

        public init(members: [String: JSONValue], maxLimit: Int) throws(WireError) {
            for key in members.keys.sorted() where !["stream", "fromVersion", "limit"].contains(key) {
                throw WireError(.invalidArgument, "unknown field '\(key)' in stream read request")
            }
            guard let stream = members["stream"]?.stringValue else {
                throw WireError(.invalidArgument, "stream must be a string, got \(members["stream"]?.typeName ?? "nothing")")
            }
            if let problem = StreamName.problem(with: stream) { throw WireError(.invalidArgument, "stream: \(problem)") }
            var fromVersion: Int64 = 0
            if let value = members["fromVersion"] {
                guard let version = value.intValue, version >= 0 else {
                    throw WireError(.invalidArgument, "fromVersion must be an integer of 0 or more, got \(value.jsonString)")
                }
                fromVersion = version
            }
            self.init(stream: stream, fromVersion: fromVersion, limit: try CatchUp.limit(members["limit"], max: maxLimit))
        }
    }

    static func limit(_ value: JSONValue?, max maxLimit: Int) throws(WireError) -> Int {
        guard let value else { return maxLimit }
        guard let limit = value.intValue else {
            throw WireError(.invalidArgument, "limit must be an integer, got \(value.typeName)")
        }
        guard limit >= 1, limit <= maxLimit else {
            throw WireError(.invalidArgument, "limit must be between 1 and \(maxLimit), got \(limit)")
        }
        return Int(limit)
    }

    /// The first frame of a successful reply.
    public struct Summary: Sendable, Equatable {
        public var head: Int64
        public var count: Int
        public var scannedTo: Int64

        public init(head: Int64, count: Int, scannedTo: Int64) {
            self.head = head
            self.count = count
            self.scannedTo = scannedTo
        }

        public var json: JSONValue {
            ["ok": true, "head": .int(head), "count": .int(Int64(count)), "scannedTo": .int(scannedTo)]
        }

        /// Parses a reply's first frame; an error reply becomes the `WireError` it carries.
        public init(body: [UInt8]) throws(WireError) {
            let json: JSONValue
            do { json = try JSONParser.parse(body) } catch { throw error.wireError }
            if json["ok"] == .bool(false) { throw WireError(reply: json) }
            guard let head = json["head"]?.intValue, let count = json["count"]?.intValue,
                let scannedTo = json["scannedTo"]?.intValue
            else { throw WireError(.malformed, "catch-up summary lacks head, count or scannedTo") }
            self.init(head: head, count: Int(count), scannedTo: scannedTo)
        }
    }
}

extension WireError {
    /// The error carried by an `{"ok": false, "error": {...}}` reply.
    public init(reply json: JSONValue) {
        let code = json["error"]?["code"]?.stringValue.flatMap(ErrorCode.init(rawValue:)) ?? .internal
        let message = json["error"]?["message"]?.stringValue ?? "error reply without a message"
        self.init(code, message)
    }
}

extension CatchUp {
    /// The events of a binary reply's records frame.
    /// - Parameter count: the summary's `count`.
    /// - Throws: `WireError` `.malformed` naming the record that is not whole, or a count that
    ///   does not match.
    public static func decodeRecords(_ frame: [UInt8], count: Int) throws(WireError) -> [RecordedEvent] {
        do {
            return try EventRecord.decodeAll(frame, count: count)
        } catch {
            throw WireError(.malformed, "catch-up records: \(error)")
        }
    }
}
