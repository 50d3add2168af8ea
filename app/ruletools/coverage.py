"""``karma rules coverage`` / ``GET /rules/coverage``: what each rule can meet on the live graph, which test
cases exercise it, whether the cases really test each of its conditions, and whether it can matter.

For each rule (docs/rules.md, "Rule coverage"):

* **reachable** — the rule's condition in disjunctive normal form; an alternative needs a changed component
  of some types (``change.type`` / ``component.type``), impacted components of some types reached from it
  (``impacted.type``, along the impact flows between types that the graph's edges give), environments, and
  config / runtime keys present (a positive test on ``component.config.x`` needs a component with ``x``).
  Counted against a summary of the graph (per type: components, environments, config and runtime keys seen;
  per pair of types: impact flows), and the declared types (types/). No alternative satisfiable: **dead**,
  with the reason of the first alternative;
* **cases** — which cases of ``rules/tests`` make it fire, which do not;
* **mutations** — each condition flipped (``not``) and removed in turn, evaluated by the oracle on the facts
  every case produced: a mutation no case notices means the cases do not test that condition;
* **shadowed** — another rule at least as strong holds whenever this one does (each alternative of this
  rule contains every test of an alternative of the other), so this one never changes an outcome.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from app.graph.codec import loads
from app.policy import vocabulary
from app.policy.effects import SEVERITY
from app.policy.tree import All, AnyOf, Cmp, Not, allowed_values, alternatives, leaves
from app.ruletools import oracle
from app.ruletools.shared_cases import SharedCases, outcome_key

FAIL_ON = ("dead", "uncovered", "untested", "shadowed")


# ------------------------------------------------------------------------------------------------ the graph
@dataclass
class TypeStats:
    components: int = 0
    environments: set = field(default_factory=set)
    config_keys: set = field(default_factory=set)
    runtime_keys: set = field(default_factory=set)
    by_environment: dict = field(default_factory=dict)  # environment -> components ({}: not known)

    def buckets(self, type_name: str, envs) -> set[tuple[str, str | None]]:
        """(type, environment) of its components a rule naming `envs` (None: any) can meet."""
        if not self.by_environment:
            return {(type_name, None)}
        return {(type_name, e) for e in self.by_environment if envs is None or e in envs}

    def count(self, environment: str | None) -> int:
        return self.components if environment is None else self.by_environment.get(environment, 0)


@dataclass
class World:
    """What the graph can present: per type, and the impact flows (a change to A reaches B) between types."""

    types: dict = field(default_factory=dict)  # type -> TypeStats
    flows: set = field(default_factory=set)  # (from type, to type), one hop
    declared: dict = field(default_factory=dict)  # type -> vocabulary.DeclaredType; {} = unknown

    @classmethod
    def from_summary(cls, rows: list[dict], edges: list[dict], declared: dict | None = None) -> World:
        """From cypher/rules_coverage_world.cypher's record (type rows, edge rows)."""
        world = cls(declared=declared or {})
        for row in rows:
            world.types[row["type"]] = TypeStats(
                row["components"],
                set(row["environments"]),
                set(row["config_keys"]),
                set(row["runtime_keys"]),
                {b["environment"]: b["components"] for b in row.get("by_environment") or []},
            )
        for e in edges:
            world.add_edge(e["source_type"], e["kind"], e["target_type"])
        return world

    @classmethod
    def from_components(cls, components: list[dict], edges: list[dict], declared: dict | None = None) -> World:
        """From components ({id, type, environment, config, runtime}) and edges ({source, target, kind})."""
        world, type_of = cls(declared=declared or {}), {}
        for c in components:
            stats = world.types.setdefault(c["type"], TypeStats())
            stats.components += 1
            stats.environments.add(c["environment"])
            stats.by_environment[c["environment"]] = stats.by_environment.get(c["environment"], 0) + 1
            stats.config_keys |= set(c.get("config") or {})
            stats.runtime_keys |= set(c.get("runtime") or {})
            type_of[c["id"]] = c["type"]
        for e in edges:
            if e["source"] in type_of and e["target"] in type_of:
                world.add_edge(type_of[e["source"]], e["kind"], type_of[e["target"]])
        return world

    def add_edge(self, source_type: str, kind: str, target_type: str) -> None:
        # depends_on / consumes_runtime_from: a change to the target reaches the source; emits_runtime_to:
        # a change to the source reaches the target (app/components/registry.py, EDGE_KINDS)
        if kind == "emits_runtime_to":
            self.flows.add((source_type, target_type))
        else:
            self.flows.add((target_type, source_type))

    def count(self, buckets: set[tuple[str, str | None]]) -> int:
        """How many components the (type, environment) buckets hold, each counted once."""
        return sum(self.types[t].count(env) for t, env in buckets)

    def reached_from(self, start: str) -> dict[str, list[str]]:
        """Types a change to ``start`` can reach, each with one type path (over-approximated: any hops)."""
        paths, frontier = {start: [start]}, [start]
        while frontier:
            nxt = []
            for t in frontier:
                for a, b in sorted(self.flows):
                    if a == t and b not in paths:
                        paths[b] = paths[t] + [b]
                        nxt.append(b)
            frontier = nxt
        paths.pop(start)
        return paths


