"""Numbers, dates and booleans YAML 1.1 reads where its author most likely wrote something else.

PyYAML, which reads every YAML file Karma takes (rule files, seed files), implements YAML 1.1: an
unquoted ``017`` is the octal number 15, ``1:30`` the base-60 number 90, ``0x1F`` 31, ``0b101`` 5 and
``1_000`` 1000 (and ``1.0e-400``, too small for a float, 0.0; ``.nan``, ``.inf`` and ``1.0e+400`` NaN and
infinity, which JSON has no number for: app.json_strict refuses them in JSON). JSON, YAML 1.2 and a reader's eye see
``17``, the text ``1:30``, or text — so a rule's
``eq: 017`` or a seed's ``port: 017`` would silently mean a value its author did not write. A loader
refuses each such scalar instead, with where it is, what YAML read it as and how to write either the
number or the text (quoted). Plain decimal numbers (``17``, ``1.5``, ``-3``, ``1.0e+5``) are read as
written and pass.

Likewise an unquoted ``on``, ``off``, ``yes``, ``no`` (``On``, ``YES``…) is the boolean to YAML 1.1 and the
word to JSON, YAML 1.2 and the eye. Where a reader knows what a value must be — a component's config has
its type's JSON Schema — a boolean the schema refuses (``mode: on`` for a string) is refused naming the
field and how to write the text; one only a boolean fits (``enabled: yes``) stands, as meant; one where
either fits is refused with both ways out (misread_booleans). The rule loader judges its own
(app.policy.literals), at the same places: booleans_read.

An unquoted ``2026-12-24`` (``2026-12-24T10:00:00Z``) is a date (a date-time) to YAML 1.1, a type JSON has
not: as data it reached json.dumps as a Python date. It is refused wherever a reader does not mean a time
(misread_dates).

Only PyYAML below it, so every reader of a YAML file or text shares it: rules (app.policy.loader), seeds
(app.seeding), component types (app.components.loader), rule tests (app.ruletools.cases), the
notifications file (app.notifications.subscriptions), a change file (`karma request -f`,
app.client.body) and a change typed in the console (app.console.work).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from collections.abc import Callable
from typing import Any

import yaml

_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_BOOL_TAG = "tag:yaml.org,2002:bool"


@dataclass(frozen=True)
class MisreadNumber:
    """One unquoted scalar YAML 1.1 read as a number through a form that means something else elsewhere:
    `path` the keys and list indexes from the document's top, `text` as written, `value` as read."""

    path: tuple[str | int, ...]
    text: str
    value: int | float
    form: str

    def problem(self) -> str:
        """What YAML read, and how to write what the author meant: the number, or the text quoted — the
        text first for a base-60 form, which is most often a time of day or a duration."""
        text = f"quote it ('{self.text}') to mean the text"
        if isinstance(self.value, float) and not math.isfinite(self.value):  # no number to write: JSON has none
            return f"YAML reads {self.text} (unquoted) as {self.form}: {text}, or write null for no value"
        number = f"write {self.value!r} to mean that number"
        means = f"{text}, or {number}" if ":" in self.text else f"{number}, or {text}"
        return f"YAML reads {self.text} (unquoted) as {self.form}: {means}"


def _form(text: str, value: int | float) -> str | None:
    """How YAML 1.1 came to read `text` as `value`, when it is a form other readers read otherwise."""
    digits = text.lstrip("+-")
    if isinstance(value, float) and not math.isfinite(value):  # .nan, .inf, 1.0e+400: JSON has no such number
        said = "NaN" if math.isnan(value) else f"{'-' if value < 0 else ''}infinity"
        beyond = " (beyond a 64-bit float's range)" if digits[:1] != "." else ""
        return f"{said}{beyond}, which JSON has no number for"
    if ":" in digits:
        return f"the base-60 (sexagesimal) number {value!r}"
    if digits[:2] == "0b":
        return f"the binary number {value!r}"
    if digits[:2] == "0x":
        return f"the hexadecimal number {value!r}"
    if isinstance(value, int) and len(digits) > 1 and digits[0] == "0":
        return f"the octal number {value!r} (a leading zero makes it octal)"
    if "_" in digits:
        return f"the number {value!r} (YAML 1.1 drops the underscores)"
    if value == 0 and any(c in "123456789" for c in digits.lower().split("e")[0]):
        return f"the number {value!r} (too small for a 64-bit float, it underflows)"
    return None


