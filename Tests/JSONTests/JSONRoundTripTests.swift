import Foundation
import TestSupport
import Testing
import JSON

/// Randomized and differential checks of `JSONParser` and `JSONWriter` together.
@Suite struct JSONRoundTripTests {
    /// Characters chosen to hit every branch of the writer's escaping and the parser's UTF-8 handling.
    static let alphabet: [Unicode.Scalar] =
        Array("abcXYZ019 _-/:,{}[]\"\\".unicodeScalars)
        + (0..<0x20).map { Unicode.Scalar(UInt8($0)) }
        + ["\u{7F}", "\u{80}", "é", "ß", "\u{301}", "\u{2028}", "\u{FFFF}", "中", "😀", "\u{10FFFF}"]

    static func randomString(_ generator: inout SeededGenerator) -> String {
        let count = Int.random(in: 0...12, using: &generator)
        var scalars = String.UnicodeScalarView()
        for _ in 0..<count { scalars.append(alphabet.randomElement(using: &generator)!) }
        return String(scalars)
    }

    static func randomDouble(_ generator: inout SeededGenerator) -> Double {
        switch Int.random(in: 0..<4, using: &generator) {
        case 0: return Double(Int.random(in: -1000...1000, using: &generator))
        case 1: return Double.random(in: -1e6...1e6, using: &generator)
        case 2: return [0.0, -0.0, 0.1, 1e-7, 1e21, .greatestFiniteMagnitude, .leastNonzeroMagnitude]
            .randomElement(using: &generator)!
        default:
            while true {
                let number = Double(bitPattern: generator.next())
                if number.isFinite { return number }
            }
        }
    }

    static func randomValue(_ generator: inout SeededGenerator, depth: Int = 0) -> JSONValue {
        let leafOnly = depth >= 6
        switch Int.random(in: 0..<(leafOnly ? 5 : 7), using: &generator) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2:
            return .int([Int64.min, .max, 0, -1, Int64.random(in: .min ... .max, using: &generator),
                         Int64.random(in: -100...100, using: &generator)].randomElement(using: &generator)!)
        case 3: return .double(randomDouble(&generator))
        case 4: return .string(randomString(&generator))
        case 5:
            return .array((0..<Int.random(in: 0...5, using: &generator)).map { _ in
                randomValue(&generator, depth: depth + 1)
            })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...5, using: &generator) {
                members[randomString(&generator)] = randomValue(&generator, depth: depth + 1)
            }
            return .object(members)
        }
    }

    @Test(arguments: [1, 2, 3, 42, 2024] as [UInt64])
    func randomValuesRoundTripThroughWriterAndParser(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        for _ in 0..<100 {
            let value = Self.randomValue(&generator)
            let bytes = JSONWriter.write(value)
            let parsed: JSONValue
            do {
                parsed = try JSONParser.parse(bytes)
            } catch {
                Issue.record("seed \(seed): \(error) for \(String(decoding: bytes, as: UTF8.self))")
                continue
            }
            #expect(parsed == value, "seed \(seed): \(String(decoding: bytes, as: UTF8.self))")
            #expect(JSONWriter.write(parsed) == bytes, "writing is stable")
        }
    }

    @Test(arguments: [7, 8, 9] as [UInt64])
    func randomValuesWrittenByTheWriterAreAcceptedByJSONSerialization(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        for _ in 0..<100 {
            let bytes = JSONWriter.write(Self.randomValue(&generator))
            #expect(throws: Never.self, "\(String(decoding: bytes, as: UTF8.self))") {
                try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
            }
        }
    }

    /// Inputs on which a strict parser and Foundation must agree.
    static let tricky: [(String, Bool)] = [
        ("{}", true), ("[]", true), ("0", true), ("-0", true), ("-0.0e-0", true), ("1E+2", true),
        ("\"\"", true), (#""\u0000""#, true), (#""\ud83d\ude00""#, true), (#""\/""#, true),
        (" [ 1 , { \"a\" : [ ] } ] ", true), ("123456789012345678", true), ("1e-400", true),
        (#"{"a":{"a":{"a":null}}}"#, true), ("\"\u{7F}é😀\"", true),
        ("", false), ("  ", false), ("'a'", false),
        ("NaN", false), ("Infinity", false), ("-Infinity", false), ("01", false), ("-01", false),
        (".5", false), ("1.", false), ("1e", false), ("+1", false), ("0x10", false),
        ("[1] x", false), ("1 2", false), ("/* c */ 1", false), ("// c\n1", false),
        ("[", false), ("{\"a\"}", false), ("{\"a\" 1}", false), ("{1:2}", false), ("{a:1}", false),
        ("tru", false), ("True", false), ("nul", false), ("[1 2]", false),
        ("\"a\u{1}b\"", false), ("\"a\nb\"", false), ("\"\\x\"", false), ("\"\\u12\"", false),
        ("\"abc", false), ("\u{0C}1", false),
    ]

    @Test(arguments: tricky)
    func theParserAgreesWithJSONSerialization(text: String, valid: Bool) {
        let bytes = Array(text.utf8)
        let foundationAccepts = (try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) != nil
        #expect(foundationAccepts == valid, "Foundation on \(text.debugDescription)")
        #expect((parseFailure(bytes) == nil) == valid, "JSONParser on \(text.debugDescription): \(String(describing: parseFailure(bytes)))")
    }

    /// Where the parser is stricter than Foundation on purpose: these are rejected here, whatever
    /// `JSONSerialization` does with them (on Linux it accepts trailing commas and duplicate keys).
    @Test(arguments: [
        "[1,]",
        #"{"a":1,}"#,
        #"{"a":1,"a":2}"#,
        "9223372036854775808",
        JSONParserTests.nested(65),
        "1e400",
    ])
    func theParserIsStricterThanFoundationOnPurpose(text: String) {
        #expect(parseFailure(text) != nil)
    }
}
