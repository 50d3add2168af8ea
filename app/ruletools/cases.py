"""``karma rules test``: rule test cases (``rules/tests/*.yaml``) run through the service's own pipeline.

A test file::

    fixture:                      # the graph for every case of the file (a case may give its own)
      seed: ../../seed/karma-world.yaml      # a seed file (relative to this file), and/or
      components: [...]                      # seed-format components and edges, inline
      edges: [...]
    at: 2026-12-01T10:00:00+01:00 # the request time (time conditions); per case too
    cases:
      - name: a subnet change is rejected while the bastion runs
        assume: {runtime: {ec2-instance/karma-dev-bastion: {state: running}}}
        change: {component: subnet/karma-dev-private-a, proposed_change: {cidr_block: 10.42.9.0/24},
                 requested_by: ted@strall.com}
        expect:
          status: rejected
          decisions:              # exactly these (any order); or includes: / excludes:
            - {rule: subnet-change-with-running-instance, effect: reject,
               component: ec2-instance/karma-dev-bastion, message: "is running in"}

A case runs :func:`app.changes.set_analysis.analyse_set` — validation, merge, diff, impact, facts, durable_rules —
on the context :class:`app.ruletools.fixture.FixtureGraph` builds (what ``cypher/impact.cypher`` returns), so
it decides exactly as the service's ``/plan`` and ``/request-change`` would on that graph; it never talks
to Neo4j. ``change`` is today's single-component body; ``changes: [...]`` is reserved for change sets.
"""

from __future__ import annotations

import difflib
import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import yaml

from app import yaml_misreads
from app.changes.set_analysis import analyse_set
from app.client.body import change_sections, component_validator
from app.components.registry import config_validator, runtime_validator
from app.changes.sets import ChangeSet
from app.changes.sets import reference_ids as set_reference_ids
from app.changes.sets import reference_values as set_reference_values
from app.changes.sets import sibling_lookups
from app.errors import KarmaError
from app.ruletools.fixture import FixtureGraph
from app.policy.fields import suggest
from app.policy.effects import EFFECTS
from app.policy.loader import _StrictLoader, _yaml_error
from app.yaml_strict import UnreadableFile, read_text
from app.seeding import SeedError, read_file, seed_sections

DEFAULT_AT = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)  # a Tuesday; 11:00 in Paris
FILE_KEYS = ("fixture", "at", "cases")
CASE_KEYS = ("name", "fixture", "at", "assume", "change", "changes", "expect")
CHANGE_KEYS = ("component", "proposed_change", "requested_by", "reason", "on_blocked")
EXPECT_KEYS = ("status", "decisions", "includes", "excludes", "remedies")
DECISION_KEYS = ("rule", "effect", "component", "message")
REMEDY_KEYS = ("rule", "component", "description", "changes")
STATUSES = ("applied", "rejected", "queued", "pending_approval", "invalid", "not_found")


class CaseFileError(ValueError):
    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("\n".join(errors))


@dataclass
class Case:
    file: str
    index: int
    name: str
    fixture: dict
    at: datetime
    assume: dict
    change: dict
    expect: dict

    @property
    def where(self) -> str:
        return f"{self.file}: cases[{self.index}]"


@dataclass
class Outcome:
    case: Case
    ok: bool
    status: str
    decisions: list[dict]
    problems: list[str] = field(default_factory=list)
    diff: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None

    def to_dict(self) -> dict:
        return {
            "file": self.case.file,
            "case": self.case.name,
            "index": self.case.index,
            "ok": self.ok,
            "status": self.status,
            "expected": self.case.expect,
            "problems": self.problems,
            "decisions": [
                {"rule": d["rule_id"], "effect": d["effect"], "component": d["component"], "message": d["message"]}
                for d in self.decisions
            ],
            "error": self.error,
            "ms": round(self.seconds * 1000, 2),
        }


# ------------------------------------------------------------------------------------------ reading
def case_files(paths: list[Path]) -> list[Path]:
    files = []
    for path in paths:
        if path.is_dir():
            files += sorted(
                p
                for p in path.iterdir()
                if p.suffix in (".yaml", ".yml") and not p.name.startswith(".") and p.is_file()
            )
        elif path.exists():
            files.append(path)
        else:
            raise CaseFileError([f"{path}: no such test file or directory"])
    return files


def _time(value, where: str, errors: list[str]) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if value == "now":
        return datetime.now(timezone.utc)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    errors.append(f"{where}: expected an ISO date-time such as 2026-12-04T15:30:00+01:00 (or now), got {value!r}")
    return None


