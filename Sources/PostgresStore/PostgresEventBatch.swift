import EventStore
import JSON
import NIOCore
import PostgresNIO

/// A batch of events as one JSON array: the single `jsonb` parameter a model's apply function
/// takes (`PostgresReadModel.apply`), so a batch costs one round trip whatever its size.
///
/// A model writes each event as an object of what its function reads, usually after picking the
/// fields out in Swift (`append(_:)` with a closure); `append(event:)` writes the whole event
/// with its stored data spliced in as it is (data that is not valid JSON then fails the batch).
public struct PostgresEventBatch {
    private var bytes: [UInt8] = [UInt8(ascii: "[")]
    /// Objects written so far.
    public private(set) var count = 0

    public init(capacity: Int = 4096) {
        bytes.reserveCapacity(capacity)
    }

    /// Appends one object that `write` fills.
    public mutating func append(_ write: (inout JSONObjectWriter) -> Void) {
        if count > 0 { bytes.append(UInt8(ascii: ",")) }
        var object = JSONObjectWriter(appendingTo: &bytes)
        write(&object)
        bytes = object.finish()
        count += 1
    }

    /// Appends `{"position", "stream", "type", "recordedAt", "data"}`, the data spliced in unparsed.
    public mutating func append(event: RecordedEvent) {
        append { object in
            object.int("position", event.position)
            object.string("stream", event.stream)
            object.string("type", event.type)
            object.int("recordedAt", event.recordedAt)
            object.raw("data", event.data)
        }
    }

    /// The array's text.
    public var json: [UInt8] { bytes + [UInt8(ascii: "]")] }

    /// The array as a `jsonb` parameter in binary format (a version byte, then the text), which
    /// the server parses once, with no `text` value and cast in between.
    var parameter: JSONBParameter { JSONBParameter(json: json) }
}

/// JSON text bound as `jsonb`.
struct JSONBParameter: PostgresNonThrowingEncodable {
    let json: [UInt8]

    static var psqlType: PostgresDataType { .jsonb }
    static var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        byteBuffer.writeInteger(UInt8(1))  // jsonb's binary format version
        byteBuffer.writeBytes(json)
    }
}
