import EventStore
import WireProtocol

/// The top-level fields of an orders-domain event's JSON data that the read models use, read in
/// one pass over the data's bytes without building a dictionary or a string per field.
///
/// Read without the write-side `OrdersDomain` module so the read models depend only on the
/// documented event format. The single pass takes the data the write node produces (an object of
/// ASCII strings without escapes, integers and literals); anything else — an escape, a non-ASCII
/// byte, a fraction, a nested value, a repeated key, malformed bytes — goes to `JSONParser`, so
/// both paths give the same fields for every input.
public struct OrdersEventFields {
    /// The fields the read models read.
    public enum Key: Int, CaseIterable, Sendable {
        case amountCents, description, name, orderId, state, userId

        var utf8: StaticString {
            switch self {
            case .amountCents: "amountCents"
            case .description: "description"
            case .name: "name"
            case .orderId: "orderId"
            case .state: "state"
            case .userId: "userId"
            }
        }
    }

    /// A field's value: a string still in the data's bytes (no escapes, ASCII), a string decoded
    /// by the parser, an integer, or another JSON value the read models do not use.
    private enum Value {
        case missing, bytes(Range<Int>), string(String), int(Int64), other
    }

    private let data: [UInt8]
    // One slot per `Key`, in a tuple so that reading an event allocates nothing.
    private var values: (Value, Value, Value, Value, Value, Value) = (.missing, .missing, .missing, .missing, .missing, .missing)

    /// Nil when the data is not a JSON object; the projections skip such events rather than
    /// stall on them, which keeps them a pure function of the log.
    public init?(_ event: RecordedEvent) {
        self.init(data: event.data)
    }

    public init?(data: [UInt8]) {
        self.data = data
        if Self.scan(data, into: &self) { return }
        values = (.missing, .missing, .missing, .missing, .missing, .missing)
        guard case .object(let fields)? = try? JSONParser.parse(data) else { return nil }
        for key in Key.allCases {
            switch fields[String(describing: key)] {
            case nil: continue
            case .string(let text)?: self[key] = .string(text)
            case .int(let number)?: self[key] = .int(number)
            default: self[key] = .other
            }
        }
    }

    public func string(_ key: Key) -> String? {
        switch self[key] {
        case .bytes(let range): String(decoding: data[range], as: UTF8.self)
        case .string(let text): text
        default: nil
        }
    }

    public func int(_ key: Key) -> Int64? {
        if case .int(let number) = self[key] { return number }
        return nil
    }

    /// Whether the field is present and a string.
    public func hasString(_ key: Key) -> Bool {
        switch self[key] {
        case .bytes, .string: true
        default: false
        }
    }

    /// Calls `body` with the field's UTF-8 bytes (no copy when they are still in the data), or
    /// returns nil when the field is missing or not a string.
    func withUTF8<Result>(_ key: Key, _ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result? {
        switch self[key] {
        case .bytes(let range):
            return try data.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[range])) }
        case .string(var text):
            return try text.withUTF8(body)
        default:
            return nil
        }
    }

    /// The order status an order event's type implies (the data's `status` repeats it), or nil
    /// for other types.
    static func status(after type: String) -> String? {
        StatusOrderState(eventType: type)?.name
    }

    private subscript(key: Key) -> Value {
        get {
            switch key {
            case .amountCents: values.0
            case .description: values.1
            case .name: values.2
            case .orderId: values.3
            case .state: values.4
            case .userId: values.5
            }
        }
        set {
            switch key {
            case .amountCents: values.0 = newValue
            case .description: values.1 = newValue
            case .name: values.2 = newValue
            case .orderId: values.3 = newValue
            case .state: values.4 = newValue
            case .userId: values.5 = newValue
            }
        }
    }

    // MARK: - The single pass

    /// Most members the single pass takes; an object with more goes to the parser.
    private static let maxMembers = 16

    /// Reads `data` as a flat object into `fields`; false when it is anything the single pass does
    /// not take (the parser then decides).
    private static func scan(_ data: [UInt8], into fields: inout OrdersEventFields) -> Bool {
        data.withUnsafeBufferPointer { bytes in
            // The keys seen so far, to refuse a repeated one as the parser does; on the stack.
            withUnsafeTemporaryAllocation(of: Range<Int>.self, capacity: maxMembers) { keys in
                var cursor = ScanCursor(bytes: bytes)
                var keyCount = 0
                cursor.skipWhitespace()
                guard cursor.take(UInt8(ascii: "{")) else { return false }
                cursor.skipWhitespace()
                if !cursor.take(UInt8(ascii: "}")) {
                    repeat {
                        cursor.skipWhitespace()
                        guard keyCount < maxMembers, let key = cursor.plainString() else { return false }
                        for index in 0..<keyCount where bytes[keys[index]].elementsEqual(bytes[key]) { return false }
                        keys[keyCount] = key
                        keyCount += 1
                        cursor.skipWhitespace()
                        guard cursor.take(UInt8(ascii: ":")) else { return false }
                        cursor.skipWhitespace()
                        guard let value = cursor.flatValue() else { return false }
                        if let known = Key.allCases.first(where: { bytes[key].elementsEqual($0.bytes) }) {
                            fields[known] = value
                        }
                        cursor.skipWhitespace()
                    } while cursor.take(UInt8(ascii: ","))
                    guard cursor.take(UInt8(ascii: "}")) else { return false }
                }
                cursor.skipWhitespace()
                return cursor.index == bytes.count
            }
        }
    }

    private struct ScanCursor {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        mutating func skipWhitespace() {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
                index += 1
            }
        }

        mutating func take(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        /// A string of printable ASCII without escapes, as the byte range between its quotes.
        mutating func plainString() -> Range<Int>? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    return start..<(index - 1)
                }
                guard byte >= 0x20, byte < 0x80, byte != UInt8(ascii: "\\") else { return nil }
                index += 1
            }
            return nil
        }

        /// A plain string, an integer that fits in 64 bits, or `true`/`false`/`null`.
        mutating func flatValue() -> Value? {
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "\""): return plainString().map(Value.bytes)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return integer().map(Value.int)
            case UInt8(ascii: "t"): return literal("true") ? .other : nil
            case UInt8(ascii: "f"): return literal("false") ? .other : nil
            case UInt8(ascii: "n"): return literal("null") ? .other : nil
            default: return nil
            }
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count,
                UnsafeBufferPointer(rebasing: bytes[index..<(index + count)]).elementsEqual(word.bytes)
            else { return false }
            index += count
            return true
        }

        /// `-?(0|[1-9][0-9]*)` not followed by a fraction or exponent, without overflow.
        mutating func integer() -> Int64? {
            let negative = take(UInt8(ascii: "-"))
            let start = index
            var magnitude: UInt64 = 0
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(UInt64(bytes[index] - UInt8(ascii: "0")))
                if overflow1 || overflow2 { return nil }
                magnitude = sum
                index += 1
            }
            let digits = index - start
            guard digits > 0, !(digits > 1 && bytes[start] == UInt8(ascii: "0")) else { return nil }
            if index < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) {
                return nil
            }
            if negative {
                guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
                return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
            }
            guard magnitude <= UInt64(Int64.max) else { return nil }
            return Int64(magnitude)
        }
    }
}

extension StaticString {
    fileprivate var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: utf8Start, count: utf8CodeUnitCount) }
}

extension OrdersEventFields.Key {
    fileprivate var bytes: UnsafeBufferPointer<UInt8> { utf8.bytes }
}