def _fixture(raw, base: Path, where: str, errors: list[str]) -> dict | None:
    if not isinstance(raw, dict):
        errors.append(f"{where}: expected a mapping (seed, components, edges), got {type(raw).__name__}")
        return None
    unknown = sorted(set(raw) - {"seed", "components", "edges"})
    for key in unknown:
        errors.append(f"{where}.{key}: unknown field (expected seed, components or edges)")
    doc = {"components": [], "edges": []}
    if "seed" in raw:
        try:
            seed = read_file(_seed_path(base, str(raw["seed"])))
        except SeedError as exc:
            errors.extend(f"{where}.seed: {e}" for e in exc.errors)
            return None
        if not isinstance(seed, dict):
            errors.append(f"{where}.seed: not a seed document")
            return None
        doc["components"] += list(seed.get("components") or [])
        doc["edges"] += list(seed.get("edges") or [])
    for key in ("components", "edges"):
        items = raw.get(key) or []
        if not isinstance(items, list):
            errors.append(f"{where}.{key}: expected a list")
            return None
        if key == "components" and "seed" in raw:  # inline components replace the seed's of the same id
            ids = {c.get("id") for c in items if isinstance(c, dict)}
            doc[key] = [c for c in doc[key] if not (isinstance(c, dict) and c.get("id") in ids)]
        doc[key] += items
    return None if unknown else doc


def _seed_path(base: Path, name: str) -> Path:
    """A fixture's seed file: relative to the case file; for a rules directory copied out of the project
    (a rules pull request's checkout), else relative to the working directory."""
    here = base / name
    if here.exists() or Path(name).is_absolute():
        return here
    fallback = Path.cwd() / Path(*[p for p in Path(name).parts if p != ".."])
    return fallback if fallback.exists() else here


def _decisions(raw, where: str, errors: list[str]) -> list[dict] | None:
    if not isinstance(raw, list):
        errors.append(f"{where}: expected a list of decisions ({{rule, effect, component, message}})")
        return None
    out = []
    for i, item in enumerate(raw):
        sub = f"{where}[{i}]"
        if isinstance(item, str):
            item = {"rule": item}
        if not isinstance(item, dict) or "rule" not in item:
            errors.append(f"{sub}: expected a rule id or a mapping with rule (and effect, component, message)")
            continue
        for key in item:
            if key not in DECISION_KEYS:
                errors.append(f"{sub}.{key}: unknown field (expected one of {', '.join(DECISION_KEYS)})")
        if "effect" in item and item["effect"] not in EFFECTS:
            errors.append(f"{sub}.effect: unknown effect {item['effect']!r} (expected one of {', '.join(EFFECTS)})")
        if "message" in item:
            try:
                re.compile(str(item["message"]))
            except re.error as exc:
                errors.append(f"{sub}.message: not a valid pattern: {exc}")
        out.append({k: str(v) for k, v in item.items()})
    return out


def _remedies(raw, where: str, errors: list[str]) -> None:
    """`expect.remedies`: the declared remedies the refusing decisions render to (POST /transitions tries
    them), each {rule, and optionally component, description (a regex), changes (exact)}."""
    if not isinstance(raw, list) or not raw:
        errors.append(f"{where}: expected a list of remedies ({{rule, component, description, changes}})")
        return
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("rule"), str):
            errors.append(f"{where}[{i}]: expected a mapping with rule (and component, description, changes)")
            continue
        for key in item:
            if key not in REMEDY_KEYS:
                errors.append(f"{where}[{i}].{key}: unknown field (expected one of {', '.join(REMEDY_KEYS)})")