# ------------------------------------------------------------------------------------------------ DNF
# a rule's alternatives and the types an eq/in allows: app.policy.tree, shared with the load-time check

_NEEDS_VALUE = ("eq", "in", "lt", "lte", "gt", "gte", "matches", "contains", "contains_any", "contains_all")


def _needs_present(c: Cmp, neg: bool) -> bool:
    if c.op == "exists":
        return c.value != neg
    if c.op == "empty":
        return c.value == neg
    return not neg and c.op in _NEEDS_VALUE and not hasattr(c.value, "field")


@dataclass
class Reach:
    components: int = 0
    types: list = field(default_factory=list)
    paths: list = field(default_factory=list)
    dead: bool = False
    reason: str | None = None

    def to_dict(self) -> dict:
        return {
            "components": self.components,
            "types": self.types,
            "paths": self.paths,
            "dead": self.dead,
            "reason": self.reason,
        }


def _no_type_reason(types: set, any_type: bool) -> str:
    """Why no changed component can be met when no type passed (it once read "no component of type  on the
    graph" for a rule naming no type, on an empty graph)."""
    if types:
        return f"no component of type {', '.join(sorted(types))} on the graph"
    return "the graph has no components" if any_type else "its type conditions exclude every type"


def _alternative(rule, alt, world: World, reached: dict) -> tuple[set, list, list, str | None]:
    """((type, environment) buckets of the components it can meet, types, paths, reason when impossible)
    for one alternative of a rule: the environments it names count, not the whole type."""
    want = {"change": None, "impacted": None}
    envs = {"change": None, "impacted": None}
    keys = {"change": {"config": set(), "runtime": set()}, "impacted": {"config": set(), "runtime": set()}}
    for c, neg in alt:
        sec, path = c.field.section, c.field.path
        side = "impacted" if sec == "impacted" else "change"
        if sec not in ("change", "component", "impacted"):
            continue
        allowed = allowed_values(c, neg)
        if path == ("type",) and allowed is not None:
            want[side] = allowed if want[side] is None else want[side] & allowed
        elif path == ("environment",) and allowed is not None:
            envs[side] = allowed if envs[side] is None else envs[side] & allowed
        elif len(path) >= 2 and _needs_present(c, neg):
            head = {"new": "config", "old": "config", "config": "config", "runtime": "runtime"}.get(path[0])
            if head:
                keys[side][head].add(path[1])
    change_types = set(world.types) if want["change"] is None else want["change"]
    problems = []
    candidates = []
    for t in sorted(change_types):
        why = _type_problem(t, envs["change"], keys["change"], world)
        (problems.append(why) if why else candidates.append(t))
    if not candidates:
        return set(), [], [], _first(problems, _no_type_reason(change_types, want["change"] is None))
    if rule.scope != "impacted":
        return {b for t in candidates for b in world.types[t].buckets(t, envs["change"])}, candidates, [], None
    buckets, types, paths = set(), set(), []
    for t in candidates:
        if t not in reached:
            reached[t] = world.reached_from(t)
        for target, path in reached[t].items():
            if want["impacted"] is not None and target not in want["impacted"]:
                continue
            why = _type_problem(target, envs["impacted"], keys["impacted"], world)
            if why:
                problems.append(f"impacted {why}")
                continue
            buckets |= world.types[target].buckets(target, envs["impacted"])
            types.add(target)
            paths.append(" <- ".join(path))
    if not types:
        wanted = ", ".join(sorted(want["impacted"])) if want["impacted"] else "any type"
        default = f"a change to {', '.join(candidates)} reaches no component of {wanted}"
        return set(), [], [], _first(problems, default)
    return buckets, sorted(types), sorted(set(paths)), None


