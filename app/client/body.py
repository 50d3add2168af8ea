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
from collections.abc import Callable
from typing import Any

import yaml

from app import json_strict, yaml_misreads
from app.json_strict import NotStrictJSON
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


def parse_value(text: str, where: str = ""):
    """A value typed on the command line (`--set k=V`, `runtime report OUT=V`, `--assume X.OUT=V`): JSON
    when it parses (`2`, `true`, `["a"]`), else the string. What Python's json reads but not as written
    (`NaN`, `1e400`, `{"a": 1, "a": 2}`: app.json_strict) is a BodyError naming `where` (`--set port`): it
    is neither the number or object its author meant nor, surely, the text."""
    try:
        return json_strict.loads(text)
    except NotStrictJSON as exc:
        inside = f"{yaml_misreads.dotted(exc.path)}: " if exc.path else ""
        raise BodyError(f"{where}{': ' if where else ''}{inside}{exc.problem}") from None
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


ValidatorOf = Callable[[str], "yaml_misreads.Validate | None"]  # a type's name → its config's validator


def change_sections(
    component: str | None, validator_of: ValidatorOf | None, also: tuple[str, ...] = ()
) -> Callable[[Any], dict[tuple, yaml_misreads.Validate | None]]:
    """Where a change body — a change file, the console's form — holds configs, for yaml_misreads.load to
    judge the booleans YAML read in them against each one's type (misread_booleans): an update's
    `proposed_change` or a create's `config`, each operation's of a set; the whole document when it is
    just the merge patch. `component`: the one a command line names (over the file's own); `also` (a
    plan's `assume`): values of any type. Everything else is a request field, all of them text."""

    def typed(doc: Any) -> dict[tuple, yaml_misreads.Validate | None]:
        if not isinstance(doc, dict):
            return {}
        out: dict[tuple, yaml_misreads.Validate | None] = {(key,): None for key in also}
        if isinstance(doc.get("changes"), list):
            for index, operation in enumerate(doc["changes"]):
                owner = operation.get("component") if isinstance(operation, dict) else None
                for key in ("proposed_change", "config"):
                    out[("changes", index, key)] = component_validator(owner, validator_of)
        elif "proposed_change" in doc:
            out[("proposed_change",)] = component_validator(component or doc.get("component"), validator_of)
        else:
            return {(): component_validator(component, validator_of)}
        return out

    return typed


def component_validator(component: Any, validator_of: ValidatorOf | None) -> yaml_misreads.Validate | None:
    """The validator `validator_of` gives `component`'s type (its config's, or its runtime's); None — a value
    of any type — when the id names no type (the request's own refusal then names it)."""
    from app.components.registry import id_shape  # noqa: PLC0415 - only for a file holding a boolean

    if validator_of is None or not isinstance(component, str):
        return None
    try:
        return validator_of(id_shape(component)[1])
    except ValueError:  # no id: the request's own refusal names it
        return None


def served_validators(types: Callable[[], dict]) -> ValidatorOf:
    """Each type's config validator from the service's `GET /types` (`types`), asked once and only when
    a file holds a boolean in a config: the CLI has no types of its own."""
    from app.components import schema  # noqa: PLC0415 - jsonschema: only for a file holding a boolean

    validators: dict[str, yaml_misreads.Validate] = {}

    def validator_of(type_name: str) -> yaml_misreads.Validate | None:
        if not validators:
            for served in types().get("types", []):
                compiled = schema.validator(served.get("config_schema") or {})
                validators[served["name"]] = lambda value, compiled=compiled: schema.errors(compiled, value)
        return validators.get(type_name)

    return validator_of


def read_file(path: Path, typed: Callable[[Any], dict] | None = None) -> dict:
    """The file's document; BodyError when it cannot be read, is no YAML/JSON, or holds an unquoted value
    YAML 1.1 reads as other than written: a number (``017``), or a boolean (``on``) where `typed` (the
    document's configs: change_sections) says the author meant the text (app.yaml_misreads); or JSON
    Python's json reads other than written (a duplicated key, NaN, 1e400, a lone surrogate: app.json_strict)."""
    try:
        text = read_text(path)
    except UnreadableFile as exc:
        raise BodyError(str(exc)) from None
    try:
        data, misread = _document(path, text, typed)
    except NotStrictJSON as exc:  # a duplicated key, NaN, 1e400, a lone surrogate: named with its line
        raise BodyError(f"{path}: not valid JSON: {exc}") from None
    except (ValueError, yaml.YAMLError) as exc:
        raise BodyError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}") from None
    if misread:  # 017, 0x1F, 1_000, 1:30, on: not the value its author wrote (app.yaml_misreads)
        raise BodyError("; ".join(yaml_misreads.problems(misread, f"{path}: ")))
    if not isinstance(data, dict):
        empty = "is empty: " if data is None else ""  # an empty YAML file reads as null
        raise BodyError(f"{path}: {empty}expected an object (a request or a merge patch)")
    return data


def _document(path: Path, text: str, typed: Callable[[Any], dict] | None) -> tuple[Any, list]:
    """(the document, what YAML misread) of a change file: JSON read strictly (app.json_strict) for a
    `.json` file, and for standard input (`-f -`) whose text is JSON — what `karma plan` prints to pipe
    into `karma transitions propose -f -` is: YAML 1.1 read its `NaN` and `1e+20` as the texts "NaN" and
    "1e+20", without a word. Anything else is YAML (app.yaml_misreads)."""
    if path.suffix == ".json" or str(path) == "-":
        try:
            return json_strict.loads(text), []
        except json.JSONDecodeError:
            if path.suffix == ".json":
                raise
    return yaml_misreads.load(text, StrictLoader, typed)


def build(
    component: str | None,
    file: Path | None,
    sets: tuple[str, ...],
    unsets: tuple[str, ...],
    also: tuple[str, ...] = (),
    validator_of: ValidatorOf | None = None,
    **fields,
) -> dict:
    """The request body for /plan and /request-change (fields given as None are left out). `also`: keys a
    file may hold besides a request's (a plan's `assume`: a what-if plan, docs/transitions.md).
    `validator_of`: each type's config validator (served_validators), to tell a boolean YAML read that
    its config takes from one it does not (read_file); without it a config's fields are of any type."""
    body: dict = {}
    if file is not None:
        data = read_file(file, change_sections(component, validator_of, also))
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
        _put(patch, key.strip(), parse_value(value, f"--set {key.strip()}"))
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