def _case(
    raw, index: int, file: Path, shared: dict | None, shared_at: datetime, errors: list[str], shared_given: bool
) -> Case | None:
    where = f"{shown(file)}: cases[{index}]"
    if not isinstance(raw, dict):
        errors.append(f"{where}: expected a mapping (a case)")
        return None
    before = len(errors)
    for key in raw:
        if key not in CASE_KEYS:
            errors.append(f"{where}.{key}: unknown field (expected one of {', '.join(CASE_KEYS)})")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.append(f"{where}.name: required, a non-empty string")
    fixture = _fixture(raw["fixture"], file.parent, f"{where}.fixture", errors) if "fixture" in raw else shared
    if fixture is None and "fixture" not in raw and not shared_given:  # a broken file fixture: said once
        errors.append(f"{where}.fixture: required (here or at the top of the file)")
    at = _time(raw["at"], f"{where}.at", errors) if "at" in raw else shared_at
    change = raw.get("change")
    if "changes" in raw:
        change = _change_set(raw, where, errors)
    elif not isinstance(change, dict):
        errors.append(f"{where}.change: required, a change body (component, proposed_change, requested_by)")
    else:
        for key in change:
            if key not in CHANGE_KEYS:
                errors.append(f"{where}.change.{key}: unknown field (expected one of {', '.join(CHANGE_KEYS)})")
        for key in ("component", "requested_by"):
            if not isinstance(change.get(key), str):
                errors.append(f"{where}.change.{key}: required, a string")
        if not isinstance(change.get("proposed_change"), dict):
            errors.append(f"{where}.change.proposed_change: required, a mapping of config keys")
        if change.get("on_blocked", "reject") not in ("reject", "queue"):
            errors.append(f"{where}.change.on_blocked: must be reject or queue")
    assume = raw.get("assume") or {}
    if not isinstance(assume, dict) or set(assume) - {"runtime"} or not isinstance(assume.get("runtime", {}), dict):
        errors.append(f"{where}.assume: expected {{runtime: {{<component id>: {{<output>: <value>}}}}}}")
    expect = raw.get("expect")
    if not isinstance(expect, dict) or not expect:
        errors.append(f"{where}.expect: required: status and/or decisions, includes, excludes")
        expect = {}
    for key in expect:
        if key not in EXPECT_KEYS:
            errors.append(f"{where}.expect.{key}: unknown field (expected one of {', '.join(EXPECT_KEYS)})")
    if "status" in expect and expect["status"] not in STATUSES:
        errors.append(f"{where}.expect.status: must be one of {', '.join(STATUSES)}")
    if "decisions" in expect and "includes" in expect:
        errors.append(f"{where}.expect: decisions (exact) and includes exclude each other")
    for key in ("decisions", "includes", "excludes"):
        if key in expect:
            expect[key] = _decisions(expect[key], f"{where}.expect.{key}", errors)
    if "remedies" in expect:
        _remedies(expect["remedies"], f"{where}.expect.remedies", errors)
    if len(errors) > before:
        return None
    return Case(
        file=shown(file),
        index=index,
        name=name.strip(),
        fixture=fixture,
        at=at,
        assume=assume,
        change=change,
        expect=expect,
    )


def _change_set(raw: dict, where: str, errors: list[str]) -> dict:
    """A case's change set: `changes: [...]` (the request-change set format) plus `requested_by`,
    optional `reason` and `on_blocked` in `change:`. Its structure is checked when it runs, as the
    service checks it (a malformed set is the `invalid` status)."""
    body = dict(raw.get("change") or {})
    if not isinstance(raw["changes"], list) or not raw["changes"]:
        errors.append(f"{where}.changes: expected a non-empty list of operations")
    if set(body) - {"requested_by", "reason", "on_blocked"}:
        errors.append(f"{where}.change: with changes, only requested_by, reason and on_blocked")
    if not isinstance(body.get("requested_by"), str):
        errors.append(f"{where}.change.requested_by: required, a string")
    return {**body, "changes": raw["changes"]}


def _request_time(path: tuple) -> bool:
    """Where a test file means a date: the request time, `at` (the file's or a case's)."""
    return path == ("at",) or (len(path) == 3 and path[0] == "cases" and path[2] == "at")


