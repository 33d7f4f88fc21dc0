import OrdersReadModels
import Testing
import TestSupport
import WireProtocol

/// The single-pass field reader gives exactly what `JSONParser` gives, for every input.
struct OrdersEventFieldsTests {
    /// What the read models would see through the parser: nil when the data is not an object.
    static func expected(_ data: [UInt8]) -> [OrdersEventFields.Key: (String?, Int64?)]? {
        guard case .object(let fields)? = try? JSONParser.parse(data) else { return nil }
        var result: [OrdersEventFields.Key: (String?, Int64?)] = [:]
        for key in OrdersEventFields.Key.allCases {
            let value = fields[String(describing: key)]
            result[key] = (value?.stringValue, value?.intValue)
        }
        return result
    }

    static func expectSame(_ data: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        let fields = OrdersEventFields(data: data)
        guard let expected = expected(data) else {
            #expect(fields == nil, "\(String(decoding: data, as: UTF8.self))", sourceLocation: sourceLocation)
            return
        }
        guard let fields else {
            Issue.record("not read: \(String(decoding: data, as: UTF8.self))", sourceLocation: sourceLocation)
            return
        }
        for key in OrdersEventFields.Key.allCases {
            #expect(fields.string(key) == expected[key]!.0, "\(key) of \(String(decoding: data, as: UTF8.self))", sourceLocation: sourceLocation)
            #expect(fields.int(key) == expected[key]!.1, "\(key) of \(String(decoding: data, as: UTF8.self))", sourceLocation: sourceLocation)
            #expect(fields.hasString(key) == (expected[key]!.0 != nil), sourceLocation: sourceLocation)
        }
    }

    static let cases: [String] = [
        // What the write node writes.
        #"{"amountCents":4999,"description":"red running shoes","orderId":"o-1","status":"payment_pending","userId":"u1"}"#,
        #"{"name":"Ada","state":"California","userId":"u1"}"#,
        #"{"orderId":"o-1","reason":"changed my mind","status":"cancelled","userId":"u1"}"#,
        // Other key orders and white space.
        #"{"userId":"u1","orderId":"o-1","amountCents":12}"#,
        " \n{ \"orderId\" :\t\"o-1\" ,\r\n \"userId\":\"u1\" } \n",
        #"{}"#, #" { } "#,
        // Escapes and non-ASCII, in values and keys.
        #"{"orderId":"o\"1","description":"line\nbreak \u00e9 \ud83d\ude00 \\ \/ \t"}"#,
        #"{"description":"café ☕ naïve","userId":"ü"}"#,
        #"{"order\u0049d":"escaped key"}"#,
        #"{"é":"x","orderId":"o1"}"#,
        // Missing fields and other types.
        #"{"orderId":"o1"}"#,
        #"{"orderId":12,"amountCents":"12","userId":null,"name":true,"state":false,"description":[]}"#,
        #"{"orderId":"o1","extra":{"a":[1,2,{"b":"c}"}]},"userId":"u1"}"#,
        // Numbers.
        #"{"amountCents":0}"#, #"{"amountCents":-0}"#, #"{"amountCents":-17}"#,
        #"{"amountCents":12.5}"#, #"{"amountCents":1e3}"#, #"{"amountCents":12E-1}"#,
        #"{"amountCents":9223372036854775807}"#, #"{"amountCents":9223372036854775808}"#,
        #"{"amountCents":-9223372036854775808}"#, #"{"amountCents":-9223372036854775809}"#,
        #"{"amountCents":99999999999999999999999}"#,
        #"{"amountCents":0123}"#, #"{"amountCents":-}"#, #"{"amountCents":+1}"#, #"{"amountCents":1.}"#,
        // Repeated keys, known and not.
        #"{"orderId":"a","orderId":"b"}"#, #"{"x":1,"y":2,"x":3}"#,
        // Not objects, and malformed.
        #"[1,2]"#, #""o1""#, "12", "null", "", " ",
        #"{"orderId":"o1",}"#, #"{"orderId":"o1"} x"#, #"{"orderId" "o1"}"#, #"{"orderId":"o1""#,
        #"{"orderId":"o1"}}"#, #"{orderId:"o1"}"#, #"{"orderId":tru}"#, #"{"orderId":nul}"#, #"{"orderId":"\x"}"#,
        // Many members.
        "{" + (0..<40).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + ",\"orderId\":\"late\"}",
    ]

    @Test(arguments: cases) func sameFieldsAsTheParser(_ text: String) {
        Self.expectSame(Array(text.utf8))
    }

    @Test func controlCharactersAndInvalidUTF8() {
        Self.expectSame(Array(#"{"orderId":"o"#.utf8) + [0x01] + Array(#"1"}"#.utf8))
        Self.expectSame(Array(#"{"description":""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8))
        Self.expectSame(Array(#"{"description":""#.utf8) + [0xC3] + Array(#""}"#.utf8))
    }

    /// Random damage to real event data: whatever the bytes, both readers agree.
    @Test func damagedDataReadsAsTheParserReadsIt() {
        var random = SeededGenerator(seed: 8)
        let originals = Self.cases.prefix(4).map { Array($0.utf8) }
        let alphabet = Array(#"{}[]":,\ -+.0123456789eEtrufalsn"#.utf8) + [0x0A, 0x80, 0xC3, 0xA9]
        for _ in 0..<20_000 {
            var data = originals.randomElement(using: &random)!
            for _ in 0...Int.random(in: 0..<3, using: &random) {
                let index = Int.random(in: 0..<data.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: data[index] = alphabet.randomElement(using: &random)!
                case 1: data.remove(at: index)
                default: data.insert(alphabet.randomElement(using: &random)!, at: index)
                }
                if data.isEmpty { break }
            }
            Self.expectSame(data)
        }
    }
}
