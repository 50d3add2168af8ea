"""A write-back that keeps the file's layout: the text of an existing config file changed minimally.

A config repository such as usekarma/aws-config is written by hand: four-space files and two-space ones,
keys in the author's order, short arrays on one line, the odd indentation. Rewriting the whole file for a
one-key change made the operator's `git diff` show every line; so an existing file is edited as TEXT:

- a value that changed is replaced in its own span; a container that changed is entered, so every
  unchanged member keeps its bytes (and the existing keys their order);
- a key added goes after the object's last member, with the siblings' indentation; an item appended to
  an array goes after its last item; a key (or an item) removed goes with its comma and, where it had a
  line of its own, that line;
- a new value is written in the surrounding style: on one line where the old value was on one line and
  the new one is a scalar or a short list of scalars, else over several lines with the file's indent unit
  at the member's indentation; the file's line endings (CRLF stays CRLF) and whatever follows the value
  (a trailing newline, or none) are kept.

The result must parse to exactly the config meant (codec.same_value: 1, 1.0 and true are three values); when
it does not, or the text cannot be read reliably (not JSON, a duplicate key: which one counts?), the file
is rewritten whole — in its indent unit and its keys' order where they are known.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from app.graph.codec import json_kind, same_value

DEFAULT_UNIT = "  "
WIDTH = 100  # a value stays on one line when its line fits this (or the old line's width, if wider)

_WS = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"')
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_LITERALS = {"true": True, "false": False, "null": None}
_INDENTED = re.compile(r"^([ \t]+)\S", re.MULTILINE)


class Unreadable(ValueError):
    """The text is not JSON this editor can change reliably (a syntax error, a duplicate key)."""


# ------------------------------------------------------------------------------------------ values
# ----------------------------------------------------------------------------------------- tokens
@dataclass
class Node:
    """One JSON value in the text: its span, what it says, and (a container) its entries."""

    start: int
    end: int
    value: object
    kind: str  # "object", "array", "scalar"
    entries: list[Entry] = field(default_factory=list)


@dataclass
class Entry:
    """A member of an object (key and value) or an item of an array, and the comma after it, if any."""

    start: int  # the key's first character (a member), the value's (an item)
    node: Node
    key: str | None = None
    key_end: int | None = None
    comma: int | None = None


class _Reader:
    def __init__(self, text: str):
        self.text = text

    def skip(self, at: int) -> int:
        return _WS.match(self.text, at).end()

    def expect(self, at: int, char: str) -> int:
        if self.text.startswith(char, at):
            return at + 1
        raise Unreadable(f"expected {char!r} at offset {at}")

    def value(self, at: int) -> Node:
        char = self.text[at : at + 1]
        if char == "{":
            return self.container(at, "object", "}")
        if char == "[":
            return self.container(at, "array", "]")
        if char == '"':
            end = self.string_end(at)
            return Node(at, end, json.loads(self.text[at:end]), "scalar")
        for word, meaning in _LITERALS.items():
            if self.text.startswith(word, at):
                return Node(at, at + len(word), meaning, "scalar")
        found = _NUMBER.match(self.text, at)
        if found is None:
            raise Unreadable(f"no JSON value at offset {at}")
        number = json.loads(found.group())
        if isinstance(number, float) and not math.isfinite(number):
            raise Unreadable(f"{found.group()} is no finite number")
        return Node(at, found.end(), number, "scalar")

    def string_end(self, at: int) -> int:
        found = _STRING.match(self.text, at)
        if found is None:
            raise Unreadable(f"an unterminated or malformed string at offset {at}")
        return found.end()

    def container(self, at: int, kind: str, close: str) -> Node:
        node = Node(at, at, {} if kind == "object" else [], kind)
        at = self.skip(at + 1)
        if self.text.startswith(close, at):
            node.end = at + 1
            return node
        while True:
            entry = self.member(at) if kind == "object" else Entry(at, self.value(at))
            self.record(node, entry)
            at = self.skip(entry.node.end)
            if self.text.startswith(close, at):
                node.end = at + 1
                return node
            entry.comma = at
            at = self.skip(self.expect(at, ","))

    def member(self, at: int) -> Entry:
        key_end = self.string_end(at) if self.text.startswith('"', at) else None
        if key_end is None:
            raise Unreadable(f"expected a key at offset {at}")
        colon = self.skip(key_end)
        node = self.value(self.skip(self.expect(colon, ":")))
        return Entry(at, node, json.loads(self.text[at:key_end]), key_end)

    @staticmethod
    def record(node: Node, entry: Entry) -> None:
        if node.kind == "array":
            node.value.append(entry.node.value)
        elif entry.key in node.value:
            raise Unreadable(f"duplicate key {entry.key!r}: which one counts is the reader's guess")
        else:
            node.value[entry.key] = entry.node.value
        node.entries.append(entry)


def parse(text: str) -> Node:
    """The text's one JSON value with every span (Unreadable: not strict JSON, or a duplicate key)."""
    reader = _Reader(text)
    try:
        node = reader.value(reader.skip(0))
    except RecursionError:
        raise Unreadable("nested too deep") from None
    if reader.skip(node.end) != len(text):
        raise Unreadable(f"text after the value at offset {node.end}")
    return node


