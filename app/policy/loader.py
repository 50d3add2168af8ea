"""Read a rules directory: list files, fingerprint them, parse strict YAML, validate, compile.

``build(dir)`` either returns a compiled rule set or raises :class:`RuleFileError` listing every problem
in every file. Files are ``*.yaml`` / ``*.yml`` directly in the directory (not hidden ones, so editor
lock/swap files are ignored), read in name order.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from app import yaml_misreads
from app.policy import host, vocabulary
from app.policy.derive import Derivations
from app.policy.compiler import CompileError, CompiledRuleSet, compile_rules, engine_pattern
from app.policy.errors import Errors, RuleFileError
from app.policy.language import parse_document
from app.policy.literals import UnquotedText, number_like_text
from app.policy.tree import Rule
from app.policy.regexcheck import engine_mismatch
from app.yaml_strict import StrictLoader

SUFFIXES = (".yaml", ".yml")


# ------------------------------------------------------------------------------------------ strict YAML
class _StrictLoader(StrictLoader):
    """The shared strict loader (duplicate keys refused), plus unquoted number-like text marked."""


def _construct_text(loader, node):
    """Text, marked when it is unquoted and looks like a number YAML 1.1 does not read as one (``1e5``):
    the validator refuses comparing it with a field that may hold numbers (literals.UnquotedText)."""
    value = loader.construct_scalar(node)
    if not node.style and number_like_text(value):  # plain: None (Python parser) or "" (libyaml)
        return UnquotedText(value)
    return value


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SCALAR_TAG, _construct_text)


def _yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    text = f"{context}, {problem}" if context else problem
    if mark is not None and any(p in problem for p in _INDENTATION_PROBLEMS):
        text += (
            f": usually an indentation slip — line {mark.line + 1} (or the one above it) does not start in the same "
            "column as the other keys of its mapping"
        )
    return f"{where}YAML error: {text}"


# what PyYAML says of a line indented one space off (`     effect:` under `    description:`): none of them
# says "indentation", and the column it names is where it gave up, not where the slip is
_INDENTATION_PROBLEMS = (
    "did not find expected key",
    "mapping values are not allowed",
    "did not find expected '-' indicator",
    "expected <block end>",
)


# ------------------------------------------------------------------------------------------ directory
def rule_files(rules_dir) -> list[Path]:
    root = Path(rules_dir)
    if not root.is_dir():
        raise RuleFileError(f"{root}: rules directory not found")
    files = []
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.name.endswith(SUFFIXES):
                continue
            if entry.is_file():  # follows symlinks; skips broken ones (e.g. emacs .# locks are hidden anyway)
                files.append(root / entry.name)
    return sorted(files, key=lambda p: p.name)


def stat_signature(rules_dir) -> tuple:
    """Cheap change detector: names, mtimes, sizes and inodes of the rule files."""
    sig = []
    for path in rule_files(rules_dir):
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        sig.append((path.name, st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(sig)


@dataclass
class Source:
    path: Path
    data: bytes


def read_sources(rules_dir) -> tuple[list[Source], list[str]]:
    sources, errors = [], []
    for path in rule_files(rules_dir):
        try:
            sources.append(Source(path, path.read_bytes()))
        except OSError as exc:
            errors.append(f"{path}: cannot read: {exc.strerror or exc}")
    return sources, errors


def fingerprint(sources: list[Source]) -> str:
    digest = hashlib.sha256()
    for src in sources:
        digest.update(src.path.name.encode() + b"\0" + hashlib.sha256(src.data).digest())
    return digest.hexdigest()[:16]


# ------------------------------------------------------------------------------------------ build
def parse_sources(sources: list[Source], types: dict | None = None) -> tuple[list[Rule], list[str]]:
    """Every rule of the sources, and every problem; ``types`` (app.policy.vocabulary.declared): what the
    rules are judged against for the names they use (the loaded types when not given)."""
    types = vocabulary.loaded() if types is None else types
    rules: list[Rule] = []
    all_errors: list[str] = []
    first_seen: dict[str, Rule] = {}
    for src in sources:
        errors = Errors(str(src.path))
        try:
            text = src.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            errors.add("", f"not UTF-8 text ({exc.reason} at byte {exc.start})")
            all_errors.extend(errors.items)
            continue
        try:
            doc, node = yaml_misreads.compose(text, _StrictLoader)
        except yaml.YAMLError as exc:
            errors.add("", _yaml_error(exc))
            all_errors.extend(errors.items)
            continue
        for number in yaml_misreads.misread_numbers(node):  # 017, 0x1F, 1_000, 1:30: not what the author wrote
            errors.settle(yaml_misreads.dotted(number.path), number.problem())
        for date in yaml_misreads.misread_dates(node, _a_time_date, yaml_misreads.most_places(text)):
            errors.settle(yaml_misreads.dotted(date.path), date.problem())  # 2026-12-24 as data: a date
        for kept in yaml_misreads.kept_line_breaks(node, text, yaml_misreads.most_places(text)):
            if kept.path[2:3] == ("when",):  # a condition's value: compared with one-line texts
                errors.settle(yaml_misreads.dotted(kept.path), kept.problem())
        for path in yaml_misreads.merge_overrides(node, yaml_misreads.most_places(text)):
            if path[2:3] == ("when",):  # a condition a `<<:` brought in, dropped whole
                errors.settle(yaml_misreads.dotted(path), _MERGE_OVERRIDE.format(path[-1]))
        words = _ambiguous_booleans(node, text)
        file_rules, regexes = parse_document(doc, src.path.name, errors, words)
        for path, pattern in regexes:
            problem = host.regex_error(engine_pattern(pattern)) or engine_mismatch(engine_pattern(pattern))
            if problem:
                errors.add(path, problem)
        for rule in file_rules:
            refused, inert = vocabulary.judge(rule, types)  # type: lamda, op: updte: never matches
            for path, problem in refused:
                errors.add(path, problem)
            rule.inert = tuple(f"{errors.source}: {path}: {why}" for path, why in inert)  # type: subnet, none loaded
            prior = first_seen.get(rule.id)
            if prior is not None:
                errors.add(f"rules[{rule.index}].id", f"duplicate id {rule.id!r} (already used at {prior.source})")
                continue
            first_seen[rule.id] = rule
            rules.append(rule)
        all_errors.extend(errors.items)
    return rules, all_errors


_MERGE_OVERRIDE = (
    "overrides the {0} a merge key (<<) brought in: YAML replaces it whole, it does not combine conditions "
    "(the merged {0} is dropped): write the conditions out, or combine them with all: [...]"
)


def _a_time_date(path: tuple) -> bool:
    """Where a rule means a date: a `time` section's `date` (`time: {zone: UTC, date: 2026-12-24}`, inside
    groups too), the one field of a rule that takes YAML's dates; elsewhere (a config value, a remedy's
    change) a date is data JSON has no type for."""
    if len(path) < 5 or path[2] != "when" or "time" not in path[3:]:
        return False
    return "date" in path[path.index("time", 3) + 1 :]


def _ambiguous_booleans(node, text: str) -> dict[str, yaml_misreads.BooleanWord]:
    """Every place an unquoted yes/no/on/off lands as a value, by dotted path, for the language to judge
    where it stands: an alias's word at each place it is used (walked once, `enabled: &w on` hid a later
    `config.mode: *w`, compared with true). A key YAML read as a boolean is an unknown field there."""
    places = yaml_misreads.booleans_read(node, yaml_misreads.most_places(text))
    return {yaml_misreads.dotted(word.path): word for word in places if word.ambiguous and not word.key}


def build(rules_dir, *, check_engine: bool = True) -> CompiledRuleSet:
    """Read, validate and compile every rule file; raise RuleFileError listing every problem."""
    sources, errors = read_sources(rules_dir)
    rules, parse_errors = parse_sources(sources)
    errors += parse_errors
    if errors:
        raise RuleFileError(errors)
    try:
        compiled = compile_rules(rules)
    except CompileError as exc:
        raise RuleFileError(str(exc)) from None
    if check_engine:
        problem = host.ruleset_error(compiled.definition)
        if problem:
            raise RuleFileError(f"{rules_dir}: durable_rules refused the compiled rule set: {problem}")
    compiled.derivations = Derivations.of(compiled.rules.values())
    compiled.fingerprint = fingerprint(sources)
    compiled.files = [src.path.name for src in sources]
    compiled.sources = {src.path.name: src.data.decode("utf-8") for src in sources}  # parsed above: UTF-8
    return compiled


def rule_text(text: str, index: int) -> tuple[int, str] | None:
    """`rules[index]` of a rule file's text as its author wrote it, and the line it starts on (from 1):
    its lines, with the comment lines right above it (they are about it), without the blank and comment
    lines after it (they lead into the next rule) — for a person to read the rule a decision came from.
    None when the text has no such rule (a file that is not the one the rule was read from)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)  # nodes and their marks; nothing constructed
    except yaml.YAMLError:
        return None
    pairs = root.value if isinstance(root, yaml.MappingNode) else []
    items = next((v for k, v in pairs if getattr(k, "value", None) == "rules"), None)
    if not isinstance(items, yaml.SequenceNode) or not 0 <= index < len(items.value):
        return None
    start, end = items.value[index].start_mark, items.value[index].end_mark
    lines = text.splitlines()
    if lines[start.line][: start.column].strip() not in ("", "-"):  # a flow sequence: [{id: a, ...}, ...]
        return start.line + 1, text[start.index : end.index]
    last = end.line if end.line < len(lines) and lines[end.line][: end.column].strip() else end.line - 1
    while last > start.line and (not lines[last].strip() or lines[last].lstrip().startswith("#")):
        last -= 1
    first = start.line
    while first > 0 and lines[first - 1].lstrip().startswith("#"):
        first -= 1
    return first + 1, "\n".join(lines[first : last + 1])


def validate_dir(rules_dir) -> list[str]:
    """Every problem in the directory's rule files (empty when they would load)."""
    try:
        build(rules_dir)
    except RuleFileError as exc:
        return list(exc.errors)
    return []