def _misread(node: yaml.ScalarNode, path: tuple) -> MisreadNumber | None:
    if node.tag not in _NUMBER_TAGS or node.style:  # quoted or block text: read as written
        return None
    value = yaml.safe_load(node.value)  # the scalar alone resolves as it did in place (plain, untagged)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    form = _form(node.value, value)
    return MisreadNumber(path, node.value, value, form) if form else None


def _plain_scalars(node: yaml.Node | None):
    """(scalar node, path) for every scalar (value or key) under `node`, in document order; an alias is
    walked once. A key's path ends in its own text."""
    seen: set[int] = set()

    def walk(current, path: tuple):
        if current is None or id(current) in seen:
            return
        seen.add(id(current))
        if isinstance(current, yaml.ScalarNode):
            yield current, path
        elif isinstance(current, yaml.SequenceNode):
            for index, item in enumerate(current.value):
                yield from walk(item, (*path, index))
        elif isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else "?"
                if isinstance(key, yaml.ScalarNode):
                    yield key, (*path, name)
                yield from walk(value, (*path, name))

    yield from walk(node, ())


def misread_numbers(node: yaml.Node | None) -> list[MisreadNumber]:
    """Every unquoted scalar (value or key) under `node` that YAML 1.1 read as a number through an
    octal, hexadecimal, binary, underscore or base-60 form, in document order. An alias is walked once."""
    return [hit for scalar, path in _plain_scalars(node) if (hit := _misread(scalar, path))]


@dataclass(frozen=True)
class BooleanWord:
    """One unquoted scalar YAML 1.1 read as a boolean: `path` from the document's top, `text` as written,
    `value` as read, `key` when it is a mapping's key (``on: 1``). PyYAML's resolver reads exactly
    ``yes no on off true false`` each as written, capitalised or in capitals (``On``, ``ON``; not ``oN``)
    — never ``y`` or ``n``, which it reads as text (tests/unit/test_yaml_booleans.py holds it to that).
    `ambiguous`: one of yes/no/on/off, which JSON, YAML 1.2 and a reader's eye read as the word; the
    true/false spellings are booleans in YAML 1.2 too."""

    path: tuple[str | int, ...]
    text: str
    value: bool
    key: bool = False

    @property
    def ambiguous(self) -> bool:
        return self.text.lower() in _YAML_11_ONLY_BOOLEANS

    def problem(self, consequence: str, ways: tuple[str, ...] = ("boolean", "text")) -> str:
        """What YAML made of the word, what follows from it here, and the `ways` to write what was meant
        that fit here: the boolean as JSON and YAML 1.2 write it, the text quoted (none: the field's own
        refusal says what it takes)."""
        shown = "true" if self.value else "false"
        said = {"boolean": f"write {shown} to mean the boolean", "text": f"quote it ('{self.text}') to mean the text"}
        written = ", or ".join(said[way] for way in ways)
        return f"YAML reads {self.text} (unquoted) as the boolean {shown}, {consequence}" + (
            f": {written}" if written else ""
        )


_YAML_11_ONLY_BOOLEANS = ("yes", "no", "on", "off")


def _read_as_boolean(node: yaml.Node) -> bool:
    """An unquoted scalar YAML 1.1 resolved as a boolean."""
    return isinstance(node, yaml.ScalarNode) and node.tag == _BOOL_TAG and not node.style


