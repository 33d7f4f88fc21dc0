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
    /// `[` and the objects so far, each after a `,` but the first; `]` is added on the wire.
    private var bytes: [UInt8] = [UInt8(ascii: "[")]

    public init(capacity: Int = 4096) {
        bytes.reserveCapacity(capacity)
    }

    /// Appends one object that `write` fills.
    public mutating func append(_ write: (inout JSONObjectWriter) -> Void) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        var object = JSONObjectWriter(appendingTo: &bytes)
        write(&object)
        bytes = object.finish()
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

    /// The array as a `jsonb` parameter in binary format (a version byte, then the text), which
    /// the server parses once, with no `text` value and cast in between.
    var parameter: JSONBParameter { JSONBParameter(openArray: bytes) }
}

/// A JSON array bound as `jsonb`: written straight into the message, its closing `]` last (no
/// copy of the batch to close it first).
struct JSONBParameter: PostgresNonThrowingEncodable {
    /// The array's text without its closing `]`.
    let openArray: [UInt8]

    static var psqlType: PostgresDataType { .jsonb }
    static var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        byteBuffer.writeInteger(UInt8(1))  // jsonb's binary format version
        byteBuffer.writeBytes(openArray)
        byteBuffer.writeInteger(UInt8(ascii: "]"))
    }
}
