// The event vocabulary (and, through it, the `JSON` module) is part of the wire protocol:
// re-exported so that `import WireProtocol` sees both.
@_exported import EventModel