def _typed(doc) -> dict[tuple, yaml_misreads.Validate | None]:
    """Where a test file holds values a schema validates, for yaml_misreads.load to judge each boolean YAML
    read there as a seed's or a change file's is: a fixture's components (app.seeding.seed_sections), a
    case's change or change set and an expected remedy's changes (app.client.body.change_sections), and
    `assume`'s runtime outputs (the component's runtime schema). Everything else — names, ids, times,
    expected statuses, rules and message patterns — is text."""
    out: dict[tuple, yaml_misreads.Validate | None] = {}
    changes = change_sections(None, config_validator)

    def add(sections: dict, at: tuple) -> None:
        out.update({(*at, *path): validate for path, validate in sections.items()})

    if not isinstance(doc, dict):
        return out
    if isinstance(doc.get("fixture"), dict):
        add(seed_sections(doc["fixture"]), ("fixture",))
    for index, case in enumerate(doc["cases"] if isinstance(doc.get("cases"), list) else []):
        if not isinstance(case, dict):
            continue
        at = ("cases", index)
        if isinstance(case.get("fixture"), dict):
            add(seed_sections(case["fixture"]), (*at, "fixture"))
        if isinstance(case.get("changes"), list):
            add(changes(case), at)
        elif isinstance(case.get("change"), dict) and "proposed_change" in case["change"]:
            add(changes(case["change"]), (*at, "change"))
        runtime = case["assume"].get("runtime") if isinstance(case.get("assume"), dict) else None
        for component in runtime if isinstance(runtime, dict) else {}:
            out[(*at, "assume", "runtime", component)] = component_validator(component, runtime_validator)
        remedies = case["expect"].get("remedies") if isinstance(case.get("expect"), dict) else None
        for i, remedy in enumerate(remedies if isinstance(remedies, list) else []):
            if isinstance(remedy, dict) and isinstance(remedy.get("changes"), list):
                add(changes(remedy), (*at, "expect", "remedies", i))
    return out


def read_cases(path: Path) -> list[Case]:
    """Every case of one test file, or CaseFileError listing every problem (file: field: message)."""
    errors: list[str] = []
    name = shown(path)
    try:
        doc, misread = yaml_misreads.load(read_text(path), _StrictLoader, _typed, _request_time)
    except UnreadableFile as exc:
        raise CaseFileError([str(exc).replace(str(path), name, 1)]) from None
    except yaml.YAMLError as exc:
        raise CaseFileError([f"{name}: {_yaml_error(exc)}"]) from None
    if misread:  # 017, 0x1F, 1_000, 1:30, on, 2026-12-24: a fixture or an expectation its author did not write
        raise CaseFileError(yaml_misreads.problems(misread, f"{name}: "))
    if not isinstance(doc, dict) or not isinstance(doc.get("cases"), list) or not doc["cases"]:
        raise CaseFileError([f"{name}: expected a mapping with a non-empty 'cases' list"])
    for key in doc:
        if key not in FILE_KEYS:
            errors.append(f"{name}: {key}: unknown field (expected one of {', '.join(FILE_KEYS)})")
    shared = _fixture(doc["fixture"], path.parent, f"{name}: fixture", errors) if "fixture" in doc else None
    shared_at = _time(doc["at"], f"{name}: at", errors) if "at" in doc else DEFAULT_AT
    given = "fixture" in doc
    cases = [_case(raw, i, path, shared, shared_at or DEFAULT_AT, errors, given) for i, raw in enumerate(doc["cases"])]
    if errors:
        raise CaseFileError(errors)
    return [c for c in cases if c is not None]


def shown(path: Path) -> str:
    """A test file's path as the operator typed it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# ------------------------------------------------------------------------------------------ running
def evaluate(case: Case, policy) -> tuple[str, list[dict]]:
    """(status, decisions) the service would give this change on the case's graph (nothing is written)."""
    status, decisions, _why = judged(case, policy)
    return status, decisions


def judged(case: Case, policy) -> tuple[str, list[dict], str | None]:
    """(status, decisions, why): a single change is the one-update set it is, through the gate's one
    analysis; ``why`` is the service's own message for an invalid or not_found change."""
    graph = FixtureGraph(case.fixture)
    graph.assume_runtime(case.assume.get("runtime") or {})
    return _evaluate_set(case, graph, policy)


def _why(exc: Exception) -> str:
    details = getattr(exc, "details", None) or getattr(exc, "errors", None)
    text = str(getattr(exc, "message", None) or exc)
    return f"{text} {details}" if details and str(details) not in text else text


def _evaluate_set(case: Case, graph: FixtureGraph, policy) -> tuple[str, list[dict], str | None]:
    """A change-set case: the gate's set analysis on the fixture's context (nothing is written)."""
    try:
        change_set = ChangeSet.from_dict({"on_blocked": "reject", **case.change})
        ctx = graph.set_context(
            sorted(change_set.component_ids),
            set_reference_ids(change_set),
            set_reference_values(change_set),
            sibling_lookups(change_set),
        )
        analysis = analyse_set(change_set, ctx, mode="full", policy=policy, now=case.at)
    except (KarmaError, TypeError) as exc:
        return ("not_found" if getattr(exc, "status", None) == 404 else "invalid"), [], _why(exc)
    return analysis.status(), analysis.decisions, None