def _word(scalar: yaml.ScalarNode, path: tuple, key: bool = False) -> BooleanWord:
    """The BooleanWord of such a scalar at `path`: the boolean YAML read it as."""
    return BooleanWord(path, scalar.value, scalar.value.lower() in ("yes", "on", "true"), key)


# places reported at most: aliases of aliases can multiply them (a hostile text: 10^8 from a few lines) — the
# larger of this and half the text's length, which no document's own places reach (each is a word and a
# line): a large seed's booleans are all judged, a billion laughs stops
MAX_BOOLEAN_PLACES = 10_000


def most_places(text: str) -> int:
    """How many places of `text`'s document booleans_read reports at most: MAX_BOOLEAN_PLACES or half its
    length, whichever is larger."""
    return max(MAX_BOOLEAN_PLACES, len(text) // 2)


def booleans_read(node: yaml.Node | None, most: int = MAX_BOOLEAN_PLACES) -> list[BooleanWord]:
    """Every place the document holds an unquoted scalar YAML read as a boolean (any spelling, keys too),
    by the path the data has it at (_places: an alias at each place it is used, a merge key's values where
    they merge), at most `most` of them (most_places)."""
    return [_word(scalar, path, key) for scalar, path, key in _places(node, _read_as_boolean, most)]


def _places(node: yaml.Node | None, hit: Callable[[yaml.Node], bool], most: int) -> list[tuple]:
    """(scalar, path, is a key) for every place the document holds a scalar `hit` picks, by the path the
    data has it at: an alias at each place it is used (`b: *x` is `b` as much as the anchor's place) and a
    merge key's (`<<: *base`) values at the mapping they merge into (the constructor flattened them in
    place: compose() builds the data before the tree is walked). Only subtrees holding one are walked, so
    a text whose aliases multiply its places costs its places, at most `most` of them."""
    found: list[tuple] = []
    holds: dict[int, bool] = {}

    def holds_one(current: yaml.Node) -> bool:
        if isinstance(current, yaml.ScalarNode):
            return hit(current)
        if id(current) not in holds:
            holds[id(current)] = False  # a recursive alias adds nothing new
            pairs = current.value if isinstance(current, yaml.SequenceNode) else [n for p in current.value for n in p]
            holds[id(current)] = any(holds_one(child) for child in pairs)  # each collection once: memoised
        return holds[id(current)]

    def walk(current: yaml.Node, path: tuple, inside: frozenset[int]):
        if len(found) >= most or id(current) in inside or not holds_one(current):
            return
        if isinstance(current, yaml.ScalarNode):
            found.append((current, path, False))
            return
        inside = inside | {id(current)}
        if isinstance(current, yaml.SequenceNode):
            for index, item in enumerate(current.value):
                walk(item, (*path, index), inside)
            return
        for key, value in _kept(current.value):
            name = key.value if isinstance(key, yaml.ScalarNode) else "?"
            if hit(key) and len(found) < most:
                found.append((key, (*path, name), True))
            walk(value, (*path, name), inside)

    if node is not None:
        walk(node, (), frozenset())
    return found


_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


@dataclass(frozen=True)
class MisreadDate:
    """An unquoted scalar YAML 1.1 read as a date or a date-time (``2026-12-24``, ``2026-12-24T10:00:00Z``):
    JSON has no such type, and YAML 1.2 reads the text. As data (a config, a field) it reached json.dumps
    as a Python date; it stands only where a reader means a time (a rule-test's `at`, a rule's
    `time.date`). `path` and problem() as a MisreadNumber's."""

    path: tuple[str | int, ...]
    text: str

    def problem(self) -> str:
        what = "a date" if len(self.text.strip()) <= len("2026-12-24") else "a date-time"
        quote = f"quote it ('{self.text}') to mean the text"
        return f"YAML reads {self.text} (unquoted) as {what}, which JSON has no type for: {quote}"


def _read_as_date(node: yaml.Node) -> bool:
    """An unquoted scalar YAML 1.1 resolved as a timestamp."""
    return isinstance(node, yaml.ScalarNode) and node.tag == _TIMESTAMP_TAG and not node.style


def misread_dates(
    node: yaml.Node | None, meant: Callable[[tuple], bool] | None = None, most: int = MAX_BOOLEAN_PLACES
) -> list[MisreadDate]:
    """Every place the document holds an unquoted date or date-time YAML read (keys too), but those whose
    path `meant` says is a time (none by default): judged at each place an alias lands (_places)."""
    return [
        MisreadDate(path, scalar.value)
        for scalar, path, key in _places(node, _read_as_date, most)
        if key or meant is None or not meant(path)
    ]


@dataclass(frozen=True)
class KeptLineBreak:
    """A block text (``>`` or ``|``) whose last line break YAML keeps, as it does by default ("clip"):
    ``reason: >`` then ``emergency`` is ``'emergency\\n'``. Where a value is compared with one-line texts (a
    rule's condition) that is most often not what its author meant; ``>-``/``|-`` drop it, ``|+`` says it."""

    path: tuple[str | int, ...]
    value: str
    style: str

    def problem(self) -> str:
        bare = self.value.rstrip("\n")
        shown, bare_shown = (repr(v if len(v) <= 60 else v[:57] + "...") for v in (self.value, bare))
        return (
            f"YAML keeps the line break a block text ({self.style}) ends with, so this is {shown}, which the text "
            f"{bare_shown} never equals: write {self.style}- to mean {bare_shown}, or quote the text"
        )


def kept_line_breaks(node: yaml.Node | None, text: str, most: int = MAX_BOOLEAN_PLACES) -> list[KeptLineBreak]:
    """Every place the document holds a block text ending in the line break YAML's default chomping kept
    (not an explicit ``|+``/``>+``, whose header `text` shows), at each place an alias lands (_places)."""

    def kept(node: yaml.Node) -> bool:
        if not isinstance(node, yaml.ScalarNode) or node.style not in ("|", ">") or not node.value.endswith("\n"):
            return False
        header = text[node.start_mark.index :].split("\n", 1)[0]
        return "+" not in header if header[:1] == node.style else True

    return [KeptLineBreak(path, scalar.value, scalar.style) for scalar, path, _key in _places(node, kept, most)]


def merge_overrides(node: yaml.Node | None, most: int = MAX_BOOLEAN_PLACES) -> list[tuple]:
    """The path of every key a mapping writes again over one its merge key (``<<: *base``) brought in, at
    each place the mapping is (an alias's too: _places): YAML's merge is shallow, so the mapping's own value
    replaces the merged one whole. (compose() flattened the merge: the merged pairs come first and a key
    repeated after them is the mapping's own; the strict loader refuses any other repeat.)"""
    overriding = _overriding_keys(node)
    if not overriding:
        return []
    return [path for _key, path, _is_key in _places(node, lambda n: id(n) in overriding, most)]


def _overriding_keys(node: yaml.Node | None) -> set[int]:
    """The key nodes (ids) that repeat a key earlier in their own mapping: each collection node once,
    whatever number of places its aliases put it at (the places are _places' to find)."""
    found: set[int] = set()
    seen_nodes: set[int] = set()
    stack = [node] if node is not None else []
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.ScalarNode) or id(current) in seen_nodes:
            continue
        seen_nodes.add(id(current))
        if isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
            continue
        keys: set = set()
        for key, value in current.value:
            if isinstance(key, yaml.ScalarNode):
                if (key.tag, key.value) in keys:
                    found.add(id(key))
                keys.add((key.tag, key.value))
            stack.append(value)
    return found


