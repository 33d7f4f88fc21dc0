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

/// Turns SIGHUP into a call of `handler` (reload the authorized keys), on a dispatch queue.
public final class ReloadSignal {
    private let source: any DispatchSourceSignal

    public init(handler: @escaping @Sendable () -> Void) {
        // The default action would end the process.
        signal(SIGHUP, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler(handler: handler)
        source.resume()
    }
}
