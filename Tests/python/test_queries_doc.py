"""docs/QUERIES.md against the Swift sources: a cheap check that starts no process and needs no pyzmq.

It reads the sources as text:
- the query names: every `queryNames = [...]` array, the built-ins appended to it in `health`
  (`queryNames + [...]`), and the string labels of the query switches (`switch name {` /
  `switch request.name {` `case "x":`, and `guard name == "x"`);
- the error codes a projector can send: `WireError(.code, …)` in the projection runtime, the
  read models, and the WireProtocol parts a projector uses (FieldReader, RequestEnvelope).

Then every query must appear in the doc as a heading or a code span, every projector query must
have a heading of its own, every projector error code must be in the doc's error-code table, and
every projector flag must be documented.

(Tests/python/conftest.py imports pyzmq; without it run this file with `--noconftest`.)
"""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "QUERIES.md"
SOURCES = REPO / "Sources"
RUNTIME = SOURCES / "ProjectionRuntime"
READ_MODELS = SOURCES / "OrdersReadModels"
# The WireProtocol files whose errors reach a projector's clients (request framing, JSON, params).
WIRE_FILES_USED_BY_PROJECTORS = ["FieldReader.swift", "RequestEnvelope.swift"]


def swift_files(*directories: Path) -> list[Path]:
    files = [path for directory in directories for path in sorted(directory.glob("*.swift"))]
    assert files, f"no Swift files in {directories}"
    return files


def strip_comments(source: str) -> str:
    """Swift source without `//` line comments (doc comments mention names that are not code)."""
    return re.sub(r"//[^\n]*", "", source)


def braced_body(source: str, open_index: int) -> str:
    """The text between the `{` at `open_index` and its matching `}` (strings hold no braces here)."""
    depth = 0
    for index in range(open_index, len(source)):
        if source[index] == "{":
            depth += 1
        elif source[index] == "}":
            depth -= 1
            if depth == 0:
                return source[open_index + 1:index]
    raise AssertionError("unbalanced braces")


def string_literals(text: str) -> list[str]:
    return re.findall(r'"([^"\\]*)"', text)


def query_names_arrays() -> dict[str, list[str]]:
    """`queryNames = [...]` per file (the status models share `StatusQuery.names`), plus the
    built-ins of `queryNames + [...]`."""
    found: dict[str, list[str]] = {}
    for path in swift_files(RUNTIME, READ_MODELS):
        source = strip_comments(path.read_text())
        for match in re.finditer(r"(?:queryNames|builtInQueries|adminRequests|static let names)\s*(?:=|\+)\s*\[([^\]]*)\]", source):
            found.setdefault(path.name, []).extend(string_literals(match.group(1)))
    return found


def switch_query_labels() -> dict[str, list[str]]:
    """The string `case` labels of the query-name switches, and `guard name == "x"` names, per file."""
    found: dict[str, list[str]] = {}
    for path in swift_files(RUNTIME, READ_MODELS):
        source = strip_comments(path.read_text())
        names: list[str] = []
        for match in re.finditer(r"switch\s+(?:request\.)?name\s*\{", source):
            body = braced_body(source, match.end() - 1)
            for labels in re.findall(r"^\s*case\s+([^:\n]+):", body, flags=re.MULTILINE):
                names.extend(string_literals(labels))
        names.extend(re.findall(r'guard\s+name\s*==\s*"([^"]+)"', source))
        if names:
            found[path.name] = names
    return found


def projector_error_codes() -> set[str]:
    """The raw values of the `ErrorCode`s a projector can put in a reply."""
    enum_source = (SOURCES / "WireProtocol" / "ErrorCode.swift").read_text()
    raw_by_case = dict(re.findall(r"case\s+`?(\w+)`?\s*=\s*\"(\w+)\"", enum_source))
    assert "stale" in raw_by_case and "internal" in raw_by_case, raw_by_case
    files = swift_files(RUNTIME, READ_MODELS) + [SOURCES / "WireProtocol" / name for name in WIRE_FILES_USED_BY_PROJECTORS]
    used = set()
    for path in files:
        for case in re.findall(r"WireError\(\s*\.(\w+)", strip_comments(path.read_text())):
            assert case in raw_by_case, f"{path.name}: WireError(.{case}) is not an ErrorCode case"
            used.add(raw_by_case[case])
    return used


