import Foundation

/// Polls `condition` until it holds or `timeout` passes; never a fixed sleep for readiness.
///
/// - Parameters:
///   - timeout: how long to keep trying before giving up.
///   - interval: the pause between attempts; keep it small so a ready condition is seen quickly.
///   - condition: checked at least once, first without any pause.
/// - Returns: whether `condition` held before the deadline.
@discardableResult
public func waitUntil(
    timeout: Duration,
    interval: Duration = .milliseconds(5),
    _ condition: () throws -> Bool
) rethrows -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while true {
        if try condition() { return true }
        if clock.now >= deadline { return false }
        Thread.sleep(forTimeInterval: interval.timeInterval)
    }
}

/// As `waitUntil`, for async conditions (e.g. asking a started process whether it answers).
@discardableResult
public func waitUntil(
    timeout: Duration,
    interval: Duration = .milliseconds(5),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while true {
        if try await condition() { return true }
        if clock.now >= deadline { return false }
        try? await Task.sleep(for: interval)
    }
}

extension Duration {
    /// The duration in seconds, for Foundation APIs that take a `TimeInterval`.
    var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