def _kept(pairs: list[tuple[yaml.Node, yaml.Node]]) -> list[tuple[yaml.Node, yaml.Node]]:
    """A mapping's pairs as its data keeps them: a key merged in (`<<: *base`, flattened first) and written
    again beside it is overridden by the later one (the strict loader refuses any other repeat)."""
    last = {(k.tag, k.value): i for i, (k, _v) in enumerate(pairs) if isinstance(k, yaml.ScalarNode)}
    return [
        (k, v) for i, (k, v) in enumerate(pairs) if not isinstance(k, yaml.ScalarNode) or last[(k.tag, k.value)] == i
    ]


Validate = Callable[[Any], dict[str, list[str]]]  # a value → {field path: messages} (ComponentType.validate_config)


@dataclass(frozen=True)
class MisreadBoolean:
    """A boolean YAML read where the author most likely meant something else (misread_booleans); as a
    MisreadNumber, `path` and problem() for problems() and each reader's own wording of a place."""

    path: tuple[str | int, ...]
    said: str

    def problem(self) -> str:
        return self.said


def misread_booleans(words: list[BooleanWord], doc: Any, typed: dict[tuple, Validate | None]) -> list[MisreadBoolean]:
    """Of the booleans YAML read (`words`: booleans_read), those that cannot be what the author meant.
    `typed`: where the document holds a value a schema validates (a component's config: path → its
    type's validate_config), or any value (None: no schema, as `assume`). Anywhere else the document
    holds Karma's own fields, all of them text (component, reason, on_blocked, environment, …), and a key
    is text: a boolean read there is refused, to be quoted. In a typed value, by what the schema says of the field:

    - it refuses the boolean: refused, naming the field and what the schema said (``mode: on`` for a
      string or an enum of strings was "True is not of type 'string'", which does not say why);
    - it takes the boolean and not the text: taken as written (``enabled: yes`` is true, as meant);
    - it takes either (no schema, or a field of any type): a yes/no/on/off is refused with both ways out,
      because JSON, YAML 1.2 and the eye read the word and YAML 1.1 the boolean, and a silent guess either
      way stores a value its author may not have meant; a true/false spelling is the boolean in YAML 1.2
      too, and stands."""
    out: list[MisreadBoolean] = []
    read_errors: dict[tuple, dict[str, list[str]]] = {}
    for word in words:
        said = _boolean_problem(word, doc, typed, read_errors)
        if said:
            out.append(MisreadBoolean(word.path, said))
    return out