def rendered_remedies(case: Case, policy) -> list[dict]:
    """What the refusing decisions' declared remedies render to on the case's graph (before simulation:
    POST /transitions then verifies each), candidates read from the fixture."""
    from app.settings import transition_bounds  # noqa: PLC0415
    from app.transitions.search import refusing, render_remedies  # noqa: PLC0415 - the service's own code

    graph = FixtureGraph(case.fixture)
    graph.assume_runtime(case.assume.get("runtime") or {})
    body = (
        case.change
        if "changes" in case.change
        else {
            "changes": [
                {
                    "op": "update",
                    "component": case.change["component"],
                    "proposed_change": case.change["proposed_change"],
                }
            ],
            **{k: case.change[k] for k in ("requested_by", "reason") if k in case.change},
        }
    )
    try:
        change_set = ChangeSet.from_dict({**body, "on_blocked": "reject"})
        ctx = graph.set_context(sorted(change_set.component_ids), set_reference_ids(change_set))
        analysis = analyse_set(change_set, ctx, mode="full", policy=policy)
    except (KarmaError, TypeError):
        return []

    def components_of(type_name: str, environment: str) -> list[dict]:
        return [
            {"id": n["id"], "nickname": n["nickname"]}
            for n in sorted(graph.nodes.values(), key=lambda n: n["id"])
            if n["type"] == type_name and n["environment"] == environment
        ]

    rules = {r.id: r for r in policy.rules()}
    most = dict(transition_bounds())["max_candidates"]  # as the operator's search renders them
    return [
        r
        for d in refusing(analysis)
        for r in render_remedies(rules.get(d["rule_id"]), d, analysis, change_set, components_of, most)
    ]


def _remedy_matches(expected: dict, actual: dict) -> bool:
    return (
        expected["rule"] == actual["rule_id"]
        and expected.get("component", actual["component"]) == actual["component"]
        and ("description" not in expected or re.search(expected["description"], actual["description"]))
        and expected.get("changes", actual["changes"]) == actual["changes"]
    )


def _line(d: dict) -> str:
    return f"{d.get('effect', '*')} {d.get('rule') or d.get('rule_id')} on {d.get('component', '*')}"


def _matches(expected: dict, actual: dict) -> bool:
    return (
        expected["rule"] == actual["rule_id"]
        and expected.get("effect", actual["effect"]) == actual["effect"]
        and expected.get("component", actual["component"]) == actual["component"]
        and ("message" not in expected or re.search(expected["message"], actual["message"]) is not None)
    )


def _unmatched(expected: list[dict], actual: list[dict]) -> tuple[list[dict], list[dict]]:
    left = list(actual)
    missing = []
    for e in expected:
        hit = next((a for a in left if _matches(e, a)), None)
        if hit is None:
            missing.append(e)
        else:
            left.remove(hit)
    return missing, left


def _misfired(missing: list[dict], extra: list[dict]) -> list[tuple[dict, dict]]:
    """(expected, actual) for each expected decision a decision of the case is but for its effect: the rule
    fired on that component with that message, as another effect. Both are taken out of ``missing`` and
    ``extra`` (what is left is told as missing / unexpected), so the failure says it plainly."""
    pairs = []
    for e in list(missing):
        hit = next((a for a in extra if "effect" in e and _matches({**e, "effect": a["effect"]}, a)), None)
        if hit is not None:
            pairs.append((e, hit))
            missing.remove(e)
            extra.remove(hit)
    return pairs


def check(case: Case, status: str, decisions: list[dict]) -> tuple[list[str], list[str]]:
    """(problems, diff lines) of the actual outcome against the case's expectations."""
    expect, problems, diff = case.expect, [], []
    if "status" in expect and expect["status"] != status:
        problems.append(f"status: expected {expect['status']}, got {status}")
    for key in ("decisions", "includes"):
        if key not in expect:
            continue
        missing, extra = _unmatched(expect[key], decisions)
        for e, a in _misfired(missing, extra):
            problems.append(
                f"decisions: rule {a['rule_id']} fired as {a['effect']} on {a['component']}, expected {e['effect']}"
            )
        if missing or (key == "decisions" and extra):
            problems.append(
                f"decisions: {len(missing)} missing" + (f", {len(extra)} unexpected" if key == "decisions" else "")
            )
            want = sorted(_line(e) + (f" ~ /{e['message']}/" if "message" in e else "") for e in expect[key])
            got = sorted(f"{_line(a)}: {a['message']}" for a in decisions)
            diff = list(difflib.unified_diff(want, got, "expected", "actual", lineterm="", n=len(want) + len(got)))
    for e in expect.get("excludes") or []:
        found = [a for a in decisions if _matches(e, a)]
        if found:
            problems.append(f"decisions: {_line(e)} was not expected, got: {found[0]['message']}")
    return problems, diff


