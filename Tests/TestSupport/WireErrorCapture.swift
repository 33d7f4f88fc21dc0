import WireProtocol

/// Runs `body`, which should throw a `WireError`, and returns it: nil when it returned normally,
/// a `DecisionError` as the wire error the write node answers it with, and an `.internal` error
/// naming what it threw instead when that was neither.
public func wireError(_ body: () throws -> some Any) -> WireError? {
    do {
        _ = try body()
        return nil
    } catch let error as WireError {
        return error
    } catch let error as DecisionError {
        return WireError(error)
    } catch {
        return WireError(.internal, "not a WireError: \(error)")
    }
}
