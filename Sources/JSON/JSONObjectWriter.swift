/// Writes one JSON object member by member, straight into bytes: the one byte writer that
/// `JSONWriter` and every hand-built reply or event body go through.
///
/// Hot paths (an event's data, a publish body, an append reply) use it instead of building a
/// `JSONValue` dictionary only to write it out. Keys are written in the order given; write them
/// sorted where the bytes must equal `JSONWriter`'s (an event's data).
public struct JSONObjectWriter {
    /// Internal so that `JSONWriter` writes nested values straight into it.
    var bytes: [UInt8]
    private var isEmpty = true

    /// Starts an object, reserving `capacity` bytes.
    public init(capacity: Int = 128) {
        bytes = []
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
    }

    /// Starts an object at the end of `out`, taking its bytes over (no copy); `finish()` returns
    /// them with the object appended, for a nested object: `out = object.finish()`.
    public init(appendingTo out: inout [UInt8]) {
        bytes = []
        swap(&bytes, &out)
        bytes.append(UInt8(ascii: "{"))
    }

    /// Writes `"key":` (and the comma before it), escaping the key; `JSONWriter` then writes the value.
    mutating func key(_ key: String) {
        separate()
        JSONWriter.writeString(key, into: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }

    /// `key` for a literal key, written without escaping: literal keys are plain ASCII.
    public mutating func key(_ key: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }

    public mutating func string(_ key: StaticString, _ value: String) {
        self.key(key)
        JSONWriter.writeString(value, into: &bytes)
    }

    public mutating func int(_ key: StaticString, _ value: Int64) {
        self.key(key)
        JSONWriter.writeInt(value, into: &bytes)
    }

    /// A member whose value is already JSON (stored event data), copied as it is.
    public mutating func raw(_ key: StaticString, _ json: some Collection<UInt8>) {
        self.key(key)
        bytes.append(contentsOf: json)
    }

    public mutating func value(_ key: StaticString, _ value: JSONValue) {
        self.key(key)
        JSONWriter.write(value, into: &bytes)
    }

    /// A member whose value `write` appends itself (an array of summaries, a UUID's digits).
    public mutating func value(_ key: StaticString, writtenBy write: (inout [UInt8]) -> Void) {
        self.key(key)
        write(&bytes)
    }

    /// Closes the object and returns its bytes.
    public consuming func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    private mutating func separate() {
        if !isEmpty { bytes.append(UInt8(ascii: ",")) }
        isEmpty = false
    }
}
