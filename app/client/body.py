"""The change a CLI command sends: from a YAML/JSON file, from --set/--unset flags, or both.

A file is a change set (`{changes: [{op, component, …}, …], reason, on_blocked}`), a whole single
request (`{component, proposed_change, reason, on_blocked, expected_version}`) — a set of one update — or
just the merge patch. `--set`/`--unset` are the one-operation shorthand (not with a `changes:` file).
Flags are applied on top of the file's patch: `--set key=value` (the value is
JSON when it parses as JSON, else a string; `a.b=1` sets a nested key), `--unset key` (null: removes it).
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from app import yaml_numbers
from app.yaml_strict import StrictLoader, UnreadableFile, read_text

REQUEST_KEYS = (
    "component",
    "proposed_change",
    "requested_by",
    "reason",
    "on_blocked",
    "expected_version",
    "idempotency_key",
)


SET_KEYS = ("changes", "requested_by", "reason", "on_blocked", "idempotency_key")


class BodyError(ValueError):
    pass


def parse_value(text: str):
    """A value typed on the command line (`--set k=V`, `runtime report OUT=V`, `--assume X.OUT=V`): JSON
    when it parses (`2`, `true`, `["a"]`), else the string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _put(patch: dict, dotted: str, value) -> None:
    parts = dotted.split(".")
    if not all(parts):
        raise BodyError(f"bad key {dotted!r}")
    node = patch
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise BodyError(f"{dotted!r}: {part!r} is set to a value, not an object")
    node[parts[-1]] = value


def read_file(path: Path) -> dict:
    try:
        text = read_text(path)
    except UnreadableFile as exc:
        raise BodyError(str(exc)) from None
    try:
        data, misread = (json.loads(text), []) if path.suffix == ".json" else yaml_numbers.load(text, StrictLoader)
    except (ValueError, yaml.YAMLError) as exc:
        raise BodyError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}") from None
    if misread:  # 017, 0x1F, 1_000, 1:30: not the value its author wrote (app.yaml_numbers)
        raise BodyError("; ".join(yaml_numbers.problems(misread, f"{path}: ")))
    if not isinstance(data, dict):
        empty = "is empty: " if data is None else ""  # an empty YAML file reads as null
        raise BodyError(f"{path}: {empty}expected an object (a request or a merge patch)")
    return data


def build(
    component: str | None,
    file: Path | None,
    sets: tuple[str, ...],
    unsets: tuple[str, ...],
    also: tuple[str, ...] = (),
    **fields,
) -> dict:
    """The request body for /plan and /request-change (fields given as None are left out). `also`: keys a
    file may hold besides a request's (a plan's `assume`: a what-if plan, docs/transitions.md)."""
    body: dict = {}
    if file is not None:
        data = read_file(file)
        if "changes" in data:
            return _set_body(file, data, component, sets, unsets, fields, also)
        if "proposed_change" in data:
            unknown = sorted(set(data) - set(REQUEST_KEYS) - set(also))
            if unknown:
                raise BodyError(f"{file}: unknown request fields {unknown}")
            body.update(data)
        else:
            body["proposed_change"] = data
    patch = dict(body.get("proposed_change") or {})
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep:
            raise BodyError(f"--set {item!r}: expected key=value")
        _put(patch, key.strip(), parse_value(value))
    for key in unsets:
        _put(patch, key.strip(), None)
    body["proposed_change"] = patch
    if component:
        body["component"] = component
    if not body.get("component"):
        raise BodyError("which component? give it as an argument (type/nickname) or as `component` in the file")
    if not patch:
        raise BodyError("no change: give a file (-f) or --set/--unset")
    body.update({k: v for k, v in fields.items() if v is not None})
    return body


def _set_body(file: Path, data: dict, component, sets, unsets, fields: dict, also: tuple[str, ...] = ()) -> dict:
    """A `changes:` file: the set as written, with the request's fields from the flags."""
    unknown = sorted(set(data) - set(SET_KEYS) - set(also))
    if unknown:
        raise BodyError(f"{file}: unknown change set fields {unknown}")
    if not isinstance(data["changes"], list) or not data["changes"]:
        raise BodyError(f"{file}: `changes` must be a non-empty list of operations")
    if component or sets or unsets or fields.get("expected_version") is not None:
        raise BodyError(
            "a change set file names its components in `changes`; a component, --set/--unset and "
            "--expected-version belong to a single change"
        )
    return {**data, **{k: v for k, v in fields.items() if v is not None}}
