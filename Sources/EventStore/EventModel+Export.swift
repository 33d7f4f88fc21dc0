// The event vocabulary (`NewEvent`, `RecordedEvent`, `ExpectedVersion`, `AppendRequest`, stream
// names, clocks) lives in `EventModel`, which has no dependencies, so that domains and clients
// can use it without linking SQLite. Re-exported so that `import EventStore` still sees it.
@_exported import EventModel
