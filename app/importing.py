"""`karma import DIR`: a config repository's tree → the graph.

The tree is the layout config repositories such as usekarma/aws-config keep (and deploy to Parameter
Store as /iac/<type>/<nickname>/config):

    iac/<environment>/<type>/<nickname>/config.json     # the component's config
    iac/<environment>/<type>/<nickname>/runtime.json    # optional: its runtime outputs, where present

`read_tree` turns it into a seed-format document (`app.seeding`); the document is validated exactly as a
seed file (types, schemas, every reference resolved — by nickname, by value, across environments as the
types declare) and refused whole with every problem named. Into an EMPTY graph it is loaded as one
audited bulk import: components, derived edges and one AuditEntry (kind `import`, the identity, every
component) in one transaction. `--plan` shows what would be loaded and writes nothing.

Into a graph that already holds components the tree is a desired state, exactly as `karma seed FILE`
treats a file (app.changes.seed_sets.desired_set): the change set of creates and updates (deletes only
with `prune`) goes through the gate — rules, one transaction, one audit entry under the identity;
`plan` previews it. Runtime files never touch runtime there (deploys report runtime).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from app import seeding
from app.ids import new_id
from app.clock import utcnow
from app.components.loader import read_json
from app.components.registry import ID_PART, NICKNAME, split_id

ENVIRONMENT = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
FILES = {"config.json", "runtime.json"}


class ImportError_(ValueError):  # noqa: N801 - not the builtin ImportError
    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("import refused, nothing loaded:\n  " + "\n  ".join(errors))


class GraphNotEmpty(ValueError):
    pass


def _root(directory: Path) -> Path:
    directory = Path(directory)
    return directory / "iac" if (directory / "iac").is_dir() else directory


def read_tree(directory: Path, environments: list[str] | None = None) -> dict:
    """The tree under DIR (a repository root holding `iac/`, or the `iac/` directory itself) as a seed
    document {format, components: [{id, environment, config, runtime}]}, ordered by id. ImportError_
    lists every path that does not fit."""
    root = _root(directory)
    if not root.is_dir():
        raise ImportError_([f"{directory}: not a directory"])
    errors: list[str] = []
    found: dict[tuple[str, str, str], dict] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not _hidden(p, root)):
        rel = path.relative_to(root)
        if len(rel.parts) != 4 or rel.name not in FILES:
            if path.suffix == ".json":
                errors.append(f"{path}: expected iac/<environment>/<type>/<nickname>/config.json (or runtime.json)")
            continue
        env, type_name, nickname, name = rel.parts
        if environments and env not in environments:
            continue
        problem = _names_problem(env, type_name, nickname)
        if problem:
            errors.append(f"{path}: {problem}")
            continue
        try:
            value = read_json(path)
        except (OSError, ValueError) as exc:
            errors.append(f"{path}: not valid JSON: {exc}")
            continue
        comp = found.setdefault((env, type_name, nickname), {"environment": env, "config": {}})
        comp["config" if name == "config.json" else "runtime"] = value
    if errors:
        raise ImportError_(errors)
    if not found:
        raise ImportError_(
            [
                f"{directory}: no iac/<environment>/<type>/<nickname>/config.json files"
                + (f" in {', '.join(environments)}" if environments else "")
            ]
        )
    shared = Counter((t, n) for (_e, t, n) in found)
    components = [{"id": tree_id(key, shared), **comp} for key, comp in found.items()]
    return {"format": seeding.FORMAT, "components": sorted(components, key=lambda c: c["id"])}


def tree_id(key: tuple[str, str, str], shared: Counter) -> str:
    """A component's id: `<type>/<nickname>`, or the tree's own path `<environment>/<type>/<nickname>`
    when the same type/nickname is imported from more than one environment (aws-config has
    `serverless-site/strall-com` in dev and in prod) — only those are qualified, so the ids of an
    import are the same whether or not other environments come with it, as long as nothing collides."""
    env, type_name, nickname = key
    if shared[(type_name, nickname)] > 1:
        return f"{env}/{type_name}/{nickname}"
    return f"{type_name}/{nickname}"


def graph_ids(repo, doc: dict) -> dict:
    """The tree against the graph: a component the graph already holds (same environment, type and
    nickname) keeps the graph's id, whatever its form; a new one whose `<type>/<nickname>` id the graph
    gives another environment's component is qualified. The document with those ids."""
    names = sorted({"/".join(split_id(c["id"])) for c in doc["components"]})
    rows = repo.existing(names)
    by_name = {(r["environment"], r["type"], r.get("nickname") or split_id(r["id"])[1]): r["id"] for r in rows.values()}
    taken = set(rows)
    out = []
    for comp in doc["components"]:
        type_name, nickname = split_id(comp["id"])
        cid = by_name.get((comp["environment"], type_name, nickname))
        if cid is None:
            cid = comp["id"] if comp["id"] not in taken else f"{comp['environment']}/{type_name}/{nickname}"
        out.append({**comp, "id": cid})
    return {**doc, "components": sorted(out, key=lambda c: c["id"])}


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _names_problem(env: str, type_name: str, nickname: str) -> str | None:
    if not ENVIRONMENT.match(env):
        return f"environment {env!r}: lower-case letters, digits and '-'"
    if not ID_PART.match(type_name):
        return f"type {type_name!r}: lower-case letters, digits and '-'"
    if not NICKNAME.match(nickname):
        return f"nickname {nickname!r}: Karma nicknames are lower-case letters, digits, '.', '_' and '-'"
    return None