# ------------------------------------------------------------------------------------------ style
@dataclass
class Style:
    """How the file writes itself: its line ending, its indent unit, whether it puts short arrays on
    one line."""

    newline: str = "\n"
    unit: str = DEFAULT_UNIT
    inline_lists: bool = False


def _line_start(text: str, at: int) -> int:
    return text.rfind("\n", 0, at) + 1


def _indent_at(text: str, at: int) -> str:
    """The indentation of the line `at` is on: its leading whitespace when `at` is the line's first
    token, else the column of `at` in spaces."""
    before = text[_line_start(text, at) : at]
    return before if before.strip(" \t") == "" else " " * len(before)


def _leading(text: str, at: int) -> str:
    line = text[_line_start(text, at) : at]
    return line[: len(line) - len(line.lstrip(" \t"))]


def _inline(text: str, node: Node) -> bool:
    return "\n" not in text[node.start : node.end]


def _walk(node: Node):
    yield node
    for entry in node.entries:
        yield from _walk(entry.node)


def detect_style(text: str, root: Node | None) -> Style:
    """The file's line ending, its indent unit (the step most of its nested levels take; two spaces when
    none tells) and whether it writes non-empty arrays on one line."""
    newline = "\r\n" if "\r\n" in text else "\n"
    steps: Counter[str] = Counter()
    inline_lists = False
    for node in _walk(root) if root is not None else ():
        if not node.entries:
            continue
        if _inline(text, node):
            inline_lists = inline_lists or node.kind == "array"
            continue
        outer, inner = _leading(text, node.start), _indent_at(text, node.entries[0].start)
        if len(inner) > len(outer) and inner.startswith(outer):
            steps[inner[len(outer) :]] += 1
    if steps:
        unit = steps.most_common(1)[0][0]
    else:
        found = _INDENTED.search(text) if root is None else None
        unit = found.group(1) if found else DEFAULT_UNIT
    return Style(newline, unit, inline_lists)


# --------------------------------------------------------------------------------------- rendering
def _scalar(value) -> bool:
    return json_kind(value) not in ("object", "array")


def _one_line(value, padded: bool = False) -> str:
    text = json.dumps(value, ensure_ascii=False)
    if padded and len(text) > 2 and not _scalar(value):
        return f"{text[0]} {text[1:-1]} {text[-1]}"
    return text


def _many_lines(value, indent: str, style: Style) -> str:
    return json.dumps(value, indent=style.unit, ensure_ascii=False).replace("\n", style.newline + indent)


def _fits(text: str, at: int, rendered: str, old_end: int | None = None) -> bool:
    column = at - _line_start(text, at)
    old_width = 0
    if old_end is not None:
        line_end = text.find("\n", old_end)
        old_width = (len(text) if line_end < 0 else line_end) - _line_start(text, at)
    return column + len(rendered) <= max(WIDTH, old_width)