def doc_text() -> str:
    assert DOC.exists(), f"{DOC} is missing"
    return DOC.read_text()


def doc_headings(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(r"#{1,6}\s", line)]


def doc_code_spans(text: str) -> set[str]:
    without_blocks = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return set(re.findall(r"`([^`\n]+)`", without_blocks))


def error_table_codes(text: str) -> set[str]:
    """The codes in the first column of the table headed `| code | …`."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if re.match(r"\|\s*code\s*\|", line):
            codes = set()
            for row in lines[index + 2:]:
                if not row.startswith("|"):
                    break
                codes.update(re.findall(r"`(\w+)`", row.split("|")[1]))
            return codes
    raise AssertionError("docs/QUERIES.md has no error-code table (a table whose first header is 'code')")


# MARK: - The sources are read correctly


def test_the_sources_name_the_queries():
    arrays = query_names_arrays()
    labels = switch_query_labels()
    assert set(arrays) >= {"OrdersQueries.swift", "SearchProjection.swift", "StatusQuery.swift",
                           "HistoryProjection.swift", "Projector.swift"}, arrays
    assert {"stats", "health", "digest"} <= set(labels.get("Projector.swift", [])), labels
    assert "ordersByStatus" in labels.get("OrdersQueries.swift", []), labels


def test_query_names_and_switch_labels_agree():
    """Each projection's `queryNames` lists exactly the names its `query(_:params:)` answers."""
    arrays = query_names_arrays()
    labels = switch_query_labels()
    answered = {name for names in labels.values() for name in names}
    listed = {name for names in arrays.values() for name in names}
    assert listed == answered, f"queryNames {sorted(listed)} vs switch labels {sorted(answered)}"


# MARK: - The doc covers the sources


def test_every_query_is_in_the_doc():
    text = doc_text()
    spans = doc_code_spans(text)
    headings = "\n".join(doc_headings(text))
    names = {name for names in list(query_names_arrays().values()) + list(switch_query_labels().values()) for name in names}
    missing = sorted(name for name in names
                     if name not in spans and not re.search(rf"\b{re.escape(name)}\b", headings))
    assert not missing, f"queries missing from docs/QUERIES.md: {missing}"


def test_every_query_has_a_heading():
    headings = doc_headings(doc_text())
    names = {name for names in switch_query_labels().values() for name in names}
    missing = sorted(name for name in names if not any(f"`{name}`" in heading for heading in headings))
    assert not missing, f"queries without a heading of their own in docs/QUERIES.md: {missing}"


def test_every_projector_error_code_is_in_the_error_table():
    used = projector_error_codes()
    assert {"Malformed", "InvalidArgument", "UnknownQuery", "Stale", "TooLarge", "Unavailable", "Internal"} <= used, used
    listed = error_table_codes(doc_text())
    missing = sorted(used - listed)
    assert not missing, f"error codes projectors send but docs/QUERIES.md's table lacks: {missing}"


def test_every_projector_flag_and_default_endpoint_is_documented():
    options = (SOURCES / "CommandLineSupport" / "ProjectorOptions.swift").read_text()
    # As ArgumentParser names them: `maxBatch` → --max-batch, `postgresURL` → --postgres-url.
    flags = ["--" + re.sub(r"(?<=[a-z0-9])([A-Z])", r"-\1", name).lower()
             for name in re.findall(r"@(?:Option|Flag)\b[^\n]*\n\s*public var (\w+)", options)]
    assert "--data-dir" in flags and "--silence-timeout-ms" in flags, flags
    spans = doc_code_spans(doc_text())
    assert not [flag for flag in flags if flag not in spans], f"flags missing: {[f for f in flags if f not in spans]}"
    text = doc_text()
    defaults = (SOURCES / "WireProtocol" / "DefaultEndpoints.swift").read_text()
    ports = re.findall(r"static let (\w+)QueryPort = (\d+)", defaults)
    assert len(ports) == 4, ports
    for name, port in ports:
        assert f":{port}" in text, f"{name}: port {port} not in the doc"
