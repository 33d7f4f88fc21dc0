import TestSupport
import EventStore
import Foundation
import Testing
import WireProtocol

@Suite struct EventFramesTests {
    static func event(
        stream: String = "order-17", type: String = "OrderPlaced",
        data: String = #"{"amountCents":4999,"description":"red shoes"}"#, metadata: String? = nil,
        position: Int64 = 42, version: Int64 = 3, recordedAt: Int64 = 1_700_000_000_123_456_789
    ) -> RecordedEvent {
        RecordedEvent(
            id: UUID(uuidString: "123E4567-E89B-12D3-A456-426614174000")!, position: position, stream: stream,
            version: version, type: type, data: Array(data.utf8), metadata: metadata.map { Array($0.utf8) },
            recordedAt: recordedAt)
    }

    // MARK: - Header

    static let headers: [EventFrames.Header] = [
        .init(position: 0, previousInCategory: 0, version: 0, recordedAt: 0),
        .init(position: 1, previousInCategory: 0, version: 0, recordedAt: 1_700_000_000_000_000_000),
        .init(position: .max, previousInCategory: .max - 1, version: 1 << 40, recordedAt: .max),
        .init(position: 0x0102_0304_0506_0708, previousInCategory: 255, version: 256, recordedAt: 0x7F00_0000_0000_0001),
        .init(position: -1, previousInCategory: .min, version: -256, recordedAt: -1_000_000_000),
    ]

    @Test(arguments: headers)
    func aHeaderRoundTrips(header: EventFrames.Header) {
        #expect(header.bytes.count == EventFrames.Header.size)
        #expect(EventFrames.Header(bytes: header.bytes) == header)
    }

