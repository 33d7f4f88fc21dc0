import Logging
import PostgresNIO
import PostgresStore
import TestSupport
import Testing

/// `--postgres-synchronous-commit`: a session starts with the setting it was given (off unless asked).
@Suite struct SynchronousCommitTests {
    @Test(arguments: [false, true])
    func aSessionStartsWithTheSettingItWasGiven(synchronousCommit: Bool) throws {
        let server = try PostgresServer()
        let session = PostgresSession(url: try PostgresURL(server.url()), synchronousCommit: synchronousCommit, logger: Logger(label: "test"))
        defer { session.close() }
        let value = try session.query("SHOW synchronous_commit").first?.decode(String.self)
        #expect(value == (synchronousCommit ? "on" : "off"))
    }
}
