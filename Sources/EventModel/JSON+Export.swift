// A command's data is a `JSONValue`: whoever sees the event vocabulary sees JSON too.
@_exported import JSON
