"""Changing a type file is itself a change that matters: which existing components would it make invalid?

`karma types check [DIR]` validates the graph's components against DIR's types and lists every component
(id, field, what is wrong) the new declarations would refuse — before they are deployed. At start the
service runs the same check for the types whose declaration changed since the last start (a fingerprint
per type is kept in the graph as `:KarmaType` nodes), logs each problem at ERROR and shows them in
`GET /types`, so a tightened schema is never first discovered by the next request. (The first start on a
graph records the types as its baseline without reading every component: a 100k-component estate starts
as fast as before; `karma types check` validates everything on demand.) Fingerprints are recorded only
when the check found nothing, so a start keeps reporting until the configs or the types are fixed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field

from app.clock import utcnow
from app.components.registry import ComponentType

log = logging.getLogger("karma.types")


def fingerprint(ctype: ComponentType) -> str:
    """Changes whenever anything that validates or links a component changes."""
    body = {
        "config_schema": ctype.config_schema,
        "runtime_schema": ctype.runtime_schema,
        "action": ctype.action,
        "references": [r.describe() for r in ctype.references],
    }
    if ctype.runtime_matches:  # only when declared: the fingerprints of the types before it stay the same
        body["runtime_matches"] = dict(ctype.runtime_matches)
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class CheckReport:
    checked_types: list[str]
    components: int = 0
    baseline: bool = False  # nothing was recorded yet: the types were taken as they are
    edges_added: list[dict] = field(default_factory=list)  # edges the new references would derive
    edges_removed: list[dict] = field(default_factory=list)  # derived edges they would no longer derive
    problems: list[dict] = field(default_factory=list)  # {component, type, field, message}

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def invalid_components(self) -> list[str]:
        return sorted({p["component"] for p in self.problems})

    def to_dict(self) -> dict:
        return {
            "checked_types": self.checked_types,
            "components_checked": self.components,
            "baseline": self.baseline,
            "invalid_components": self.invalid_components,
            "problems": self.problems,
            "edges_added": self.edges_added,
            "edges_removed": self.edges_removed,
        }


def check_components(types: list[ComponentType], rows: list[dict], checked: list[str] | None = None) -> CheckReport:
    """Validate stored components (rows: id, type, config, runtime, decoded) against `types`."""
    by_name = {t.name: t for t in types}
    report = CheckReport(checked_types=sorted(checked if checked is not None else by_name))
    for row in rows:
        report.components += 1
        ctype = by_name.get(row["type"])
        if ctype is None:
            report.problems.append(
                {
                    "component": row["id"],
                    "type": row["type"],
                    "field": "type",
                    "message": f"type {row['type']!r} is no longer declared",
                }
            )
            continue
        for prefix, value, validate in (
            ("config", row.get("config") or {}, ctype.validate_config),
            ("runtime", row.get("runtime") or {}, ctype.validate_runtime),
        ):
            for path, messages in validate(value).items():
                report.problems.extend(
                    {"component": row["id"], "type": row["type"], "field": f"{prefix}.{path}", "message": m}
                    for m in messages
                )
    return report


def check_graph(repo, types: list[ComponentType], *, only_changed: bool) -> CheckReport:
    """Check the graph against `types`: every component (only_changed=False), or only those of types whose
    fingerprint differs from the one recorded at the last start."""
    if only_changed:
        recorded = repo.type_fingerprints()
        if not recorded:  # the first start on this graph: these types become the baseline, unchecked
            return CheckReport(checked_types=[], baseline=True)
        current = {t.name: fingerprint(t) for t in types}
        changed = sorted(n for n, f in current.items() if recorded.get(n) != f)
        dropped = sorted(set(recorded) - set(current))
        if not changed and not dropped:
            return CheckReport(checked_types=[])
        rows = repo.components_of_types(changed + dropped)
        return check_components(types, rows, checked=changed + dropped)
    rows = repo.components_of_types(None)
    report = check_components(types, rows)
    _edge_changes(report, types, rows, repo.graph(None)["edges"])
    return report


def _edge_changes(report: CheckReport, types: list[ComponentType], rows: list[dict], stored: list[dict]) -> None:
    """How the new references would re-link the graph: edges derived now vs the stored derived edges (not the
    seed file's explicit ones), and references that would no longer resolve."""
    from app.components.references import edges_within, unresolved  # noqa: PLC0415

    by_name = {t.name: t for t in types}
    comps = [
        {"id": r["id"], "type": r["type"], "environment": r["environment"], "config": r.get("config") or {}}
        for r in rows
        if r["type"] in by_name
    ]
    ids = {r["id"] for r in rows}
    derived, errors = edges_within(comps, types=by_name)
    for cid, keys in sorted(unresolved(comps, derived, ids, errors, types=by_name).items()):
        for key, messages in keys.items():
            report.problems.extend(
                {"component": cid, "type": cid.split("/")[0], "field": f"config.{key}", "message": m} for m in messages
            )
    key = lambda e: (e["source"], e["target"], e["kind"], e["via"])  # noqa: E731
    new = {key(e): e for e in derived if e["target"] in ids}
    old = {key(e): e for e in stored if e.get("via") != "seed"}
    report.edges_added = [new[k] for k in sorted(set(new) - set(old))]
    report.edges_removed = [
        {k2: old[k][k2] for k2 in ("source", "target", "kind", "via")} for k in sorted(set(old) - set(new))
    ]


def recompute_drift(repo, types: list[ComponentType], names: list[str]) -> int:
    """A types reload changes what drift is for the components of the changed types: contract, reference
    and runtime drift recomputed for each of them and stored (the drift read never recomputes)."""
    from app.components import drift  # noqa: PLC0415
    from app.components.references import edges_within, unresolved  # noqa: PLC0415

    by_name = {t.name: t for t in types}
    rows = [r for r in repo.components_of_types(names) if r["type"] in by_name]
    if not rows:
        return 0
    problems: dict[str, dict[str, list[str]]] = {}
    if any(by_name[r["type"]].references for r in rows):  # references resolve against the whole graph
        every = [r for r in repo.components_of_types(None) if r["type"] in by_name]
        comps = [{**r, "config": r.get("config") or {}} for r in every]
        ids = {r["id"] for r in every}
        edges, errors = edges_within(comps, types=by_name)
        problems = unresolved(comps, edges, ids, errors, types=by_name)
    out = [
        {
            "id": r["id"],
            "props": drift.drift_props(
                drift.of_component(
                    by_name[r["type"]], r["id"], r.get("config") or {}, r.get("runtime") or {}, problems.get(r["id"])
                )
            ),
        }
        for r in rows
    ]
    written = repo.set_drift(out)
    log.info("drift recomputed after a types change", extra={"types": names, "components": written})
    return written


def record(repo, types: list[ComponentType], now) -> None:
    repo.record_type_fingerprints(
        [{"name": t.name, "fingerprint": fingerprint(t), "source": str(t.source or "")} for t in types], now
    )


def log_report(report: CheckReport) -> None:
    for problem in report.problems:
        log.error(
            "type change makes a component invalid",
            extra={
                "component": problem["component"],
                "type": problem["type"],
                "field": problem["field"],
                "cause": problem["message"],
            },
        )
    if report.checked_types:
        log.info(
            "types checked",
            extra={
                "types": report.checked_types,
                "components": report.components,
                "invalid": len(report.invalid_components),
            },
        )


_last: CheckReport | None = None


def at_start(repo) -> CheckReport | None:
    """The start-up check of the active types (only those changed since the last start). Never stops the
    start: Neo4j may be away (the service serves 503s until it is back) — then nothing is checked."""
    from app.components.registry import registry  # noqa: PLC0415

    global _last
    types, _ = registry.snapshot()
    try:
        report = check_graph(repo, types, only_changed=True)
        # drift is recomputed for the changed types, and for the types of the components stored in drift
        # (a start with other types than the last one's — reverted, say — must not leave theirs stale)
        stale = sorted(set(report.checked_types) | {r["type"] for r in repo.drift()["components"]})
        if stale:
            recompute_drift(repo, types, stale)
        repo.mark_orphans()  # a graph written before a component's drift kinds said `orphan`
        if report.ok and (report.baseline or report.checked_types):
            record(repo, types, utcnow())
    except Exception as exc:  # noqa: BLE001 - a start-up report, never a reason not to start
        log.warning("types not checked against the graph", extra={"error": type(exc).__name__})
        return None
    log_report(report)
    _last = report
    return report


def last_report_dict() -> dict | None:
    return _last.to_dict() if _last is not None else None