def _first(problems: list, default: str) -> str:
    return problems[0] if problems else default


def _type_problem(t: str, envs, keys: dict, world: World) -> str | None:
    stats = world.types.get(t)
    if world.declared and t not in world.declared:
        return f"type {t!r} is not a declared type"
    if stats is None:
        return f"no component of type {t!r} on the graph"
    if envs is not None and not envs & stats.environments:
        return f"no {t} in environment {', '.join(sorted(envs))}"
    declared = world.declared.get(t)
    for key in sorted(keys["config"]):
        if key not in stats.config_keys and (declared is None or (declared[1] and key not in declared[0])):
            return f"no {t} has config key {key!r}" + (" and its type does not allow it" if declared else "")
    for key in sorted(keys["runtime"]):
        if key not in stats.runtime_keys and (declared is None or key not in declared[2]):
            return f"no {t} publishes runtime output {key!r}"
    return None


def reachability(rule, world: World, alts: list | None = None, reached: dict | None = None) -> Reach:
    alts = alts if alts is not None else alternatives(rule.when)
    out, reasons, met = Reach(), [], set()
    for alt in alts:
        buckets, types, paths, reason = _alternative(rule, alt, world, {} if reached is None else reached)
        if reason:
            reasons.append(reason)
            continue
        met |= buckets  # alternatives overlap: each component counted once (117 of 39 components was shown)
        out.types = sorted(set(out.types) | set(types))
        out.paths = sorted(set(out.paths) | set(paths))
    out.components = world.count(met)
    if not out.types:
        out.dead, out.reason = True, reasons[0] if reasons else "no alternative can hold"
    return out


# ------------------------------------------------------------------------------------------------ cases
@dataclass
class Evaluation:
    case: str  # "<file>: <case name>"
    facts: list
    now: object


def case_evaluations(engine, case_paths) -> tuple[list[Evaluation], dict[str, set[str]], list[str]]:
    """Run the cases through the service's pipeline: (evaluations seen, case -> rules that fired, errors)."""
    from app.ruletools import cases as rule_cases  # noqa: PLC0415 - the pipeline, only when cases run
    from app.ruletools.differential import Recorder  # noqa: PLC0415

    evaluations, fired, errors = [], {}, []
    try:
        paths = rule_cases.case_files(case_paths)
    except rule_cases.CaseFileError as exc:  # no such file or directory (rules without tests/): no cases
        return evaluations, fired, list(exc.errors)
    for path in paths:
        try:
            found = rule_cases.read_cases(path)
        except rule_cases.CaseFileError as exc:
            errors += exc.errors
            continue
        for case in found:
            recorder = Recorder(engine)
            outcome = rule_cases.run_case(case, recorder)
            name = f"{case.file}: {case.name}"
            fired[name] = {d["rule_id"] for d in outcome.decisions}
            evaluations += [Evaluation(name, facts, now) for facts, now, _ in recorder.seen]
    return evaluations, fired, errors


def _label(c: Cmp, rule) -> str:
    """A condition as its rule says it: a count by what it counts, an overlaps by its operands (never the
    internal keys the compiler gives them, ``count.n57238d23b075.n``, ``derived.o…``)."""
    if c.field.section == "derived" and c.field.path[0] in rule.overlaps:
        return _label(rule.overlaps[c.field.path[0]], rule)
    name = c.field.name
    if c.field.section == "count" and c.field.path[0] in rule.counts:
        domain, tree = rule.counts[c.field.path[0]]
        name = f"count({domain} where {_tree_label(tree, rule)})"
    value = getattr(c.value, "field", None)
    shown = value.name if value is not None else (list(c.value) if isinstance(c.value, tuple) else c.value)
    return f"{name} {c.op} {shown!r}" if value is None else f"{name} {c.op} {shown}"