def unknown_names(case: Case, policy) -> list[str]:
    """Each expectation naming a rule the rule set has not (enabled or not), or a component neither the
    fixture nor the change has: an `excludes` of a misspelt id held whatever the rules decide, and an
    `includes` of one failed without saying why."""
    status = policy.status()
    rules = set(status["rule_ids"]) | set(status["disabled"])
    components = _case_components(case)
    out = []
    for key in ("decisions", "includes", "excludes", "remedies"):
        for i, item in enumerate(case.expect.get(key) or []):
            if not isinstance(item, dict):
                continue
            if item.get("rule") not in rules:
                out.append(f"expect.{key}[{i}].rule: no rule {item['rule']!r} is loaded{suggest(item['rule'], rules)}")
            if "component" in item and item["component"] not in components:
                named = item["component"]
                out.append(
                    f"expect.{key}[{i}].component: no component {named!r} in the fixture or the change"
                    + suggest(named, components)
                )
    return out


def _case_components(case: Case) -> set[str]:
    """The ids a decision of this case can name: the fixture's components and those the change names."""
    fixture = case.fixture if isinstance(case.fixture, dict) else {}
    ids = {c.get("id") for c in fixture.get("components") or [] if isinstance(c, dict)}
    operations = case.change.get("changes") if isinstance(case.change.get("changes"), list) else [case.change]
    ids |= {op.get("component") for op in operations if isinstance(op, dict)}
    return {i for i in ids if isinstance(i, str)}


def run_case(case: Case, policy) -> Outcome:
    started = time.perf_counter()
    try:
        status, decisions, why = judged(case, policy)
    except SeedError as exc:
        return Outcome(
            case,
            False,
            "error",
            [],
            problems=[f"fixture: {e}" for e in exc.errors],
            error="fixture",
            seconds=time.perf_counter() - started,
        )
    problems, diff = check(case, status, decisions)
    if why and status != case.expect.get("status", status):
        problems = [f"{p} ({why})" if p.startswith("status:") else p for p in problems]
    if "remedies" in case.expect:
        rendered = rendered_remedies(case, policy)
        for e in case.expect["remedies"]:
            if not any(_remedy_matches(e, r) for r in rendered):
                problems.append(
                    f"remedies: no rendering of {e['rule']} matches {e}; got "
                    f"{[{k: r[k] for k in ('component', 'description', 'changes')} for r in rendered]}"
                )
    problems += unknown_names(case, policy)  # after the outcome's own: the diff above still shows it
    return Outcome(case, not problems, status, decisions, problems, diff, time.perf_counter() - started)


def run(paths: list[Path], policy) -> tuple[list[Outcome], list[str]]:
    """(outcomes, file errors). A broken test file is reported and its cases are not run."""
    outcomes, errors = [], []
    for path in case_files(paths):
        try:
            cases = read_cases(path)
        except CaseFileError as exc:
            errors += exc.errors
            continue
        outcomes += [run_case(case, policy) for case in cases]
    return outcomes, errors


def report(outcomes: list[Outcome], errors: list[str]) -> list[str]:
    """``opa test``-style text: a line per case (FAIL with its problems and diff), then a summary."""
    lines = [f"ERROR: {e}" for e in errors]
    current = None
    for o in outcomes:
        if o.case.file != current:
            current = o.case.file
            lines.append(f"{current}:")
        if o.ok:
            lines.append(f"PASS: {o.case.name} ({o.seconds * 1000:.1f}ms)")
            continue
        lines.append(f"FAIL: {o.case.name} (cases[{o.case.index}], {o.seconds * 1000:.1f}ms)")
        lines += [f"  {p}" for p in o.problems]
        lines += [f"    {d}" for d in o.diff]
    passed = sum(o.ok for o in outcomes)
    failed = len(outcomes) - passed
    lines.append("-" * 80)
    lines.append(f"PASS: {passed}/{len(outcomes)}")
    if failed:
        lines.append(f"FAIL: {failed}/{len(outcomes)}")
    if errors:
        lines.append(f"ERROR: {len(errors)} problem(s) in test files")
    return lines
