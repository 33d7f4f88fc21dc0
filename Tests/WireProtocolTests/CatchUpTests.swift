import TestSupport
import EventStore
import Testing
import WireProtocol

@Suite struct CatchUpTests {
    static let maxLimit = 500

    func parse(_ text: String) throws -> CatchUp.ReadRequest {
        try CatchUp.parse(Array(text.utf8), maxLimit: Self.maxLimit)
    }

    func error(_ text: String) -> WireError? {
        wireError { try parse(text) }
    }

    // MARK: - Log requests

    @Test func aLogRequestDefaultsToTheMaximumLimitAndNoFilter() throws {
        #expect(try parse(#"{"after":0}"#) == .log(.init(after: 0, limit: Self.maxLimit, filter: .all)))
    }

    @Test func aLogRequestWithEveryField() throws {
        let request = try parse(#"{"after":17,"limit":10,"categories":["order","user"],"types":["OrderPlaced"]}"#)
        #expect(request == .log(.init(
            after: 17, limit: 10, filter: EventFilter(categories: ["order", "user"], types: ["OrderPlaced"]))))
    }

    @Test(arguments: CatchUp.Format.allCases)
    func aFormatRoundTrips(format: CatchUp.Format) throws {
        let request = CatchUp.Request(after: 3, limit: 7, filter: EventFilter(categories: ["order"]), format: format)
        #expect(try CatchUp.parse(request.json.jsonBytes, maxLimit: Self.maxLimit) == .log(request))
    }

    @Test func theFormatDefaultsToJSON() throws {
        #expect(try parse(#"{"after":0}"#) == .log(.init(after: 0, limit: Self.maxLimit, format: .json)))
        #expect(try parse(#"{"after":0,"format":"json"}"#) == .log(.init(after: 0, limit: Self.maxLimit)))
    }

    @Test(arguments: [#""XML""#, #""""#, "1", "null", #"["binary"]"#])
    func anUnknownFormatIsAnInvalidArgument(value: String) {
        #expect(error(#"{"after":0,"format":\#(value)}"#) == WireError(
            .invalidArgument, #"format must be one of "json", "binary", got \#(value)"#))
    }

    @Test func emptyFiltersMeanAll() throws {
        #expect(try parse(#"{"after":0,"categories":[],"types":[]}"#) == .log(.init(after: 0, limit: Self.maxLimit)))
    }

    @Test(arguments: [1, 2, 499, 500])
    func aLimitWithinBoundsIsKept(limit: Int) throws {
        #expect(try parse(#"{"after":0,"limit":\#(limit)}"#) == .log(.init(after: 0, limit: limit)))
    }

    @Test(arguments: [0, -1, 501, Int.max] as [Int])
    func aLimitOutOfBoundsIsAnInvalidArgument(limit: Int) {
        #expect(error(#"{"after":0,"limit":\#(limit)}"#)
            == WireError(.invalidArgument, "limit must be between 1 and 500, got \(limit)"))
    }

    @Test(arguments: [
        ("\"10\"", "a string"), ("10.0", "a number"), ("null", "null"), ("[10]", "an array"), ("true", "a boolean"),
    ])
    func aLimitOfAnotherTypeIsAnInvalidArgument(value: String, typeName: String) {
        #expect(error(#"{"after":0,"limit":\#(value)}"#)
            == WireError(.invalidArgument, "limit must be an integer, got \(typeName)"))
    }

    @Test func aMissingAfterIsAnInvalidArgument() {
        #expect(error("{}") == WireError(.invalidArgument, "after is missing"))
        #expect(error(#"{"limit":5}"#) == WireError(.invalidArgument, "after is missing"))
    }

    @Test(arguments: [
        ("\"0\"", "a string"), ("0.0", "a number"), ("1e3", "a number"), ("null", "null"), ("{}", "an object"),
    ])
    func anAfterOfAnotherTypeIsAnInvalidArgument(value: String, typeName: String) {
        #expect(error(#"{"after":\#(value)}"#) == WireError(.invalidArgument, "after must be an integer, got \(typeName)"))
    }

    @Test(arguments: [-1, Int64.min])
    func aNegativeAfterIsAnInvalidArgument(after: Int64) {
        #expect(error(#"{"after":\#(after)}"#) == WireError(.invalidArgument, "after must be 0 or more, got \(after)"))
    }

    @Test func aLargeAfterIsAccepted() throws {
        #expect(try parse(#"{"after":9223372036854775807}"#) == .log(.init(after: .max, limit: Self.maxLimit)))
    }

    @Test(arguments: ["from", "After", "stream_", "fromVersion"])
    func anUnknownFieldIsAnInvalidArgument(field: String) {
        #expect(error(#"{"after":0,"\#(field)":1}"#)
            == WireError(.invalidArgument, "unknown field '\(field)' in catch-up request"))
    }

    @Test(arguments: ["categories", "types"])
    func filtersMustBeArraysOfNonEmptyStrings(field: String) {
        #expect(error(#"{"after":0,"\#(field)":"order"}"#)
            == WireError(.invalidArgument, "\(field) must be an array of strings, got a string"))
        #expect(error(#"{"after":0,"\#(field)":null}"#)
            == WireError(.invalidArgument, "\(field) must be an array of strings, got null"))
        #expect(error(#"{"after":0,"\#(field)":{"order":true}}"#)
            == WireError(.invalidArgument, "\(field) must be an array of strings, got an object"))
        #expect(error(#"{"after":0,"\#(field)":["order",1]}"#)
            == WireError(.invalidArgument, "\(field) must hold non-empty strings, got an integer"))
        #expect(error(#"{"after":0,"\#(field)":[["order"]]}"#)
            == WireError(.invalidArgument, "\(field) must hold non-empty strings, got an array"))
        #expect(error(#"{"after":0,"\#(field)":[""]}"#)?.code == .invalidArgument)
    }

    @Test(arguments: ["categories", "types"])
    func aFilterHoldsAtMostOneHundredEntries(field: String) throws {
        let names = { (count: Int) in (0..<count).map { "\"n\($0)\"" }.joined(separator: ",") }
        let request = try parse(#"{"after":0,"\#(field)":[\#(names(100))]}"#)
        guard case .log(let log) = request else { Issue.record("not a log read: \(request)"); return }
        #expect((field == "categories" ? log.filter.categories : log.filter.types).count == 100)
        #expect(error(#"{"after":0,"\#(field)":[\#(names(101))]}"#)
            == WireError(.invalidArgument, "\(field) has 101 entries, at most 100 are allowed"))
    }

    @Test(arguments: [
        ("[]", "an array"), ("\"after\"", "a string"), ("null", "null"), ("0", "an integer"),
    ])
    func aRequestThatIsNotAnObjectIsMalformed(text: String, typeName: String) {
        #expect(error(text) == WireError(.malformed, "catch-up request must be a JSON object, got \(typeName)"))
    }

    @Test func aRequestThatIsNotJSONIsMalformed() {
        #expect(error(#"{"after":0,}"#) == WireError(.malformed, "invalid JSON at byte 11: expected a string key"))
        #expect(error("") == WireError(.malformed, "invalid JSON at byte 0: unexpected end of input"))
    }

    @Test(arguments: [
        CatchUp.Request(after: 0, limit: 1),
        CatchUp.Request(after: 99, limit: 500, filter: EventFilter(categories: ["order"])),
        CatchUp.Request(after: 5, limit: 20, filter: EventFilter(types: ["A", "B"])),
        CatchUp.Request(after: 5, limit: 20, filter: EventFilter(categories: ["user", "order"], types: ["A"])),
    ])
    func aLogRequestRoundTripsThroughItsJSON(request: CatchUp.Request) throws {
        #expect(try CatchUp.parse(request.json.jsonBytes, maxLimit: Self.maxLimit) == .log(request))
    }

    @Test func anUnfilteredRequestOmitsTheFilterFields() {
        #expect(CatchUp.Request(after: 3, limit: 7).json.jsonString == #"{"after":3,"limit":7}"#)
    }

    // MARK: - Stream requests

    @Test func aStreamRequestDefaultsToVersionZeroAndTheMaximumLimit() throws {
        #expect(try parse(#"{"stream":"order-1"}"#) == .stream(.init(stream: "order-1", fromVersion: 0, limit: Self.maxLimit)))
    }

    @Test func aStreamRequestWithEveryField() throws {
        #expect(try parse(#"{"stream":"order-1","fromVersion":3,"limit":10}"#)
            == .stream(.init(stream: "order-1", fromVersion: 3, limit: 10)))
    }

    @Test(arguments: [
        CatchUp.StreamRequest(stream: "order-1", limit: 1),
        CatchUp.StreamRequest(stream: "user-u1", fromVersion: 41, limit: 500),
    ])
    func aStreamRequestRoundTripsThroughItsJSON(request: CatchUp.StreamRequest) throws {
        #expect(try CatchUp.parse(request.json.jsonBytes, maxLimit: Self.maxLimit) == .stream(request))
    }

    @Test(arguments: [("-1", "-1"), ("\"3\"", "\"3\""), ("1.5", "1.5"), ("null", "null")])
    func aBadFromVersionIsAnInvalidArgument(value: String, shown: String) {
        #expect(error(#"{"stream":"order-1","fromVersion":\#(value)}"#)
            == WireError(.invalidArgument, "fromVersion must be an integer of 0 or more, got \(shown)"))
    }

    @Test(arguments: [("1", "an integer"), ("null", "null"), ("[\"order-1\"]", "an array")])
    func aStreamOfAnotherTypeIsAnInvalidArgument(value: String, typeName: String) {
        #expect(error(#"{"stream":\#(value)}"#) == WireError(.invalidArgument, "stream must be a string, got \(typeName)"))
    }

    @Test(arguments: [
        ("", "stream name is empty"),
        ("-order", "stream name '-order' starts with '-'"),
        ("order 1", "stream name contains a character outside printable ASCII (byte 32)"),
    ])
    func anInvalidStreamNameIsAnInvalidArgument(stream: String, problem: String) {
        #expect(error(#"{"stream":"\#(stream)"}"#) == WireError(.invalidArgument, "stream: \(problem)"))
    }

    @Test func aStreamNameOverTheMaximumLengthIsAnInvalidArgument() throws {
        let longest = String(repeating: "s", count: StreamName.maxLength)
        #expect(try parse(#"{"stream":"\#(longest)"}"#) == .stream(.init(stream: longest, limit: Self.maxLimit)))
        #expect(error(#"{"stream":"\#(longest)x"}"#)?.code == .invalidArgument)
    }

    @Test func aStreamRequestLimitIsCheckedLikeALogRequestLimit() {
        #expect(error(#"{"stream":"order-1","limit":0}"#)
            == WireError(.invalidArgument, "limit must be between 1 and 500, got 0"))
        #expect(error(#"{"stream":"order-1","limit":"5"}"#)
            == WireError(.invalidArgument, "limit must be an integer, got a string"))
    }

    @Test(arguments: ["after", "categories", "version"])
    func aLogFieldInAStreamRequestIsAnUnknownField(field: String) {
        #expect(error(#"{"stream":"order-1","\#(field)":0}"#)
            == WireError(.invalidArgument, "unknown field '\(field)' in stream read request"))
    }

    // MARK: - Summary

    @Test(arguments: [
        CatchUp.Summary(head: 0, count: 0, scannedTo: 0),
        CatchUp.Summary(head: 1000, count: 500, scannedTo: 750),
        CatchUp.Summary(head: .max, count: Int.max, scannedTo: .max),
    ])
    func aSummaryRoundTrips(summary: CatchUp.Summary) throws {
        #expect(try CatchUp.Summary(body: summary.json.jsonBytes) == summary)
        #expect(summary.json["ok"] == .bool(true))
    }

    @Test func theSummaryIsTheDocumentedJSON() {
        #expect(CatchUp.Summary(head: 9, count: 2, scannedTo: 8).json.jsonString
            == #"{"count":2,"head":9,"ok":true,"scannedTo":8}"#)
    }

    @Test(arguments: ErrorCode.allCases)
    func anErrorReplyBecomesItsWireError(code: ErrorCode) {
        let sent = WireError(code, "something about \(code.rawValue)")
        #expect(wireError { try CatchUp.Summary(body: sent.reply.jsonBytes) } == sent)
    }

    @Test func anErrorReplyWithAnUnknownCodeOrNoMessageIsInternal() {
        #expect(wireError { try CatchUp.Summary(body: Array(#"{"ok":false,"error":{"code":"Nope","message":"m"}}"#.utf8)) }
            == WireError(.internal, "m"))
        #expect(wireError { try CatchUp.Summary(body: Array(#"{"ok":false}"#.utf8)) }
            == WireError(.internal, "error reply without a message"))
        #expect(wireError { try CatchUp.Summary(body: Array(#"{"ok":false,"error":{"code":"Stale"}}"#.utf8)) }
            == WireError(.stale, "error reply without a message"))
    }

    @Test(arguments: [
        #"{"ok":true,"count":0,"scannedTo":0}"#, #"{"ok":true,"head":0,"scannedTo":0}"#,
        #"{"ok":true,"head":0,"count":0}"#, #"{"ok":true,"head":0,"count":"0","scannedTo":0}"#, "[]",
    ])
    func aSummaryLackingAFieldIsMalformed(text: String) {
        #expect(wireError { try CatchUp.Summary(body: Array(text.utf8)) }
            == WireError(.malformed, "catch-up summary lacks head, count or scannedTo"))
    }

    @Test func aSummaryThatIsNotJSONIsMalformed() {
        #expect(wireError { try CatchUp.Summary(body: Array("ok".utf8)) }?.code == .malformed)
    }
}
