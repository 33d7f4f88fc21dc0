import Testing
import WireProtocol

@Suite struct RequestEnvelopeTests {
    static let identity: [UInt8] = [0, 0x6B, 0x8B, 0x45, 0x67]
    static let body = Array(#"{"query":"ping"}"#.utf8)

    func split(_ frames: [[UInt8]]) -> Result<RequestEnvelope, RequestEnvelope.Failure> {
        RequestEnvelope.split(frames)
    }

    @Test func aREQStyleRequestKeepsTheDelimiterInItsRoute() throws {
        let envelope = try split([Self.identity, [], Self.body]).get()
        #expect(envelope.route == [Self.identity, []])
        #expect(envelope.body == Self.body)
        #expect(envelope.reply([1, 2]) == [Self.identity, [], [1, 2]])
    }

    @Test func aDEALERStyleRequestHasOnlyTheIdentityInItsRoute() throws {
        let envelope = try split([Self.identity, Self.body]).get()
        #expect(envelope.route == [Self.identity])
        #expect(envelope.body == Self.body)
        #expect(envelope.reply(Self.body) == [Self.identity, Self.body])
    }

    @Test func anEmptyIdentityIsStillAnIdentity() throws {
        let envelope = try split([[], Self.body]).get()
        #expect(envelope.route == [[]])
        #expect(envelope.reply([7]) == [[], [7]])
    }

    static let tooManyOrFew: [([[UInt8]], [[UInt8]], Int)] = [
        ([identity, [], body, [0x78]], [identity, []], 2),
        ([identity, body, [0x78]], [identity], 2),
        ([identity, [], body, [], body], [identity, []], 3),
        ([identity], [identity], 0),
    ]

    @Test(arguments: tooManyOrFew)
    func anythingButOneBodyFrameIsMalformed(frames: [[UInt8]], route: [[UInt8]], bodies: Int) throws {
        guard case .failure(let failure) = split(frames) else {
            Issue.record("\(frames.count) frames were accepted")
            return
        }
        #expect(failure.route == route)
        #expect(failure.error == WireError(
            .malformed, "expected exactly one body frame after the routing envelope, got \(bodies)"))
    }

    @Test(arguments: [
        ([identity, []], [identity]),
        ([identity, [], []], [identity, []]),
    ] as [([[UInt8]], [[UInt8]])])
    func anEmptyBodyIsMalformed(frames: [[UInt8]], route: [[UInt8]]) {
        guard case .failure(let failure) = split(frames) else {
            Issue.record("an empty body was accepted")
            return
        }
        #expect(failure.route == route)
        #expect(failure.error == WireError(.malformed, "request body frame is empty"))
    }

    @Test func noFramesIsMalformedWithNoRoute() {
        guard case .failure(let failure) = split([]) else {
            Issue.record("no frames were accepted")
            return
        }
        #expect(failure.route.isEmpty)
        #expect(failure.error == WireError(.malformed, "message has no frames"))
    }
}

@Suite struct JSONErrorReplyTests {
    @Test func aParseErrorIsMalformedNamingTheByte() {
        var failure: JSONParser.Error?
        do { _ = try JSONParser.parse("[1,]") } catch { failure = error }
        #expect(failure?.wireError == WireError(.malformed, "invalid JSON at byte 3: unexpected character ']'"))
    }
}
