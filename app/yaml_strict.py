"""The YAML loader every file or text an operator writes is read with: PyYAML's safe loader (libyaml's
parser when available: ~10x faster) that refuses a duplicated key.

Why: PyYAML silently keeps the last of two equal keys, so a seed listing `config:` twice, or a change file
setting `az_count` twice, meant half of what its author wrote. A duplicate is a YAMLError naming the key
and the line of its first use, which each reader reports as it reports bad YAML. Misread numbers (`017`,
`1:30`) are app.yaml_misreads' part; readers use both (yaml_misreads.load(text, StrictLoader)). The file's
text itself comes from read_text, which turns every way a file cannot be read into one sentence."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StrictLoader(_Base):
    """SafeLoader that refuses duplicate keys (PyYAML silently keeps the last one)."""


MERGE_TAG = "tag:yaml.org,2002:merge"


def _construct_mapping(loader, node, deep=False):
    """A mapping whose own keys are each written once. A key merged in (`<<: *base`) and written again
    beside it is YAML's override, not a duplicate: flatten_mapping puts the merged keys first, and the
    mapping keeps the last, its own."""
    own = sum(1 for key_node, _value in node.value if key_node.tag != MERGE_TAG)
    loader.flatten_mapping(node)
    seen: dict = {}
    for key_node, _value in node.value[len(node.value) - own :]:
        key = loader.construct_object(key_node, deep=deep)
        try:
            first = seen.get(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, f"unhashable key ({key_node.tag})", key_node.start_mark
            ) from None
        if first is not None:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {first})", key_node.start_mark
            )
        seen[key] = key_node.start_mark.line + 1
    return yaml.constructor.SafeConstructor.construct_mapping(loader, node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


SHOWN_LINE = 200  # the longest line of the text a YAML error points into that is drawn with its caret


def pointed(exc: yaml.YAMLError, text: str) -> str:
    """A YAML error in text a person typed, for them to read: PyYAML's message, one line per part as it
    writes them (`while parsing a block mapping` / `at line 1, column 1` / `did not find expected key` / …),
    then the line it stopped at with a caret under the column. libyaml's marks carry no text to draw
    that from (PyYAML's own parser drew it), and "<unicode string>" names no file: the text is the form's."""
    said = str(exc).replace('in "<unicode string>", ', "at ")[:300]  # a duplicated key is quoted whole
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    lines = text.splitlines()
    if mark is None or "^" in said or not 0 <= mark.line < len(lines) or mark.column > SHOWN_LINE:
        return said
    return f"{said}\n{lines[mark.line][:SHOWN_LINE]}\n{' ' * mark.column}^"


class UnreadableFile(ValueError):
    """A file an operator named cannot be read as text; the message names the file and what to do."""


def read_text(path: Path | str) -> str:
    """The UTF-8 text of a file an operator wrote (`-`: standard input). Each reader refused a missing
    file, a directory or a Latin-1 file with a Python traceback (FileNotFoundError, IsADirectoryError,
    UnicodeDecodeError); here each is UnreadableFile naming the file, which the reader reports as it
    reports bad YAML."""
    try:
        data = sys.stdin.buffer.read() if str(path) == "-" else Path(path).read_bytes()
    except IsADirectoryError:
        raise UnreadableFile(f"{path}: is a directory: give a file") from None
    except OSError as exc:
        raise UnreadableFile(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UnreadableFile(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}): save it as UTF-8"
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")  # as a text-mode read has it (universal newlines)
