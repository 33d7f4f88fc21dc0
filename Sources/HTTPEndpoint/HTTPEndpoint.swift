import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A small HTTP/1.1 server for the metrics scrape and the dashboard: a fixed set of GET paths.
///
/// Over swift-nio's HTTP/1.1 codec rather than a framework: swift-nio is already compiled for
/// the PostgreSQL client, so this adds no dependency and no build time, and two kinds of route
/// (a whole response, an event stream) are all Prism serves. One event-loop thread of its own,
/// so a slow scrape never runs on a process's hot threads. Malformed requests and headers over
/// NIO's 80 KiB get `400` and lose their connection; everyone else keeps being served.
public final class HTTPEndpoint: Sendable {
    /// The bound address (with the real port when 0 was asked for).
    public let address: HTTPAddress
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    /// Binds now; throws `HTTPEndpointError` naming the address when it cannot.
    public init(address: HTTPAddress, routes: [String: HTTPRoute]) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: HTTPEndpoint.idleTimeout))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(RequestHandler(routes: routes))
                }
            }
        do {
            channel = try bootstrap.bind(host: address.host, port: address.port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw HTTPEndpointError(address: address, cause: "\(error)")
        }
        self.group = group
        self.address = HTTPAddress(host: address.host, port: channel.localAddress?.port ?? address.port)
    }

    /// A connection that neither sends nor receives for this long is closed, so idle or stalled
    /// clients cannot pile up; an event stream sends at least once a second and stays.
    static let idleTimeout = TimeAmount.seconds(60)

    /// The bound port.
    public var port: Int { address.port }

    /// Stops listening and closes every connection, event streams included.
    public func close() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

public struct HTTPEndpointError: Error, CustomStringConvertible {
    public let address: HTTPAddress
    public let cause: String

    public var description: String { "cannot listen for HTTP on \(address): \(cause)" }
}

/// Answers one connection's requests from the route table.
private final class RequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: [String: HTTPRoute]
    private var request: HTTPRequestHead?

    init(routes: [String: HTTPRoute]) {
        self.routes = routes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): request = head
        case .body: break  // GET only: a body is read past, never kept
        case .end:
            guard let head = request else { return }
            request = nil
            respond(to: head, context: context)
        }
    }

    /// A request NIO could not parse (it has already answered `400`), or a broken connection:
    /// that connection alone is closed.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent { context.close(promise: nil) } else { context.fireUserInboundEventTriggered(event) }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? "/"
        guard let route = routes[path] else {
            return send(.text("no such path: \(path)\n", status: 404), for: head, context: context)
        }
        guard head.method == .GET || head.method == .HEAD else {
            return send(.text("only GET is served\n", status: 405), for: head, context: context)
        }
        switch route {
        case .get(let answer):
            send(answer(), for: head, context: context)
        case .eventStream(let follow):
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "text/event-stream")
            headers.add(name: "Cache-Control", value: "no-cache")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: ": stream\n\n")))), promise: nil)
            follow(EventStreamClient(channel: context.channel))
        }
    }

    private func send(_ response: HTTPResponse, for head: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.count))
        let keepAlive = head.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: response.status)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive { done.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) } }
    }
}
