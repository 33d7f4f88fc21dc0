import CZeroMQ

/// The socket patterns Prism uses.
public enum SocketType: Sendable, CustomStringConvertible {
    case pub, sub, req, rep, router, dealer, pair

    var rawValue: Int32 {
        switch self {
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        case .req: ZMQ_REQ
        case .rep: ZMQ_REP
        case .router: ZMQ_ROUTER
        case .dealer: ZMQ_DEALER
        case .pair: ZMQ_PAIR
        }
    }

    public var description: String {
        switch self {
        case .pub: "PUB"
        case .sub: "SUB"
        case .req: "REQ"
        case .rep: "REP"
        case .router: "ROUTER"
        case .dealer: "DEALER"
        case .pair: "PAIR"
        }
    }
}