def _tree_label(node, rule) -> str:
    if isinstance(node, Cmp):
        return _label(node, rule)
    if isinstance(node, Not):
        return f"not ({_tree_label(node.item, rule)})"
    if isinstance(node, All):
        return " and ".join(_tree_label(i, rule) for i in node.items) or "any"
    return "(" + " or ".join(_tree_label(i, rule) for i in node.items) + ")"


def _replace(node, target, new):
    if node is target:
        return new
    if isinstance(node, Not):
        return Not(_replace(node.item, target, new))
    if isinstance(node, (All, AnyOf)):
        return type(node)(tuple(_replace(i, target, new) for i in node.items))
    return node


def _outcomes(rule, evaluations: list[Evaluation]) -> list[frozenset]:
    return [frozenset(oracle.fires(rule, e.facts, e.now)) for e in evaluations]


def untested_conditions(rule, evaluations: list[Evaluation]) -> list[dict]:
    """Conditions whose flip or removal no case notices (evaluated by the oracle on the cases' facts)."""
    base = _outcomes(rule, evaluations)
    out = []
    for leaf in leaves(rule.when):
        survived = []
        for name, new in (("flipped", Not(leaf)), ("removed", All(()))):
            mutant = _Mutant(rule, _replace(rule.when, leaf, new))
            if _outcomes(mutant, evaluations) == base:
                survived.append(name)
        if survived:
            out.append({"condition": _label(leaf, rule), "survives": survived})
    return out


@dataclass
class _Mutant:
    rule: object
    when: object

    def __getattr__(self, name):
        return getattr(self.rule, name)


# ------------------------------------------------------------------------------------------------ shadowing
def _implies(a: tuple, b: tuple) -> bool:
    """Test a (with its negation flag) implies test b."""
    if a is b:
        return True
    (ca, na), (cb, nb) = a, b
    if na or nb or ca.op not in ("eq", "in") or cb.op not in ("eq", "in") or ca.field != cb.field:
        return a == b  # the deep comparison last: it is the costly one
    va, vb = allowed_values(ca, False), allowed_values(cb, False)
    return (va is not None and vb is not None and va <= vb) or a == b


_FIELDS_CACHE: dict = {}


def _alt_fields(rule_id: str, alts: list) -> list:
    key = (rule_id, id(alts))
    if key not in _FIELDS_CACHE:
        if len(_FIELDS_CACHE) > 20_000:
            _FIELDS_CACHE.clear()
        _FIELDS_CACHE[key] = [frozenset(t[0].field.name for t in o) for o in alts]
    return _FIELDS_CACHE[key]


def shadowed_by(rule, others, dnfs: dict | None = None, index: dict | None = None) -> list[str]:
    """Rules at least as strong that hold whenever ``rule`` does (alternative subsumption; sound, not complete).
    ``dnfs``: rule id -> alternatives, computed once for a whole report."""
    dnfs = dnfs if dnfs is not None else {r.id: alternatives(r.when) for r in [rule, *others]}
    mine = dnfs[rule.id]
    my_fields = frozenset(t[0].field.name for alt in mine for t in alt)
    out = []
    if index is not None:  # an alternative's field set -> ids of the rules having it (see report)
        ids = set().union(*(rule_ids for fields, rule_ids in index.items() if fields <= my_fields))
        others = [o for o in others if o.id in ids]
    for other in others:
        if other.id == rule.id or not other.enabled or SEVERITY[other.effect] > SEVERITY[rule.effect]:
            continue
        if other.scope == "impacted" and rule.scope != "impacted":
            continue
        theirs = dnfs[other.id]
        if not any(fields <= my_fields for fields in _alt_fields(other.id, theirs)):
            continue  # every alternative of the other tests a field this rule never tests
        if all(any(_covers(by_field, o) for o in theirs) for by_field in _by_field(rule.id, mine)):
            out.append(other.id)
    return out


