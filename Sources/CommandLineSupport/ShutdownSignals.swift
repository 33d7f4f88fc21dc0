import Dispatch
import Glibc

/// Turns SIGINT and SIGTERM into one call of `handler`, on a dispatch queue rather than in signal context.
public final class ShutdownSignals {
    private let sources: [any DispatchSourceSignal]

    public init(handler: @escaping @Sendable () -> Void) {
        sources = [SIGINT, SIGTERM].map { number in
            // The default action would kill the process before the batch finishes and sockets linger.
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            return source
        }
    }
}
