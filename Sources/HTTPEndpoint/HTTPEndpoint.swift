// STUB: the contract of the lead's HTTPEndpoint (PREAMBLE.md), enough to build and test the
// dashboard against until the real module is merged from main; then this file goes.
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

public struct HTTPAddress: Sendable {
    public let host: String
    public let port: Int

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public init(parsing text: String) throws {
        if let port = Int(text) {
            host = "127.0.0.1"
            self.port = port
            return
        }
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else {
            throw ParseError(description: "expected port, host:port or [v6]:port, got \(text)")
        }
        let name = text[..<colon]
        host = String(name.hasPrefix("[") && name.hasSuffix("]") ? name.dropFirst().dropLast() : name)
        self.port = port
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]

    public init(status: Int = 200, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }
}

public enum HTTPRoute: Sendable {
    case get(@Sendable () -> HTTPResponse)
    case eventStream(@Sendable (EventStreamClient) -> Void)
}

public final class EventStreamClient: Sendable {
    private let channel: any Channel

    init(channel: any Channel) { self.channel = channel }

    public var isOpen: Bool { channel.isActive }

    @discardableResult
    public func send(event: String? = nil, data: String) -> Bool {
        guard channel.isActive else { return false }
        var text = event.map { "event: \($0)\n" } ?? ""
        for line in data.split(separator: "\n", omittingEmptySubsequences: false) { text += "data: \(line)\n" }
        text += "\n"
        let buffer = channel.allocator.buffer(string: text)
        channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: nil)
        return true
    }
}

public final class HTTPEndpoint: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    public init(address: HTTPAddress, routes: [String: HTTPRoute]) throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        channel = try ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(RouteHandler(routes: routes))
                }
            }
            .bind(host: address.host, port: address.port).wait()
    }

    public var port: Int { channel.localAddress?.port ?? 0 }

    public func close() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

private final class RouteHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let routes: [String: HTTPRoute]

    init(routes: [String: HTTPRoute]) { self.routes = routes }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let request) = unwrapInboundIn(data) else { return }
        let path = String(request.uri.split(separator: "?", maxSplits: 1).first ?? "")
        guard request.method == .GET else { return respond(context, HTTPResponse(status: 405, contentType: "text/plain", body: Array("method not allowed\n".utf8))) }
        switch routes[path] {
        case nil:
            respond(context, HTTPResponse(status: 404, contentType: "text/plain", body: Array("not found\n".utf8)))
        case .get(let answer):
            respond(context, answer())
        case .eventStream(let accept):
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "text/event-stream")
            headers.add(name: "Cache-Control", value: "no-cache")
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            accept(EventStreamClient(channel: context.channel))
        }
    }

    private func respond(_ context: ChannelHandlerContext, _ response: HTTPResponse) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.count))
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: response.status), headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