def _boolean_problem(word: BooleanWord, doc: Any, typed: dict, read_errors: dict) -> str | None:
    # the longest of the word's own path prefixes that is a typed section: a lookup per prefix (a path has a
    # few parts), never a scan of `typed` (a seed's has two sections a component: 3,000 components with a
    # boolean each took 3.3 s when each word sorted them all)
    section = next((word.path[:n] for n in range(len(word.path), -1, -1) if word.path[:n] in typed), None)
    if word.key:
        return word.problem("and a key is text", ("text",))
    if section is None:
        return word.problem("and this field takes text", ("text",))
    field, validate = word.path[len(section) :], typed[section]
    value = _at(doc, section)
    if not field or value is _MISSING:  # the section itself (`config: yes`): its own refusal says it
        return None
    if validate is None:
        return word.problem("and this value may be either") if word.ambiguous else None
    if section not in read_errors:
        read_errors[section] = validate(value)
    name = ".".join(str(p) for p in field)  # as app.components.schema names a field
    refused = read_errors[section].get(name)
    if not refused and not word.ambiguous:  # `enabled: true`, `enabled: True`: the boolean as written
        return None
    text_refused = validate(_replaced(value, field, word.text)).get(name)
    if refused and text_refused:
        return word.problem(f"which {name} does not take, nor the text '{word.text}' ({'; '.join(refused)})", ())
    if refused:
        return word.problem(f"which {name} does not take ({'; '.join(refused)})", ("text",))
    if not text_refused:  # the text is as good: either may be meant
        return word.problem(f"and {name} takes either")
    return None  # `enabled: yes` where only a boolean fits: true, as meant


_MISSING = object()


def _at(doc: Any, path: tuple) -> Any:
    """The value at `path` in the data (_MISSING when the path leaves it: a key YAML read as a boolean)."""
    for part in path:
        try:
            doc = doc[part]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return doc