def _render_new(value, indent: str, style: Style) -> str:
    """A value where there was none (an added key or item): a scalar or an empty container as itself, a
    short list of scalars on one line where the file writes them so, anything else over several lines."""
    if _scalar(value) or not value:
        return _one_line(value)
    if style.inline_lists and json_kind(value) == "array" and all(map(_scalar, value)):
        rendered = _one_line(value)
        if len(indent) + len(rendered) <= WIDTH:
            return rendered
    return _many_lines(value, indent, style)


def _render_over(text: str, node: Node, value, style: Style, in_line: bool = False) -> str:
    """A value in place of `node`: one line where the old one was on one line and the new one is a
    scalar, a short list of scalars, or (where the author wrote a container on one line) a short
    container of scalars; else several lines at the member's indentation. Inside a container written on
    one line (`in_line`) it is one line whatever it is: the author's line is not broken."""
    if _scalar(value) or not value or in_line:
        return _one_line(value)
    inline_container = node.kind != "scalar" and bool(node.entries) and _inline(text, node)
    flat = all(map(_scalar, value.values() if json_kind(value) == "object" else value))
    if _inline(text, node) and flat and (json_kind(value) == "array" or inline_container):
        padded = inline_container and text[node.start + 1] == " "
        rendered = _one_line(value, padded)
        if _fits(text, node.start, rendered, node.end):
            return rendered
    return _many_lines(value, _leading(text, node.start), style)


# ----------------------------------------------------------------------------------------- editing
Edit = tuple[int, int, str]  # replace text[start:end] with the string


class _Editor:
    def __init__(self, text: str, style: Style):
        self.text = text
        self.style = style
        self.edits: list[Edit] = []

    def change(self, node: Node, value, in_line: bool = False) -> None:
        """The edits that make `node` say `value` (`in_line`: its container is written on one line)."""
        if same_value(node.value, value):
            return
        kind = json_kind(value)
        if node.kind == "object" and kind == "object" and any(e.key in value for e in node.entries):
            self.change_object(node, value)
        elif node.kind == "array" and kind == "array" and node.entries and value:
            self.change_array(node, value, in_line)
        else:
            self.replace(node, value, in_line)

    def replace(self, node: Node, value, in_line: bool = False) -> None:
        self.edits.append((node.start, node.end, _render_over(self.text, node, value, self.style, in_line)))

    def change_object(self, node: Node, value: Mapping) -> None:
        present, in_line = {e.key for e in node.entries}, _inline(self.text, node)
        for entry in node.entries:
            if entry.key in value:
                self.change(entry.node, value[entry.key], in_line)
        self.remove(node, [i for i, e in enumerate(node.entries) if e.key not in value])
        added = [(k, v) for k, v in value.items() if k not in present]
        if added:
            last = max(i for i, e in enumerate(node.entries) if e.key in value)
            self.append(node, last, added)

    def change_array(self, node: Node, value: list, in_line: bool) -> None:
        old = [e.node.value for e in node.entries]
        if len(value) == len(old):
            for entry, item in zip(node.entries, value, strict=True):
                self.change(entry.node, item, _inline(self.text, node))
        elif len(value) > len(old) and all(same_value(a, b) for a, b in zip(old, value, strict=False)):
            self.append(node, len(old) - 1, [(None, item) for item in value[len(old) :]])
        elif (kept := _subsequence(value, old)) is not None:
            self.remove(node, [i for i in range(len(old)) if i not in kept])
        else:
            self.replace(node, value, in_line)

    def remove(self, node: Node, gone: list[int]) -> None:
        """Remove entries (never all: a kept one anchors the rest): a run at the end goes from the end of
        the last kept value (its comma with it); any other run goes with its lines where it has lines of
        its own, else from its first entry to the next kept one."""
        entries, gone_set = node.entries, set(gone)
        tail = len(entries)
        while tail > 0 and tail - 1 in gone_set:
            tail -= 1
        if tail < len(entries):
            self.edits.append((entries[tail - 1].node.end, entries[-1].node.end, ""))
        i = 0
        while i < tail:
            if i not in gone_set:
                i += 1
                continue
            j = i
            while j + 1 in gone_set:
                j += 1
            self.edits.append(self._run_span(entries[i], entries[j], entries[j + 1]))
            i = j + 1

    def _run_span(self, first: Entry, last: Entry, following: Entry) -> Edit:
        text = self.text
        line_end = text.find("\n", last.comma)
        own_lines = (
            text[_line_start(text, first.start) : first.start].strip(" \t") == ""
            and line_end >= 0
            and text[last.comma + 1 : line_end].strip(" \t\r") == ""
            and line_end < following.start
        )
        if own_lines:
            return (_line_start(text, first.start), line_end + 1, "")
        return (first.start, following.start, "")

    def append(self, node: Node, after: int, added: list[tuple[str | None, object]]) -> None:
        """Insert entries after entry `after`: on lines of their own at its indentation in a container
        written over several lines, on its line (spaced as its entries are) in one written on one."""
        text, style = self.text, self.style
        anchor = node.entries[after]
        if _inline(text, node):
            second = node.entries[1] if len(node.entries) > 1 else None
            gap = text[node.entries[0].comma + 1 : second.start] if second is not None else " "
            separator = "," + (gap if "\n" not in gap else " ")
            rendered = [_one_line(v) for _, v in added]
        else:
            indent = _indent_at(text, anchor.start)
            separator = "," + style.newline + indent
            rendered = [_render_new(v, indent, style) for _, v in added]
        colon = ": "
        if anchor.key_end is not None and "\n" not in text[anchor.key_end : anchor.node.start]:
            colon = text[anchor.key_end : anchor.node.start]
        parts = [
            (json.dumps(k, ensure_ascii=False) + colon if k is not None else "") + r
            for (k, _), r in zip(added, rendered, strict=True)
        ]
        self.edits.append((anchor.node.end, anchor.node.end, "".join(separator + p for p in parts)))

    def result(self) -> str:
        text = self.text
        # from the end backwards; at one offset a removal before an insertion there (the insertion lands
        # where the removed text began), both before a replacement ending there
        for start, end, new in sorted(self.edits, key=lambda e: (e[0], e[1]), reverse=True):
            text = text[:start] + new + text[end:]
        return text


