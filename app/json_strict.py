"""The JSON reader every file or document an operator writes is read with — a seed, a change file
(`-f change.json`), a config tree's config.json, a type's JSON Schema, a change typed in the console —
and beneath the request bodies' parser (app.reliability.bodies.parse_strict): app.yaml_strict's twin.

Why: Python's json reads what JSON does not say, or says otherwise, without a word. A duplicated key keeps
the last value (half of what the author wrote is gone); NaN, Infinity and -Infinity load as floats, which
no JSON reader after Karma takes back (stored, they made texts that are not JSON); a number beyond a
float's range (1e400) becomes infinity; and a lone surrogate escape ("\\ud800", which JSON allows) is no
Unicode character: the Neo4j driver and the rule engine crashed on one. Each is NotStrictJSON (a
ValueError) naming the key path and the line it is on. Text that is not JSON at all is json's own
JSONDecodeError (its message says the line and column); a reader that falls back to YAML falls back on
that one only. The positions are found by a second, token-level pass over the text — only once a text is
refused, so reading an accepted one costs what json.loads does. Integers beyond 64 bits are JSON and are
read exactly: what takes them (a schema, the driver) says so, naming the field.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from app.yaml_misreads import dotted

_SURROGATE = re.compile("[\ud800-\udfff]")  # in a decoded str, a surrogate is always a lone one
# what a file (not a request) holding one is told, after the file and the field
LONE_SURROGATE = "a lone surrogate escape (\\ud800-\\udfff) is not a Unicode character: write the character itself"
CONSTANTS = ("NaN", "Infinity", "-Infinity")
# a JSON text's tokens, whitespace between them skipped: a string, a number or a word (true, NaN, …), a mark
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[-+.\w]+|[{}\[\],:]')


class NotStrictJSON(ValueError):
    """JSON text Python would read, but not as written. `kind`: duplicate, constant, range, surrogate or
    depth; `path` the key path (keys and list indexes; for a duplicate, the repeated key's own);
    `problem` what is wrong there; `line` where (None: not found)."""

    def __init__(self, kind: str, problem: str, path: tuple = (), line: int | None = None):
        self.kind, self.problem, self.path, self.line = kind, problem, path, line
        where = f", at line {line}" if line else ""
        super().__init__(f"{dotted(path)}: {problem}{where}" if path else f"{problem}{where}")


def loads(text: str) -> Any:
    """The JSON text's value; NotStrictJSON for what Python's json would read other than written,
    json.JSONDecodeError for text that is not JSON."""
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant, parse_float=_finite)
    except NotStrictJSON:  # refused as soon as seen: what follows may not be JSON at all (`NaNa`, `[NaN x]`)
        _read_as_python_does(text)  # JSONDecodeError then, as for any text that is not JSON
        raise _first_refusal(text) from None
    except RecursionError:
        raise _too_deep() from None
    if ("\\u" in text or _SURROGATE.search(text)) and lone_surrogate_at(value) is not None:  # escaped, or not
        raise _first_refusal(text) from None
    return value


def read_json(path: Path | str) -> Any:
    """A JSON file's value (loads); OSError when it cannot be read, UnicodeDecodeError (a ValueError)
    when it is not UTF-8. The caller names the file."""
    return loads(Path(path).read_text(encoding="utf-8"))


def lone_surrogate_at(value) -> tuple | None:
    """The key path (keys and list indexes; a bad key with `?` for its surrogate) of the first string holding a lone
    surrogate, or None. The one check for every JSON Karma reads (loads, and through it a request body,
    app.reliability.bodies.parse_strict): the driver and the rule engine cannot encode one."""
    stack: list[tuple] = [(value, ())]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return where
        elif isinstance(item, dict):
            for key, child in item.items():
                if _SURROGATE.search(key):
                    return (*where, _SURROGATE.sub("?", key))
                stack.append((child, (*where, key)))
        elif isinstance(item, list):
            stack.extend((child, (*where, i)) for i, child in enumerate(item))
    return None


def _read_as_python_does(text: str) -> None:
    try:
        json.loads(text)
    except RecursionError:
        raise _too_deep() from None


def _too_deep() -> NotStrictJSON:
    return NotStrictJSON("depth", "nested too deep to read")


# ------------------------------------------------------------------------ json.loads' hooks: refuse
def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise NotStrictJSON("duplicate", f"duplicated key {key!r}")
        out[key] = value
    return out


def _no_constant(name: str):
    raise NotStrictJSON("constant", _constant_problem(name))


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NotStrictJSON("range", _range_problem(text))
    return value


def _constant_problem(name: str) -> str:
    return f"{name} is not JSON (no number: write null, or quote it as text)"


def _range_problem(text: str) -> str:
    return f"the number {text[:40]} is beyond a float's range (it would be read as infinity)"


# ------------------------------------------------------------------ where: a second pass, on refusal
class _Open:
    """An object or array being read: the key or index of the member being read, the keys seen (their lines)."""

    def __init__(self, is_object: bool):
        self.is_object, self.place, self.expects_key = is_object, (None if is_object else 0), is_object
        self.seen: dict[str, int] = {}


def _first_refusal(text: str) -> NotStrictJSON:
    """The first thing loads refuses in `text` (JSON Python reads), in the order it is written, with its
    path and line; a general refusal if none is found (it cannot be: the same text was refused)."""
    stack: list[_Open] = []
    line, last = 1, 0
    for match in _TOKEN.finditer(text):
        token, top = match.group(), (stack[-1] if stack else None)
        if token in ("{", "["):
            stack.append(_Open(token == "{"))
            continue
        if token in ("}", "]"):
            stack.pop()
        elif token == ",":
            if top.is_object:
                top.expects_key = True
            else:
                top.place += 1
        elif token != ":":
            line, last = line + text.count("\n", last, match.start()), match.start()
            is_key = top is not None and top.is_object and top.expects_key
            refusal = _key_refusal(top, token, line) if is_key else _value_refusal(token)
            if refusal is not None:
                return NotStrictJSON(*refusal, tuple(_shown(o.place) for o in stack), line)
    return NotStrictJSON("duplicate", "not JSON as written (a duplicated key, NaN, Infinity or a lone surrogate)")


def _key_refusal(top: _Open, token: str, line: int) -> tuple[str, str] | None:
    """A key read: the member's place; refused when it holds a lone surrogate or repeats a key of its object."""
    key = json.loads(token)
    top.expects_key, top.place = False, key
    if _SURROGATE.search(key):
        return "surrogate", LONE_SURROGATE
    if key in top.seen:
        return "duplicate", f"duplicated key (first at line {top.seen[key]})"
    top.seen[key] = line
    return None


def _value_refusal(token: str) -> tuple[str, str] | None:
    if token[0] == '"':
        return ("surrogate", LONE_SURROGATE) if _SURROGATE.search(json.loads(token)) else None
    if token in CONSTANTS:
        return "constant", _constant_problem(token)
    if token[0] in "-0123456789" and any(c in token for c in ".eE") and not math.isfinite(float(token)):
        return "range", _range_problem(token)
    return None


def _shown(place: Any) -> Any:
    """A key as a message can show it: a lone surrogate in it as `?` (it cannot be printed or encoded)."""
    return _SURROGATE.sub("?", place) if isinstance(place, str) else place