def _covers(by_field: dict, alternative: list) -> bool:
    """Every test of ``alternative`` is implied by a test on the same field in ``by_field``."""
    return all(any(_implies(t, s) for t in by_field.get(s[0].field.name, ())) for s in alternative)


_BY_FIELD_CACHE: dict = {}


def _by_field(rule_id: str, alts: list) -> list[dict]:
    """Each alternative's tests grouped by field name (a test implies only tests on its own field)."""
    key = (rule_id, id(alts))
    if key not in _BY_FIELD_CACHE:
        if len(_BY_FIELD_CACHE) > 20_000:
            _BY_FIELD_CACHE.clear()
        groups = []
        for alt in alts:
            by: dict = {}
            for t in alt:
                by.setdefault(t[0].field.name, []).append(t)
            groups.append(by)
        _BY_FIELD_CACHE[key] = groups
    return _BY_FIELD_CACHE[key]


# ------------------------------------------------------------------------------------------------ report
def report(rules, world: World, evaluations: list[Evaluation], fired: dict, errors: list | None = None) -> dict:
    started = time.perf_counter()
    out = []
    dnfs = {r.id: alternatives(r.when) for r in rules}
    index: dict = {}
    for r in rules:  # few distinct field sets: a rule's candidates are found without visiting every rule
        for fields in _alt_fields(r.id, dnfs[r.id]):
            index.setdefault(fields, set()).add(r.id)
    reached: dict = {}  # type -> reached types, shared by every rule
    for rule in sorted(rules, key=lambda r: (r.file, r.index)):
        cases_fire = sorted(c for c, ids in fired.items() if rule.id in ids)
        out.append(
            {
                "id": rule.id,
                "file": rule.file,
                "effect": rule.effect,
                "reachable": reachability(rule, world, dnfs[rule.id], reached).to_dict(),
                "cases": {"fire": cases_fire, "not_fire": sorted(c for c in fired if c not in cases_fire)},
                "untested_conditions": untested_conditions(rule, evaluations) if evaluations else [],
                "shadowed_by": shadowed_by(rule, rules, dnfs, index),
            }
        )
    summary = {
        "rules": len(out),
        "dead": sorted(r["id"] for r in out if r["reachable"]["dead"]),
        "uncovered": sorted(r["id"] for r in out if not r["cases"]["fire"]),
        "untested": sorted(r["id"] for r in out if r["untested_conditions"]),
        "shadowed": sorted(r["id"] for r in out if r["shadowed_by"]),
        "cases": len(fired),
        "graph_components": sum(s.components for s in world.types.values()),
        "seconds": round(time.perf_counter() - started, 3),
    }
    return {"summary": summary, "rules": out, "errors": list(errors or [])}


def failures(doc: dict, fail_on: list[str]) -> list[str]:
    """What makes ``--fail-on`` fail: ``<kind>: <rule ids>`` per kind asked for with findings."""
    return [f"{kind}: {', '.join(doc['summary'][kind])}" for kind in fail_on if doc["summary"].get(kind)]


def table(doc: dict) -> list[str]:
    rows = [("rule", "effect", "reachable", "cases fire/not", "untested conditions", "shadowed by")]
    for r in doc["rules"]:
        reach = r["reachable"]
        rows.append(
            (
                r["id"],
                r["effect"],
                f"DEAD: {reach['reason']}" if reach["dead"] else f"{reach['components']} ({', '.join(reach['types'])})",
                f"{len(r['cases']['fire'])}/{len(r['cases']['not_fire'])}",
                "; ".join(f"{u['condition']} ({'/'.join(u['survives'])})" for u in r["untested_conditions"]) or "-",
                ", ".join(r["shadowed_by"]) or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1] for row in rows]
    s = doc["summary"]
    lines.append(
        f"{s['rules']} rules, {s['cases']} cases, {s['graph_components']} components: {len(s['dead'])} dead, "
        f"{len(s['uncovered'])} uncovered, {len(s['untested'])} with untested conditions, "
        f"{len(s['shadowed'])} shadowed"
    )
    return lines