    @Test func theHeaderIsFourBigEndianIntegers() {
        let header = EventFrames.Header(
            position: 1, previousInCategory: 0x0203, version: -1, recordedAt: 0x0102_0304_0506_0708)
        #expect(header.bytes == [
            0, 0, 0, 0, 0, 0, 0, 1,
            0, 0, 0, 0, 0, 0, 2, 3,
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
            1, 2, 3, 4, 5, 6, 7, 8,
        ])
    }

    @Test(arguments: [0, 1, 8, 24, 31, 33, 40, 64])
    func aHeaderOfTheWrongSizeIsNil(size: Int) {
        #expect(EventFrames.Header(bytes: [UInt8](repeating: 1, count: size)) == nil)
    }

    // MARK: - Topics and frames

    @Test func framesAreTopicHeaderAndBody() throws {
        let event = Self.event()
        let frames = EventFrames.frames(for: event, previousInCategory: 40, syncedAt: 1_700_000_000_124_000_000)
        try #require(frames.count == 3)
        #expect(String(decoding: frames[0], as: UTF8.self) == "e:order:OrderPlaced")
        #expect(EventFrames.Header(bytes: frames[1]) == EventFrames.Header(
            position: 42, previousInCategory: 40, version: 3, recordedAt: 1_700_000_000_123_456_789))
        #expect(frames[2] == EventFrames.body(of: event, syncedAt: 1_700_000_000_124_000_000))
        let published = try EventFrames.decodePublishedBody(frames[2])
        #expect(published.event == event && published.syncedAt == 1_700_000_000_124_000_000)
        #expect(try EventFrames.decodeBody(frames[2]) == event)
        #expect(try EventFrames.decodePublishedBody(EventFrames.body(of: event)).syncedAt == 0, "a catch-up body has none")
    }

    @Test(arguments: [
        ("order-17", "OrderPlaced", "e:order:OrderPlaced"),
        ("order-o-1", "OrderShipped", "e:order:OrderShipped"),
        ("config", "Set", "e:config:Set"),
        ("user-é", "Registered", "e:user:Registered"),
    ])
    func theTopicIsCategoryAndType(stream: String, type: String, topic: String) {
        let frames = EventFrames.frames(for: Self.event(stream: stream, type: type), previousInCategory: 0, syncedAt: 0)
        #expect(frames[0] == Array(topic.utf8))
        #expect(EventFrames.topic(category: StreamName.category(of: stream), type: type) == Array(topic.utf8))
    }

    @Test func aCategorySubscriptionIsAPrefixOfItsTopicsOnly() {
        let order = Array(EventFrames.subscription(category: "order").utf8)
        #expect(order == Array("e:order:".utf8))
        #expect(EventFrames.topic(category: "order", type: "OrderPlaced").starts(with: order))
        // "order" must not select "orders" events.
        #expect(!EventFrames.topic(category: "orders", type: "OrderPlaced").starts(with: order))
        #expect(EventFrames.topic(category: "order", type: "X").starts(with: Array(EventFrames.eventTopicPrefix.utf8)))
    }

    // MARK: - Body

    static let bodies: [RecordedEvent] = [
        event(),
        event(metadata: #"{"causationId":"c-1","correlationId":"x"}"#),
        event(data: #"{"note":"é 😀 中\n\"quoted\"\\"}"#, metadata: #"{"by":"Zoë"}"#),
        event(stream: "user-u1", type: "Registered", data: "{}", position: 1, version: 0, recordedAt: 0),
        event(data: #"[1,2.5,null,true,{"a":[]}]"#, position: .max, version: .max, recordedAt: .min),
        event(type: "Type \"with\" quotes\\and\ttab", data: "\"just a string\""),
        event(data: "null"),
    ]

    @Test(arguments: bodies)
    func aBodyRoundTripsThroughDecodeBody(event: RecordedEvent) throws {
        let body = EventFrames.body(of: event)
        #expect(try EventFrames.decodeBody(body) == event)
    }

    @Test func theBodyIsJSONWithTheDocumentedFields() throws {
        let event = Self.event(metadata: #"{"by":"ada"}"#)
        let json = try JSONParser.parse(EventFrames.body(of: event))
        #expect(json == [
            "position": 42, "stream": "order-17", "version": 3, "type": "OrderPlaced",
            "id": "123e4567-e89b-12d3-a456-426614174000", "recordedAt": 1_700_000_000_123_456_789,
            "data": ["amountCents": 4999, "description": "red shoes"], "metadata": ["by": "ada"],
        ])
        #expect(try JSONParser.parse(EventFrames.body(of: Self.event()))["metadata"] == .null)
    }

    @Test func dataIsPassedOnByteForByte() throws {
        let event = Self.event(data: #" { "b" : 1 , "a" : [ 1.5 ] } "#, metadata: #" { "m" : null } "#)
        let decoded = try EventFrames.decodeBody(EventFrames.body(of: event))
        #expect(try JSONParser.parse(decoded.data) == JSONParser.parse(event.data))
        #expect(try JSONParser.parse(decoded.metadata!) == ["m": nil])
        // The body's data is sliced out as it was stored, not re-written.
        #expect(decoded.data == Array(#"{ "b" : 1 , "a" : [ 1.5 ] }"#.utf8))
    }

    @Test func dataWithBracketsAndQuotesInsideStringsIsSlicedWhole() throws {
        let data = #"{"s":"a \"}] quote \\","n":[{"x":"]"},[]],"u":"\u007d"}"#
        let event = Self.event(data: data, metadata: #"["m",{"k":"}"}]"#)
        let decoded = try EventFrames.decodeBody(EventFrames.body(of: event))
        #expect(decoded.data == Array(data.utf8))
        #expect(decoded.metadata == Array(#"["m",{"k":"}"}]"#.utf8))
    }

    @Test func unbalancedDataIsMalformed() {
        let body = #"{"position":1,"stream":"s-1","version":0,"type":"T","id":"123e4567-e89b-12d3-a456-426614174000","recordedAt":5,"data":{"a":[1}}"#
        #expect(wireError { try EventFrames.decodeBody(Array(body.utf8)) }?.code == .malformed)
    }

    @Test func aBodyWithoutAMetadataFieldDecodesToNilMetadata() throws {
        let body = #"{"position":1,"stream":"s-1","version":0,"type":"T","id":"123e4567-e89b-12d3-a456-426614174000","recordedAt":5,"data":{}}"#
        let event = try EventFrames.decodeBody(Array(body.utf8))
        #expect(event.metadata == nil)
        #expect(event.data == Array("{}".utf8))
        #expect(event.position == 1 && event.stream == "s-1" && event.recordedAt == 5)
    }

    static let validBody: [String: JSONValue] = [
        "position": 1, "stream": "s-1", "version": 0, "type": "T",
        "id": "123e4567-e89b-12d3-a456-426614174000", "recordedAt": 5, "data": [:], "metadata": nil,
    ]

    static let lacksMessage = "event body lacks one of position, stream, version, type, id, recordedAt, data"

    @Test(arguments: ["position", "stream", "version", "type", "id", "recordedAt", "data"])
    func aBodyMissingAFieldIsMalformed(field: String) {
        var members = Self.validBody
        members[field] = nil
        #expect(wireError { try EventFrames.decodeBody(JSONValue.object(members).jsonBytes) }
            == WireError(.malformed, Self.lacksMessage))
    }

    @Test(arguments: [
        ("position", "1" as JSONValue), ("position", 1.0), ("stream", 1), ("version", nil), ("type", ["T"]),
        ("id", "not-a-uuid"), ("id", 1), ("id", "123e4567e89b12d3a456426614174000"), ("recordedAt", "5"),
    ] as [(String, JSONValue)])
    func aBodyWithAFieldOfTheWrongTypeIsMalformed(field: String, value: JSONValue) {
        var members = Self.validBody
        members[field] = value
        #expect(wireError { try EventFrames.decodeBody(JSONValue.object(members).jsonBytes) }
            == WireError(.malformed, Self.lacksMessage))
    }

    @Test(arguments: ["", "garbage", "[]", "null", "42", #"{"position":1"#, "{\"stream\":\"\u{1}\"}"])
    func garbageIsMalformed(text: String) throws {
        let error = try #require(wireError { try EventFrames.decodeBody(Array(text.utf8)) })
        #expect(error.code == .malformed)
    }

    @Test func aBodyThatIsNotJSONNamesTheByte() {
        #expect(wireError { try EventFrames.decodeBody(Array("{\"position\":01}".utf8)) }
            == WireError(.malformed, "invalid JSON at byte 12: leading zero in number"))
    }

    // MARK: - Heartbeat

    static let heartbeats: [EventFrames.Heartbeat] = [
        .init(head: 0, sentAt: 0, categoryHeads: [:]),
        .init(head: 1234, sentAt: 1_700_000_000_000_000_000, categoryHeads: ["order": 1230, "user": 1234]),
        .init(head: .max, sentAt: .max, categoryHeads: ["a": .max, "b-c": 0, "é": 7]),
    ]

    @Test(arguments: heartbeats)
    func aHeartbeatRoundTrips(heartbeat: EventFrames.Heartbeat) throws {
        let frames = heartbeat.frames
        try #require(frames.count == 3)
        #expect(frames[0] == Array("h".utf8))
        #expect(frames[0] == Array(EventFrames.heartbeatTopic.utf8))
        #expect(EventFrames.Header(bytes: frames[1]) == EventFrames.Header(
            position: heartbeat.head, previousInCategory: 0, version: 0, recordedAt: heartbeat.sentAt))
        #expect(try EventFrames.Heartbeat(body: frames[2]) == heartbeat)
        // A SUB socket subscribed to events only must not receive heartbeats.
        #expect(!frames[0].starts(with: Array(EventFrames.eventTopicPrefix.utf8)))
    }

    @Test func theHeartbeatBodyIsTheDocumentedJSON() throws {
        let heartbeat = EventFrames.Heartbeat(head: 9, sentAt: 10, categoryHeads: ["order": 8])
        #expect(String(decoding: heartbeat.frames[2], as: UTF8.self) == #"{"categories":{"order":8},"head":9,"sentAt":10}"#)
    }

    @Test(arguments: [
        #"{"sentAt":1,"categories":{}}"#, #"{"head":1,"categories":{}}"#, #"{"head":1,"sentAt":1}"#,
        #"{"head":"1","sentAt":1,"categories":{}}"#, #"{"head":1,"sentAt":1,"categories":[]}"#, "[]",
    ])
    func aHeartbeatBodyLackingAFieldIsMalformed(text: String) {
        #expect(wireError { try EventFrames.Heartbeat(body: Array(text.utf8)) }
            == WireError(.malformed, "heartbeat body lacks head, sentAt or categories"))
    }

    @Test func aHeartbeatBodyThatIsNotJSONIsMalformed() {
        #expect(wireError { try EventFrames.Heartbeat(body: Array("{".utf8)) }?.code == .malformed)
    }
}
