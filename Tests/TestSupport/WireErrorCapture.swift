import WireProtocol

/// Runs `body`, which should throw a `WireError`, and returns it: nil when it returned normally,
/// an `.internal` error naming what it threw instead when that was not a `WireError`.
public func wireError(_ body: () throws -> some Any) -> WireError? {
    do {
        _ = try body()
        return nil
    } catch let error as WireError {
        return error
    } catch {
        return WireError(.internal, "not a WireError: \(error)")
    }
}
