// `JSONValue` moved to `EventModel` with the decider contract (a command's data is a JSON value);
// re-exported so that `import WireProtocol` sees it, and the event vocabulary, as before.
@_exported import EventModel