def plan(directory: Path, environments: list[str] | None = None) -> dict:
    """What an import would load (validated; nothing written, no graph needed)."""
    doc = read_tree(directory, environments)
    components, edges = _validate(doc)
    return _summary(directory, components, edges) | {"plan": True}


bulk_plan = plan  # `import_into` takes a flag named plan


def _validate(doc: dict) -> tuple[list[dict], list[dict]]:
    try:
        return seeding.validate(doc, {}, [])
    except seeding.SeedError as exc:
        ids = [c["id"] for c in doc["components"]]
        raise ImportError_([_name_component(e, ids) for e in exc.errors]) from None


def _name_component(error: str, ids: list[str]) -> str:
    """seed errors say `components[3] (vpc/x): …`; an import names the component only."""
    match = re.match(r"^components\[\d+\] (\([^)]*\)): (.*)$", error)
    return f"{match.group(1)[1:-1]}: {match.group(2)}" if match else error


def _summary(directory: Path, components: list[dict], edges: list[dict]) -> dict:
    return {
        "source": str(directory),
        "components": [c["id"] for c in components],
        "by_type": dict(sorted(Counter(c["type"] for c in components).items())),
        "environments": sorted({c["environment"] for c in components}),
        "edges": [{k: e[k] for k in ("source", "target", "kind", "via")} for e in edges],
    }


def import_into(
    repo,
    gate,
    directory: Path,
    *,
    identity: str,
    environments: list[str] | None = None,
    plan: bool = False,
    prune: bool = False,
) -> dict:
    """An empty graph: the bulk import (unless `plan`). Otherwise the change set that turns the graph
    into the tree, through the gate (`plan`: previewed only)."""
    if not repo.component_count():
        if plan:
            return bulk_plan(directory, environments)
        try:
            return import_tree(repo, directory, identity=identity, environments=environments)
        except GraphNotEmpty:
            pass  # someone loaded components meanwhile: go through the gate like any non-empty graph
    from app.changes.seed_sets import desired_set  # noqa: PLC0415

    doc = graph_ids(repo, read_tree(directory, environments))
    reason = f"import {directory}" + (f" ({', '.join(environments)})" if environments else "")
    try:
        change_set, notes = desired_set(repo, doc, requested_by=identity, reason=reason, prune=prune)
    except seeding.SeedError as exc:
        raise ImportError_([_name_component(e, [c["id"] for c in doc["components"]]) for e in exc.errors]) from None
    if change_set is None:
        return {"import": "change-set", "source": str(directory), "status": "unchanged", "changes": 0, "notes": notes}
    result = gate.plan(change_set) if plan else gate.request_change(change_set)
    return {**result, "import": "change-set", "source": str(directory), "notes": notes}


def import_tree(repo, directory: Path, *, identity: str, environments: list[str] | None = None) -> dict:
    """Load the tree into an EMPTY graph as one audited bulk import (GraphNotEmpty otherwise)."""
    doc = read_tree(directory, environments)
    if repo.list_components(type_=None, environment=None, skip=0, limit=1)["total"]:
        raise GraphNotEmpty(_NOT_EMPTY)
    components, edges = _validate(doc)
    now = utcnow()
    summary = _summary(directory, components, edges)
    audit = {
        "id": new_id("log"),
        "kind": "import",
        "timestamp": now,
        "requested_by": identity,
        "status": "imported",
        "note": f"bulk import of {len(components)} components from {directory}",
        "version_before": 0,
        "version_after": 1,
        "affected": summary["components"],
        "request": json.dumps(
            {"source": str(directory), "environments": environments or [], "components": summary["components"]}
        ),
        "warnings": [],
    }
    result = repo.seed(seeding.to_rows(components, {}), edges, now, audit=audit, require_empty=True)
    if "not_empty" in result:  # someone loaded components between the check and the transaction
        raise GraphNotEmpty(_NOT_EMPTY)
    return summary | {"log_entry_id": result["log_entry_id"], "written": result["written"], "requested_by": identity}


_NOT_EMPTY = (
    "the graph already holds components: a bulk import is only for an empty graph (`karma import` "
    "sends the tree through the gate as a change set instead)"
)