def _subsequence(value: list, old: list) -> set[int] | None:
    """The indexes of `old` that `value` keeps, when `value` is `old` with items removed, else None."""
    kept, i = set(), 0
    for item in value:
        while i < len(old) and not same_value(old[i], item):
            i += 1
        if i == len(old):
            return None
        kept.add(i)
        i += 1
    return kept


# ---------------------------------------------------------------------------------------- rewriting
def _ordered_like(value, old):
    """`value` with its objects' keys in `old`'s order where `old` has them, new keys after."""
    if json_kind(value) == "object":
        before = old if json_kind(old) == "object" else {}
        keys = [k for k in before if k in value] + [k for k in value if k not in before]
        return {k: _ordered_like(value[k], before.get(k)) for k in keys}
    if json_kind(value) == "array":
        before = old if json_kind(old) == "array" else []
        return [_ordered_like(v, before[i] if i < len(before) else None) for i, v in enumerate(value)]
    return value


def rewrite(text: str, value, root: Node | None = None) -> str:
    """The whole file again, saying `value`: in the file's indent unit and line ending, its keys in the
    order the file had them (where it could be read), ending in a newline where the file did."""
    style = detect_style(text, root)
    if root is not None:
        old = root.value  # read already, with its keys' order
    else:
        try:
            old = json.loads(text)
        except (ValueError, RecursionError):
            old = None
    body = _many_lines(_ordered_like(value, old), "", style)
    ends_in_newline = "\n" in text[len(text.rstrip()) :] or not text.strip()
    return body + (style.newline if ends_in_newline else "")


def keep_layout(text: str, value) -> str:
    """The text of an existing file changed to say `value`, as little as it takes (see the module)."""
    try:
        root = parse(text)
    except Unreadable:
        return rewrite(text, value)
    editor = _Editor(text, detect_style(text, root))
    editor.change(root, value)
    edited = editor.result()
    try:
        if same_value(parse(edited).value, value):
            return edited
    except Unreadable:
        pass
    return rewrite(text, value, root)
