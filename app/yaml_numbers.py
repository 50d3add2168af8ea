"""Numbers YAML 1.1 reads where its author most likely wrote something else.

PyYAML, which reads every YAML file Karma takes (rule files, seed files), implements YAML 1.1: an
unquoted ``017`` is the octal number 15, ``1:30`` the base-60 number 90, ``0x1F`` 31, ``0b101`` 5 and
``1_000`` 1000. JSON, YAML 1.2 and a reader's eye see ``17``, the text ``1:30``, or text — so a rule's
``eq: 017`` or a seed's ``port: 017`` would silently mean a value its author did not write. A loader
refuses each such scalar instead, with where it is, what YAML read it as and how to write either the
number or the text (quoted). Plain decimal numbers (``17``, ``1.5``, ``-3``, ``1.0e+5``) are read as
written and pass.

Only PyYAML below it, so every reader of a YAML file or text shares it: rules (app.policy.loader), seeds
(app.seeding), component types (app.components.loader), rule tests (app.ruletools.cases), the
notifications file (app.notifications.subscriptions), a change file (`karma request -f`,
app.client.body) and a change typed in the console (app.console.work).
"""

from __future__ import annotations

from dataclasses import dataclass

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
        number = f"write {self.value!r} to mean that number"
        text = f"quote it ('{self.text}') to mean the text"
        means = f"{text}, or {number}" if ":" in self.text else f"{number}, or {text}"
        return f"YAML reads {self.text} (unquoted) as {self.form}: {means}"


def _form(text: str, value: int | float) -> str | None:
    """How YAML 1.1 came to read `text` as `value`, when it is a form other readers read otherwise."""
    digits = text.lstrip("+-")
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
    """One unquoted scalar YAML 1.1 read as a boolean from a word other than true/false: `yes`, `no`,
    `on`, `off` (any case). Where a boolean is the only meaning (a rule's `enabled`) that is harmless;
    where a value may as well be text (a config value compared in a rule) the author may have meant the
    word, so a reader that cannot tell refuses it (app.policy.language)."""

    path: tuple[str | int, ...]
    text: str
    value: bool


def boolean_words(node: yaml.Node | None) -> list[BooleanWord]:
    """Every unquoted yes/no/on/off (any case) under `node` that YAML 1.1 read as a boolean, in order."""
    return [
        BooleanWord(path, scalar.value, scalar.value.lower() in ("yes", "on"))
        for scalar, path in _plain_scalars(node)
        if scalar.tag == _BOOL_TAG and not scalar.style and scalar.value.lower() not in ("true", "false")
    ]


def compose(text: str, loader: type) -> tuple[object, yaml.Node | None]:
    """The document in `text` read with `loader` (a SafeLoader class), and the node tree it was built
    from (for misread_numbers / boolean_words): one parse (yaml.YAMLError as yaml.load raises)."""
    reader = loader(text)
    try:
        node = reader.get_single_node()
        data = reader.construct_document(node) if node is not None else None
    finally:
        reader.dispose()
    return data, node


def load(text: str, loader: type) -> tuple[object, list[MisreadNumber]]:
    """The document in `text` read with `loader` (a SafeLoader class), and the numbers it misread. One
    parse: the node tree the data is built from is the one walked (yaml.YAMLError as yaml.load raises)."""
    data, node = compose(text, loader)
    return data, misread_numbers(node)


def problems(misread: list[MisreadNumber], where: str = "") -> list[str]:
    """Each misread number as one line, `where` + its dotted path + what YAML read and how to write it."""
    return [f"{where}{dotted(n.path) or '(the document)'}: {n.problem()}" for n in misread]


def dotted(path: tuple) -> str:
    """A path as Karma's messages write one: ``rules[0].when.change.new.limit``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
