import EventModel
import Foundation

/// The frames of the event stream on the write node's PUB socket (`docs/PROTOCOL.md`).
///
/// An event is `[topic, header, body]`: the topic `e:<category>:<type>` lets a SUB socket
/// filter by category (`e:order:`) or type (`e:order:OrderShipped`); the 32-byte header carries
/// the positions a subscriber needs to detect a gap before it parses anything; the body is JSON
/// (with `syncedAt`, the time lag is measured from).
/// A heartbeat is `[h, header, body]`.
public enum EventFrames {
    public static let eventTopicPrefix = "e:"
    public static let heartbeatTopic = "h"

    /// The topic of a heartbeat, as bytes (compared against every received frame).
    public static let heartbeatTopicBytes = Array(heartbeatTopic.utf8)

    /// The topic of an event: `e:<category>:<type>`.
    public static func topic(category: String, type: String) -> [UInt8] {
        Array("\(eventTopicPrefix)\(category):\(type)".utf8)
    }

    /// The subscription prefix that selects one category's events.
    public static func subscription(category: String) -> String { "\(eventTopicPrefix)\(category):" }

    /// Position data of one published event, big-endian u64/i64 ×4 on the wire.
    public struct Header: Sendable, Equatable {
        /// The event's global position.
        public var position: Int64
        /// The position of the previous event of the same category (0 if none): a subscriber
        /// filtered by category has a gap when this is not the last position it saw there.
        public var previousInCategory: Int64
        /// The event's version in its stream.
        public var version: Int64
        /// Commit time, nanoseconds since the Unix epoch: stamped when the batch was staged, so
        /// before its sync.
        public var recordedAt: Int64

        public init(position: Int64, previousInCategory: Int64, version: Int64, recordedAt: Int64) {
            self.position = position
            self.previousInCategory = previousInCategory
            self.version = version
            self.recordedAt = recordedAt
        }

        public static let size = 32

        public var bytes: [UInt8] {
            var out = [UInt8]()
            out.reserveCapacity(Self.size)
            for field in [position, previousInCategory, version, recordedAt] {
                withUnsafeBytes(of: field.bigEndian) { out.append(contentsOf: $0) }
            }
            return out
        }

        public init?(bytes: [UInt8]) {
            guard bytes.count == Self.size else { return nil }
            func field(_ index: Int) -> Int64 {
                var value: Int64 = 0
                for byte in bytes[index * 8..<index * 8 + 8] { value = value << 8 | Int64(byte) }
                return value
            }
            self.init(position: field(0), previousInCategory: field(1), version: field(2), recordedAt: field(3))
        }
    }

    /// The three frames that publish `event`.
    ///
    /// - Parameters:
    ///   - category: `event.category`, when the caller has it already.
    ///   - syncedAt: when the sync that made the event durable returned, ns since the epoch (the
    ///     body's `syncedAt`: the moment its writer may be acknowledged, where lag counts from).
    public static func frames(for event: RecordedEvent, category: String? = nil, previousInCategory: Int64, syncedAt: Int64) -> [[UInt8]] {
        [
            topic(category: category ?? event.category, type: event.type),
            Header(position: event.position, previousInCategory: previousInCategory,
                   version: event.version, recordedAt: event.recordedAt).bytes,
            body(of: event, syncedAt: syncedAt),
        ]
    }

    /// The JSON body of an event, with its data and metadata embedded as they were stored; a
    /// published one also carries `syncedAt` (a catch-up reply's does not: it is not stored).
    public static func body(of event: RecordedEvent, syncedAt: Int64? = nil) -> [UInt8] {
        var body = JSONObjectWriter(capacity: 160 + event.data.count + (event.metadata?.count ?? 0))
        body.int("position", event.position)
        body.string("stream", event.stream)
        body.int("version", event.version)
        body.string("type", event.type)
        body.value("id") { out in
            out.append(UInt8(ascii: "\""))
            event.id.appendLowercased(to: &out)
            out.append(UInt8(ascii: "\""))
        }
        body.int("recordedAt", event.recordedAt)
        if let syncedAt { body.int("syncedAt", syncedAt) }
        body.raw("data", event.data)
        body.raw("metadata", event.metadata ?? Array("null".utf8))
        return body.finish()
    }

    /// Decodes an event body (from PUB or a catch-up reply).
    ///
    /// - Throws: `WireError` `.malformed` naming what is wrong.
    public static func decodeBody(_ bytes: [UInt8]) throws(WireError) -> RecordedEvent {
        try decodePublishedBody(bytes).event
    }

    /// Decodes a published event's body with its `syncedAt` (0 when the body has none).
    ///
    /// - Throws: `WireError` `.malformed` naming what is wrong.
    public static func decodePublishedBody(_ bytes: [UInt8]) throws(WireError) -> (event: RecordedEvent, syncedAt: Int64) {
        // One shallow pass: `data` and `metadata` are sliced out as they are, not parsed into a
        // tree and written back (that was most of a projector's catch-up time).
        let members: [String: JSONParser.ShallowMember]
        do { members = try JSONParser.parseShallowObject(bytes) } catch { throw error.wireError }
        func scalar(_ key: String) -> JSONValue? {
            if case .scalar(let value)? = members[key] { return value }
            return nil
        }
        func raw(_ key: String) -> [UInt8]? {
            switch members[key] {
            case .raw(let range)?: Array(bytes[range])
            case .scalar(let value)?: value.jsonBytes
            case nil: nil
            }
        }
        guard let position = scalar("position")?.intValue,
            let stream = scalar("stream")?.stringValue,
            let version = scalar("version")?.intValue,
            let type = scalar("type")?.stringValue,
            let idText = scalar("id")?.stringValue, let id = UUID.parse(idText),
            let recordedAt = scalar("recordedAt")?.intValue,
            let data = raw("data")
        else {
            throw WireError(.malformed, "event body lacks one of position, stream, version, type, id, recordedAt, data")
        }
        let event = RecordedEvent(
            id: id, position: position, stream: stream, version: version, type: type,
            data: data, metadata: scalar("metadata") == .null ? nil : raw("metadata"), recordedAt: recordedAt)
        return (event, scalar("syncedAt")?.intValue ?? 0)
    }

    /// A heartbeat: the head position, the send time, and the last position of each category.
    public struct Heartbeat: Sendable, Equatable {
        public var head: Int64
        public var sentAt: Int64
        public var categoryHeads: [String: Int64]

        public init(head: Int64, sentAt: Int64, categoryHeads: [String: Int64]) {
            self.head = head
            self.sentAt = sentAt
            self.categoryHeads = categoryHeads
        }

        /// `[h, header(head, 0, 0, sentAt), {"head","sentAt","categories"}]`.
        public var frames: [[UInt8]] {
            let body: JSONValue = [
                "head": .int(head), "sentAt": .int(sentAt),
                "categories": .object(categoryHeads.mapValues { .int($0) }),
            ]
            return [
                EventFrames.heartbeatTopicBytes,
                Header(position: head, previousInCategory: 0, version: 0, recordedAt: sentAt).bytes,
                body.jsonBytes,
            ]
        }

        public init(body: [UInt8]) throws(WireError) {
            let json: JSONValue
            do { json = try JSONParser.parse(body) } catch { throw error.wireError }
            guard let head = json["head"]?.intValue, let sentAt = json["sentAt"]?.intValue,
                let categories = json["categories"]?.objectValue
            else { throw WireError(.malformed, "heartbeat body lacks head, sentAt or categories") }
            self.init(head: head, sentAt: sentAt, categoryHeads: categories.compactMapValues(\.intValue))
        }
    }
}
