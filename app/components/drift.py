"""Drift: where what Karma holds disagrees with what it should be — five kinds, each with the component,
the field and why (the rule), never the offending value (the real contract's own convention: a config
may hold secrets).

- contract:  a config its type's schema refuses (a refused import, or a stored config after a types change);
- reference: a reference that resolves to nothing (a name, a runtime path, a value that matches no one);
- runtime:   reported runtime that contradicts the desired config, as the type declares
             (`runtime_matches: {vpc_cidr: cidr}`);
- orphan:    a component the graph holds that the imported tree has no config file for (deleted, renamed,
             or never there), kept because the import did not `--prune` it;
- unwritten: a change through Karma the config store has not written to the tree (its write-back failed, or
             retries on a conflict it names: a diverged file, a detached HEAD): the tree is behind the
             graph there. It is read from the outbox entry, not stored on the component: the component's
             config is right, its file is what lags, so rules do not read it.

Pure functions. Drift is computed when the thing it concerns changes — a change through the gate, a
runtime report, an import, a types reload — and stored with it (`drift_props`: the component's `drift`
kinds, its `drift_entries` and a `drifting` flag the drift read is indexed on; what an import says of a
file — refused, or gone from the tree — as a `:Drift` node keyed by that file). An orphan's entry is its
record; the node's `drift` kinds carry `orphan` while it stands (cypher/_orphan_drift.cypher, after every
write of them) so rules read it as the other kinds. Reading drift never recomputes it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from app.components.references import unknown_name
from app.components.registry import split_id
from app.errors import NotFound, Unprocessable

KINDS = ("contract", "reference", "runtime", "orphan", "unwritten")


def file_state(kind: str) -> str:
    """What an entry's `file` is to it, as every view says it: one an import refused, (orphan) the file a
    component had, gone from the tree, or (unwritten) the one its write-back has not reached."""
    return {"orphan": "not in the tree", "unwritten": "not written yet"}.get(kind, "refused")


def tree_file(comp: dict) -> str:
    """Where a component's config is in the tree: `iac/<environment>/<type>/<nickname>/config.json`."""
    type_name, nickname = split_id(comp["id"])
    return f"iac/{comp['environment']}/{type_name}/{nickname}/config.json"


def entry(kind: str, component: str, field: str, rule: str, message: str, **extra: Any) -> dict:
    return {"kind": kind, "component": component, "field": field, "rule": rule, "message": message, **extra}


def contract(ctype, component_id: str, config: Any) -> list[dict]:
    """The schema's refusals of a config, per field and rule."""
    return [
        entry("contract", component_id, f"config.{path}", f"{ctype.name}.schema: {rule}", message)
        for path, rule, message in ctype.config_problems(config)
    ]


def references(ctype, component_id: str, problems: dict[str, list[str]]) -> list[dict]:
    """Unresolved references (`references.resolve`'s errors per place): the field is the config's own
    place (`config.functions.api.vpc_nickname`), the rule the declaration it breaks, pattern and all
    (`reference functions.*.vpc_nickname → vpc`)."""
    out = []
    for place in sorted(problems):
        ref = next((r for r in ctype.references if r.key == place), None) or next(
            (r for r in ctype.references if r.matches(place)), None
        )
        rule = f"reference {ref.key} → {ref.target_type}" if ref else f"reference {place}"
        out += [entry("reference", component_id, f"config.{place}", rule, m) for m in problems[place]]
    return out


def runtime(ctype, component_id: str, config: Any, reported: Any) -> list[dict]:
    """Reported outputs that contradict the config keys the type says they must equal."""
    if not isinstance(config, dict) or not isinstance(reported, dict):
        return []
    return [
        entry(
            "runtime",
            component_id,
            f"runtime.{output}",
            f"runtime_matches: {output} = config.{key}",
            f"the reported {output} is not the config's {key}",
        )
        for output, key in ctype.runtime_matches
        if output in reported and key in config and reported[output] != config[key]
    ]


def of_component(ctype, component_id: str, config: Any, reported: Any, problems=None) -> list[dict]:
    """Every drift of a stored component (reference problems given by the caller, who resolved them)."""
    return (
        contract(ctype, component_id, config)
        + references(ctype, component_id, problems or {})
        + runtime(ctype, component_id, config, reported)
    )


def drift_props(entries: list[dict]) -> dict:
    """The component properties that hold its drift (None removes them: no drift, nothing stored)."""
    if not entries:
        return {"drift": None, "drift_entries": None, "drifting": None}
    kinds = sorted({e["kind"] for e in entries}, key=KINDS.index)
    slim = [{k: e[k] for k in ("kind", "field", "rule", "message")} for e in entries]
    return {"drift": kinds, "drift_entries": json.dumps(slim, sort_keys=True), "drifting": True}


def of_change(ctype, component: dict, new_config: dict) -> dict:
    """A change through the gate: its new config passed the schema and its references resolved, so the
    component's contract and reference drift are gone; runtime drift is the new config against what
    was last reported. → the properties to write in the commit statement."""
    return drift_props(runtime(ctype, component["id"], new_config, component.get("runtime") or {}))


