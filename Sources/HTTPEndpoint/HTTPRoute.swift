import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// A complete answer to a GET.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]

    public init(status: Int = 200, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    public static func text(_ text: String, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8))
    }
}

/// What a path answers.
public enum HTTPRoute: Sendable {
    /// Computed for each request, on the endpoint's event loop: keep it quick.
    case get(@Sendable () -> HTTPResponse)
    /// Server-sent events (`text/event-stream`): the handler keeps the client and sends to it
    /// from any thread until `send` returns false.
    case eventStream(@Sendable (EventStreamClient) -> Void)
}

/// One browser following a server-sent event stream.
public final class EventStreamClient: Sendable {
    private let channel: any Channel
    private let open = NIOLockedValueBox(true)

    init(channel: any Channel) {
        self.channel = channel
        channel.closeFuture.whenComplete { [open] _ in open.withLockedValue { $0 = false } }
    }

    /// False once the client has gone (then the caller drops it).
    public var isOpen: Bool { open.withLockedValue { $0 } && channel.isActive }

    /// Sends one event; data lines are split so a newline in `data` cannot end the event early.
    /// Returns false when the client has gone.
    @discardableResult
    public func send(event: String? = nil, data: String) -> Bool {
        guard isOpen else { return false }
        var text = ""
        if let event { text += "event: \(event.filter { $0 != "\n" && $0 != "\r" })\n" }
        for line in data.split(separator: "\n", omittingEmptySubsequences: false) {
            text += "data: \(line)\n"
        }
        text += "\n"
        let channel = channel
        channel.eventLoop.execute { [text] in
            let buffer = channel.allocator.buffer(string: text)
            channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: nil)
        }
        return true
    }

    /// Ends the stream from the server's side.
    public func close() {
        channel.close(promise: nil)
    }
}