def markdown(doc: dict) -> list[str]:
    lines = ["| rule | effect | reachable on the graph | cases (fire / not) | untested conditions | shadowed by |"]
    lines.append("|---|---|---|---|---|---|")
    for r in doc["rules"]:
        reach = r["reachable"]
        where = (
            f"**dead**: {reach['reason']}" if reach["dead"] else f"{reach['components']} ({', '.join(reach['types'])})"
        )
        untested = "<br>".join(f"`{u['condition']}` ({'/'.join(u['survives'])})" for u in r["untested_conditions"])
        lines.append(
            f"| `{r['id']}` | {r['effect']} | {where} | {len(r['cases']['fire'])} / {len(r['cases']['not_fire'])} "
            f"| {untested or '—'} | {', '.join(r['shadowed_by']) or '—'} |"
        )
    s = doc["summary"]
    lines.append("")
    lines.append(
        f"**{s['rules']} rules** · {len(s['dead'])} dead · {len(s['uncovered'])} uncovered · "
        f"{len(s['untested'])} with untested conditions · {len(s['shadowed'])} shadowed"
    )
    return lines


def declared_types(directory) -> dict:
    """type -> (config keys, closed, runtime outputs, runtime closed), from the type declarations (types/):
    the table the load-time check of what a rule names reads too (app.policy.vocabulary)."""
    from app.components.loader import load_directory  # noqa: PLC0415

    return vocabulary.declared(load_directory(directory))


def seed_world(path, declared: dict | None = None) -> World:
    """The world of a seed file (seed/karma-world.yaml): what the graph holds after `karma seed`."""
    from app.ruletools.fixture import FixtureGraph  # noqa: PLC0415
    from app.seeding import read_file  # noqa: PLC0415

    graph = FixtureGraph(read_file(path))
    components = [{**n, "config": loads(n["config"]), "runtime": loads(n["runtime"])} for n in graph.nodes.values()]
    return World.from_components(components, graph.edges, declared)


class CoverageService:
    """GET /rules/coverage: the live graph's summary read per request (one aggregate query); the cases run
    once per rule set and case files (they do not depend on the graph) and are kept. The console's rule
    pages need only which case fired which rule: that is shared by the server's workers (``shared``: the
    last good rule set's directory; app/ruletools/shared_cases.py), so the cases run once per rule load,
    not once per worker."""

    def __init__(self, repo, policy, declared: dict, shared: Path | None = None):
        self.repo, self.policy, self.declared = repo, policy, declared
        self.shared = SharedCases(shared) if shared is not None else None
        self._cases: tuple | None = None  # (key, evaluations, fired, errors)

    def report(self) -> dict:
        summary = self.repo.rules_coverage_world()
        world = World.from_summary(summary["types"], summary["edges"], self.declared)
        _key, evaluations, fired, errors = self._run_cases(self._key())
        doc = report(self.policy.rules(), world, evaluations, fired, errors)
        doc["fingerprint"] = self.policy.fingerprint
        return doc

    def cases_firing(self, rule_id: str) -> tuple[list[str], list[str]]:
        """(the rule tests — `file: name` — that make rule `rule_id` fire, the case files that could not be
        read): the console's page of a rule. The same run as the report's, or another worker's; no graph
        read."""
        fired, errors = self._fired()
        return sorted(case for case, ids in fired.items() if rule_id in ids), list(errors)

    def _key(self) -> str:
        return outcome_key(self.policy.fingerprint, self._tests_dir())

    def _tests_dir(self) -> Path:
        return self.policy.rules_dir / "tests"

    def _fired(self) -> tuple[dict, list]:
        """(case -> rules that fired, errors): this worker's run, else the one another worker kept, else a
        run of its own, kept for the others."""
        key = self._key()
        if self._cases is not None and self._cases[0] == key:
            return self._cases[2], self._cases[3]
        kept = self.shared.read(key) if self.shared is not None else None
        if kept is not None:
            return kept
        _key, _evaluations, fired, errors = self._run_cases(key)
        if self.shared is not None:
            self.shared.write(key, fired, errors)
        return fired, errors

    def _run_cases(self, key: str) -> tuple:
        """(key, evaluations, fired, errors) of the rule tests (DIR/tests), run once per key."""
        if self._cases is None or self._cases[0] != key:
            found = case_evaluations(self.policy, [self._tests_dir()])
            self._cases = (key, *found)
        return self._cases