def _replaced(value: Any, path: tuple, new: Any) -> Any:
    """A copy of `value` with `path` set to `new`; what is not on the path is shared, not copied."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, list):
        return [_replaced(v, rest, new) if i == head else v for i, v in enumerate(value)]
    return {k: _replaced(v, rest, new) if k == head else v for k, v in value.items()}


def compose(text: str, loader: type) -> tuple[object, yaml.Node | None]:
    """The document in `text` read with `loader` (a SafeLoader class), and the node tree it was built
    from (for misread_numbers / booleans_read): one parse (yaml.YAMLError as yaml.load raises)."""
    reader = loader(text)
    try:
        node = reader.get_single_node()
        if node is not None and "*" in text:  # no alias without a `*`: a document as written is its size
            _bounded(node, max(MAX_EXPANDED, 16 * len(text)))
        data = reader.construct_document(node) if node is not None else None
    finally:
        reader.dispose()
    return data, node


# values a document may expand to through its aliases: a billion laughs (nine levels of ten aliases: 10^9
# values from 300 bytes) is read as shared references, and whatever walks the data next expands it. The
# larger of this and 16 values a character of the text, which sharing as documents do (a base that
# thousands of components merge) stays well below.
MAX_EXPANDED = 1_000_000


def _bounded(root: yaml.Node, most: int) -> None:
    """Raise a YAML error when the data `root` builds holds more than `most` values, each alias counted at
    each place it is used: each node's size once (memoised, linear in the tree, no recursion), a recursive
    alias counted once where it recurs."""
    size: dict[int, int] = {}
    open_: set[int] = set()  # nodes whose parts are being sized: the ancestors of the one at hand
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        current, parts_sized = stack.pop()
        if id(current) in size:
            continue
        if isinstance(current, yaml.ScalarNode):
            size[id(current)] = 1
            continue
        parts = current.value if isinstance(current, yaml.SequenceNode) else [n for p in current.value for n in p]
        if not parts_sized:
            open_.add(id(current))
            stack.append((current, True))
            stack.extend((part, False) for part in parts if id(part) not in size and id(part) not in open_)
            continue
        total = 1 + sum(size.get(id(part), 1) for part in parts)
        if total > most:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"aliases expand this document beyond {most} values (a YAML alias bomb?)",
                current.start_mark,
            )
        open_.discard(id(current))
        size[id(current)] = total


def load(
    text: str,
    loader: type,
    typed: Callable[[Any], dict[tuple, Validate | None]] | None = None,
    dates: Callable[[tuple], bool] | None = None,
) -> tuple[object, list[MisreadNumber | MisreadDate | MisreadBoolean]]:
    """The document in `text` read with `loader` (a SafeLoader class), and the numbers and dates it
    misread (`dates`: the paths where a date is meant; none by default) — and, given `typed` (the document
    → where it holds values a schema validates: misread_booleans), the booleans. One parse: the node tree
    the data is built from is the one walked (yaml.YAMLError as yaml.load raises)."""
    data, node = compose(text, loader)
    misread: list[MisreadNumber | MisreadDate | MisreadBoolean] = list(misread_numbers(node))
    misread += misread_dates(node, dates, most_places(text))
    words = booleans_read(node, most_places(text)) if typed is not None else []
    if words:  # `typed` asked only then: the CLI asks the service for its types
        misread += misread_booleans(words, data, typed(data))
    return data, misread


def problems(misread: list[MisreadNumber | MisreadDate | MisreadBoolean], where: str = "") -> list[str]:
    """Each misread number or boolean as one line, `where` + its dotted path + what YAML read and how to write it."""
    return [f"{where}{dotted(n.path) or '(the document)'}: {n.problem()}" for n in misread]


def dotted(path: tuple) -> str:
    """A path as Karma's messages write one: ``rules[0].when.change.new.limit``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
