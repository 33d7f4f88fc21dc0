/// A request as a ROUTER socket receives it: the routing envelope and one body frame.
///
/// REQ peers send `[identity, "", body]` and DEALER peers `[identity, body]` or
/// `[identity, "", body]`; the reply must carry the same envelope back.
public struct RequestEnvelope: Sendable {
    /// The frames to put before the reply: the identity, and the empty delimiter if there was one.
    public var route: [[UInt8]]
    /// The request body: one frame of UTF-8 JSON.
    public var body: [UInt8]

    /// Splits received frames.
    ///
    /// - Returns: the envelope, or the route with a `Malformed` error to reply when the frames are not one body.
    public static func split(_ frames: [[UInt8]]) -> Result<RequestEnvelope, Failure> {
        guard let identity = frames.first else {
            return .failure(Failure(route: [], error: WireError(.malformed, "message has no frames")))
        }
        var route = [identity]
        var rest = frames.dropFirst()
        if rest.count >= 2, rest.first?.isEmpty == true {
            route.append([])
            rest = rest.dropFirst()
        }
        guard rest.count == 1, let body = rest.first else {
            return .failure(Failure(route: route, error: WireError(
                .malformed, "expected exactly one body frame after the routing envelope, got \(rest.count)")))
        }
        if body.isEmpty {
            return .failure(Failure(route: route, error: WireError(.malformed, "request body frame is empty")))
        }
        return .success(RequestEnvelope(route: route, body: body))
    }

    /// An unusable request: where to send the error, and which.
    public struct Failure: Error, Sendable {
        public var route: [[UInt8]]
        public var error: WireError
    }

    /// The frames of a reply to this request.
    public func reply(_ body: [UInt8]) -> [[UInt8]] { route + [body] }
}

extension JSONParser.Error {
    /// The `Malformed` wire error for a body that is not JSON.
    public var wireError: WireError { WireError(.malformed, description) }
}