def of_report(ctype, component: dict, reported: dict) -> dict:
    """A runtime report: runtime drift recomputed; the rest of the component's stored drift kept."""
    kept = [e for e in stored_entries(component) if e["kind"] != "runtime"]
    kept = [{**e, "component": component["id"]} for e in kept]
    return drift_props(kept + runtime(ctype, component["id"], component.get("config") or {}, reported))


def stored_entries(row: dict) -> list[dict]:
    raw = row.get("drift_entries")
    try:
        return json.loads(raw) if isinstance(raw, str) else []
    except ValueError:
        return []


def first_clause(text: str | None, limit: int = 200) -> str:
    """The first clause of an outbox entry's `last_error` (up to its first `. ` or `; `): why it failed,
    without the advice that follows."""
    return re.split(r"[;.] ", text or "", maxsplit=1)[0][:limit]


def unwritten(rows: list[dict]) -> list[dict]:
    """A change's write-back that has not landed in the tree (cypher/drift_list.cypher's `unwritten`): one
    entry per component it wrote, naming the change, why it failed and the outbox entry."""
    return [
        entry(
            "unwritten",
            row["component"],
            "config",
            "config store: write-back",
            f"changed through Karma by {row['change_id']}, not written to the tree: {first_clause(row['last_error'])}"
            f" (karma outbox list: {row['id']} {row['state']})",
            type=row.get("type"),
            environment=row.get("environment"),
            in_graph=row.get("in_graph", True),
            **_behind(row),
        )
        for row in rows
    ]


def _behind(row: dict) -> dict:
    """The file an unwritten entry's write-back has not reached — what to look at in the tree (a hook's
    refusal or a detached HEAD do not name it in the message): the FILE column every drift view shows."""
    if not row.get("environment"):
        return {}
    return {"file": tree_file({"id": row["component"], "environment": row["environment"]})}


def resolved(record: dict) -> dict:
    """A file's record as the view says it: a reference record whose target exists now (`resolves`, from the
    read: created through Karma after the import refused the file) says so and what to do — the record
    stands until an import reads the file again (it is still not loaded), but "references unknown
    component" alone would be false. Nothing is written: the read knows it."""
    out = {k: v for k, v in record.items() if k != "resolves"}
    if record.get("resolves"):
        out["resolves"] = True
        out["message"] = (
            f"{record['message']} — {record['target']} exists now (created since this file was refused): import "
            "the file again to load it"
        )
    return out


def report(component_rows: list[dict], refused: list[dict], unwritten_rows: list[dict] | None = None) -> dict:
    """GET /drift's body: every entry, by component, with the counts per kind. `in_graph`: whether the
    graph holds the entry's component (a file's record may name one it never created), so a view links
    only to a component page that exists."""
    entries = [
        {**e, "component": row["id"], "type": row.get("type"), "environment": row.get("environment"), "in_graph": True}
        for row in component_rows
        for e in stored_entries(row)
    ]
    entries += [resolved(r) for r in refused]  # their `in_graph` from the read: a refused create has no component
    entries += unwritten(unwritten_rows or [])
    entries.sort(key=lambda e: (e["component"], KINDS.index(e["kind"]), e["field"], e["message"]))
    counts = {k: sum(1 for e in entries if e["kind"] == k) for k in KINDS}
    return {"total": len(entries), "counts": counts, "entries": entries}


def refused_here(exc: NotFound, read_records) -> NotFound:
    """The 404 of an id that names no component, when an import refused that component's file: the tree
    has it (`karma plan vpc/usekarma-dev`, `karma show` of it: "not found", and the operator looks at the
    file in their repository), so the answer names the file and where its reasons are. `read_records(id)`:
    the drift view's records of the id (the read of one component), read only on this error path."""
    component = exc.extra.get("component")
    if exc.extra.get("cause") != "unknown_component" or not component:
        return exc
    file = _refused_file(component, read_records)
    if file is None:
        return exc
    extra = {**exc.extra, "refused_file": file}
    return NotFound(exc.message + _refused_note(component, file), errors=exc.errors, **extra)


def refused_references(exc: Unprocessable, read_records) -> Unprocessable:
    """The 422 of a change whose reference names a component whose file an import refused (a new
    ecs-cluster on aws-config's `vpc/usekarma-dev`): "references unknown component" alone sends the
    operator searching a tree that has it, so each such message names the file as :func:`refused_here`
    does, and `refused_file` maps each such name to its file (as a 422's `did_you_mean` maps names).
    Read only on this error path, once per name the messages say names nothing (one operation's: the
    analysis stops at the first invalid one)."""
    names = sorted({n for messages in exc.errors.values() for m in messages if (n := unknown_name(m))})
    files = {name: file for name in names if (file := _refused_file(name, read_records)) is not None}
    if not files:
        return exc
    errors = {
        place: [m + _refused_note(name, files[name]) if (name := unknown_name(m)) in files else m for m in messages]
        for place, messages in exc.errors.items()
    }
    return Unprocessable(exc.message, errors=errors, **{**exc.extra, "refused_file": files})


def _refused_file(component: str, read_records) -> str | None:
    """The config file of `component` an import refused (None: none was), from its drift records."""
    files = sorted({r["file"] for r in read_records(component) if r.get("file") and not r.get("in_graph")})
    return files[0] if files else None


def _refused_note(component: str, file: str) -> str:
    return f"; its config file {file} was refused by an import (karma drift --component {component}: why)"
