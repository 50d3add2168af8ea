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

import dataclasses
import json
import logging
import re
import shlex
from collections import Counter
from pathlib import Path

from app import seeding
from app.audit.entries import audit_entry
from app.audit.statuses import IMPORTED, UNCHANGED
from app.ids import new_id
from app.progress import Report, silent
from app.clock import utcnow
from app.changes.set_analysis import STILL_REFERENCED
from app.components import drift
from app.components.drift import tree_file
from app.json_strict import read_json
from app.components.references import edges_within, unknown_name, unresolved
from app.components.registry import ID_PART, NICKNAME, name_key, split_id
from app import import_guard
from app.errors import Conflict, Unprocessable

log = logging.getLogger("karma.import")
ENVIRONMENT = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
FILES = {"config.json", "runtime.json"}


class ImportError_(ValueError):  # noqa: N801 - not the builtin ImportError
    """An import refused whole, each problem a line; `planned`: said of a plan, which loads nothing anyway."""

    def __init__(self, errors: list[str], planned: bool = False):
        self.errors = errors
        head = "the import would be refused" if planned else "import refused, nothing loaded"
        super().__init__(f"{head}:\n  " + "\n  ".join(errors))


class GraphNotEmpty(ValueError):
    pass


def _root(directory: Path) -> Path:
    directory = Path(directory)
    return directory / "iac" if (directory / "iac").is_dir() else directory


def read_tree(directory: Path, environments: list[str] | None = None, progress: Report = silent) -> dict:
    """The tree under DIR (a repository root holding `iac/`, or the `iac/` directory itself) as a seed
    document {format, components: [{id, environment, config, runtime}]}, ordered by id. ImportError_
    lists every path that does not fit. `progress` hears ("files", read, of) as each file is read."""
    root = _root(directory)
    if not root.is_dir():
        raise ImportError_([f"{directory}: not a directory"])
    errors: list[str] = []
    found: dict[tuple[str, str, str], dict] = {}
    present: set[str] = set()  # the tree's environments, to name when --environment names none of them
    one_level_down = 0  # files at <type>/<nickname>/config.json: DIR is one environment's folder (iac/prod)
    paths = sorted(p for p in root.rglob("*") if p.is_file() and not _hidden(p, root))
    for number, path in enumerate(paths, 1):
        progress("files", number, len(paths))
        rel = path.relative_to(root)
        if len(rel.parts) != 4 or rel.name not in FILES:
            if path.suffix == ".json":
                errors.append(f"{path}: expected iac/<environment>/<type>/<nickname>/config.json (or runtime.json)")
                one_level_down += len(rel.parts) == 3 and rel.name in FILES
            continue
        env, type_name, nickname, name = rel.parts
        present.add(env)
        if environments and env not in environments:
            continue
        problem = _names_problem(env, type_name, nickname)
        if problem:
            errors.append(f"{path}: {problem}")
            continue
        comp = found.setdefault((env, type_name, nickname), {"environment": env, "config": {}})
        try:
            comp["config" if name == "config.json" else "runtime"] = read_json(path)
        except (OSError, ValueError) as exc:  # refused as its component's contract drift (_own_problems)
            comp.setdefault(UNREADABLE, {})[name] = str(exc)
    below_iac = root == Path(directory) and root.resolve().name != "iac"  # neither the repository nor its iac/
    if errors and not found and below_iac and one_level_down == len(errors):
        raise ImportError_([_one_environment(Path(directory))])
    if errors:
        raise ImportError_(errors)
    if not found:
        raise ImportError_([_nothing_found(directory, environments, present)])
    shared = Counter((t, n) for (_e, t, n) in found)
    components = [{"id": tree_id(key, shared), **comp} for key, comp in found.items()]
    return {"format": seeding.FORMAT, "components": sorted(components, key=lambda c: c["id"])}


def _one_environment(directory: Path) -> str:
    """DIR holds <type>/<nickname>/config.json: one environment's folder (`karma import aws-config/iac/prod`,
    to import prod alone). Every file of it was refused with the same line, one per config; the operator
    wants the command that does what they meant."""
    parent = directory.resolve().parent
    tree = parent.parent if parent.name == "iac" else parent
    return (
        f"{directory}: holds <type>/<nickname>/config.json, one environment's folder, not a tree "
        f"(iac/<environment>/<type>/<nickname>/config.json): to import that environment alone, "
        f"karma import {shlex.quote(str(tree))} --environment {shlex.quote(directory.resolve().name)}"
    )


def _nothing_found(directory: Path, environments: list[str] | None, present: set[str]) -> str:
    """Why a tree gave no config: none at all, or none in the environments asked for — then the ones it
    has, since a typo (`--environment prdo`, `Prod`) is the usual reason and the fix is one of those names."""
    line = f"{directory}: no iac/<environment>/<type>/<nickname>/config.json files"
    if not environments:
        return line
    line += f" in {', '.join(environments)}"
    return line + (f" (the tree's environments: {', '.join(sorted(present))})" if present else "")


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


# ------------------------------------------------------------------------------------ --partial
def _refused(comp: dict, entries: list[dict]) -> list[dict]:
    type_name = split_id(comp["id"])[0]
    extra = {"type": type_name, "environment": comp["environment"], "file": tree_file(comp)}
    return [{**e, **extra, "component": comp["id"]} for e in entries]


# A file that is not JSON (or cannot be read): its component is kept in the document with this mark, so
# `--partial` refuses it as contract drift like any invalid config (it aborted the whole import), and an
# import without `--partial` names it among every other problem.
UNREADABLE = "unreadable"


def _own_problems(comp: dict, types) -> list[dict]:
    """Contract drift of one file on its own: not JSON, an unknown type, a config or runtime the schema
    refuses."""
    unreadable = comp.get(UNREADABLE) or {}
    if unreadable:
        return [
            drift.entry("contract", comp["id"], name.removesuffix(".json"), "json", f"not valid JSON: {why}")
            for name, why in sorted(unreadable.items())
        ]
    type_name = split_id(comp["id"])[0]
    if type_name not in types:
        return [drift.entry("contract", comp["id"], "type", "types", f"no component type {type_name!r} is declared")]
    ctype = types.get(type_name)
    out = drift.contract(ctype, comp["id"], comp.get("config"))
    out += [
        drift.entry("contract", comp["id"], f"runtime.{path}", f"{type_name}.runtime_outputs: {rule}", message)
        for path, rule, message in _runtime_problems(ctype, comp.get("runtime", {}))
    ]
    return out


def _runtime_problems(ctype, runtime) -> list[tuple[str, str, str]]:
    return [(path, "schema", m) for path, messages in ctype.validate_runtime(runtime).items() for m in messages]


# What a reference to a refused config adds to its message: with --partial the target's own refusal is in
# its drift (recorded, or listed by a plan); an import refused whole records no drift and lists every
# refused file's problems itself.
SEE_ITS_DRIFT = " (refused by this import: see its own drift)"
SEE_ITS_PROBLEMS = " (refused too: see its own file's problems in this list)"


def closure(
    doc: dict, types=None, graph_rows: list[dict] | None = None, refused_note: str = SEE_ITS_DRIFT
) -> tuple[dict, list[dict]]:
    """The largest valid closure of a tree: every config that is valid and whose references resolve
    inside what is kept or in the graph (`graph_rows`: {id, type, environment, config}) → (the document
    of what loads, drift entries of every refused file: per file, field and rule, no value). A config
    whose reference names a refused one is refused in turn (reference drift naming it, `refused_note`
    saying where the target's own refusal is)."""
    from app.components.registry import registry  # noqa: PLC0415

    types = types or registry
    kept, entries, invalid = {}, [], []
    for comp in doc["components"]:
        problems = _own_problems(comp, types)
        typed = {**comp, "type": split_id(comp["id"])[0]}
        if problems:
            entries += _refused(comp, problems)
            invalid += [typed] if typed["type"] in types else []
        else:
            kept[comp["id"]] = typed
    refused_names = {name_key(*split_id(e["component"])) for e in entries}
    graph = {r["id"]: r for r in graph_rows or []}

    def others() -> list[dict]:
        """The graph's components the kept configs do not replace: a refused file's component keeps the
        graph's config, so a reference to it resolves (one created through Karma since its file was refused)."""
        return [r for cid, r in graph.items() if cid not in kept]

    while True:
        bad = _unresolved(list(kept.values()), others(), types, (refused_names, refused_note))
        if not bad:
            break
        for cid, problems in bad.items():
            entries += _refused(kept.pop(cid), problems)
            refused_names.add(name_key(*split_id(cid)))
    # a config refused for its contract: its references too, so one report names every problem
    invalid_ids = {c["id"] for c in invalid}
    targets = list(kept.values()) + [r for r in others() if r["id"] not in invalid_ids]
    unresolved = _unresolved(invalid, targets, types, (refused_names, refused_note), sources_are_targets=False)
    entries += [e for comp in invalid for e in _refused(comp, unresolved.get(comp["id"], []))]
    components = [{k: v for k, v in c.items() if k != "type"} for c in kept.values()]
    return {**doc, "components": components}, sorted(entries, key=lambda e: (e["component"], e["field"]))


def _unresolved(
    kept: list[dict], others: list[dict], types, refused: tuple[set[str], str], sources_are_targets: bool = True
) -> dict[str, list[dict]]:
    """Reference drift of the `kept` configs: {id: entries} for each whose references do not resolve among
    `others` (and `kept` itself, unless `sources_are_targets` is False: configs refused already).
    `refused`: the names refused so far, and the note a reference to one of them gets."""
    # the graph may hold components of types these declarations do not know (another contract): they are
    # not part of what is judged, and nothing here can name them
    everything = kept + [{**r, "config": r.get("config") or {}} for r in others if r["type"] in types]
    judged = {n: types.get(n) for n in {c["type"] for c in everything}}
    edges, errors = edges_within(everything, types=judged, near_also=refused[0])
    kept_ids = {c["id"] for c in kept}
    ids = {c["id"] for c in everything} - (set() if sources_are_targets else kept_ids)
    out = {}
    for cid, keys in unresolved(everything, edges, ids, errors, types=judged, near_also=refused[0]).items():
        if cid not in kept_ids:
            continue
        ctype = types.get(split_id(cid)[0])
        found = drift.references(ctype, cid, keys)
        out[cid] = [{**f, "message": _refused_target(f["message"], *refused)} | _target(f["message"]) for f in found]
    return out


def _target(message: str) -> dict:
    """A reference drift entry's `target`: the name it found no component for, kept on its :Drift record so
    the drift view says when a component of that name exists since (cypher/_drift_view_records.cypher)."""
    name = unknown_name(message)
    return {"target": name} if name else {}


def _refused_target(message: str, refused_names: set[str], note: str) -> str:
    named = [n for n in refused_names if f"'{n}'" in message]
    return message + note if named else message


def plan(
    directory: Path, environments: list[str] | None = None, partial: bool = False, progress: Report = silent
) -> dict:
    """What an import would load (validated; nothing written, no graph needed)."""
    loaded = _BulkTree.read(directory, environments, partial, progress)
    return loaded.summary | {"plan": True}


def bulk_plan(repo, directory: Path, environments: list[str] | None, partial: bool, progress: Report) -> dict:
    """An empty graph's import, planned: what it would load, and the drift records it would drop (those of
    its environments that no longer say what it finds: `drift_cleared`, `drift_gone`), as the import says
    of the records it did drop. GraphNotEmpty when the graph keeps the history of a component the tree
    has (deleted through Karma): the import would go through the gate, so its plan does."""
    loaded = _BulkTree.read(directory, environments, partial, progress)
    if repo.deleted_ids([c["id"] for c in loaded.components]):
        raise GraphNotEmpty(_DELETED)
    refused_drift = _refused_drift(repo, loaded.files, loaded.records, environments)
    return loaded.summary | {"plan": True} | _bulk_drift(refused_drift, loaded.records, loaded.files, None)


@dataclasses.dataclass(frozen=True)
class _BulkTree:
    """A tree read and validated for an empty graph: what the bulk import and its plan both start from."""

    files: list[str]  # every config file of the tree (its drift records are the import's to replace)
    components: list[dict]
    edges: list[dict]
    records: list[dict]  # the refused files' drift, as :Drift records (`--partial`)
    summary: dict

    @classmethod
    def read(cls, directory: Path, environments: list[str] | None, partial: bool, progress: Report) -> _BulkTree:
        doc = read_tree(directory, environments, progress)
        files = sorted(tree_file(c) for c in doc["components"])
        refused: list[dict] = []
        if partial:
            doc, refused = closure(doc)
        else:
            _refuse_with_count(doc)
        components, edges = _validate(doc)
        summary = _summary(directory, components, edges) | _drift_summary(partial, refused)
        return cls(files, components, edges, [_stored(e) for e in refused], summary)


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
    partial: bool = False,
    revert_lost: bool = False,
    config_store: Path | None = None,
    progress: Report = silent,
) -> dict:
    """An empty graph: the bulk import (unless `plan`). Otherwise the change set that turns the graph
    into the tree, through the gate (`plan`: previewed only). A change of it that would revert a Karma
    change whose write-back commit the tree's git history lost is refused unless `revert_lost` (then each
    is named in the set's reason and the answer's `reverts`; `config_store`, Karma's own working copy, is where
    a write-back delivered before Karma recorded commits is looked for when the tree's repository lacks it).
    With `partial`, only the tree's largest
    valid closure, every refused file recorded as drift; without, all or nothing — and a refused import
    is audited and says how many configs `--partial` would load. Either way (without `prune`) a component
    of the environments imported whose file the tree lacks is recorded as orphan drift. `progress` hears
    the files read, then the batches a bulk import writes or the set's operations once the gate has
    judged them."""
    try:
        guarded = import_guard.Source("import", Path(directory), config_store)
        return _import(
            repo, gate, directory, identity, environments, plan, prune, partial, (guarded, revert_lost), progress
        )
    except ImportError_ as exc:
        if plan:  # a plan writes nothing: what it says is that the import would be refused
            raise ImportError_(exc.errors, planned=True) from None
        _audit_refused(repo, directory, identity, exc)
        raise


def _import(repo, gate, directory, identity, environments, plan, prune, partial, guarded, progress) -> dict:
    if not repo.component_count():
        try:
            if plan:
                return bulk_plan(repo, directory, environments, partial, progress)
            return import_tree(
                repo, directory, identity=identity, environments=environments, partial=partial, progress=progress
            )
        except GraphNotEmpty:
            pass  # someone loaded components meanwhile, or it keeps deleted ones: through the gate, as any graph
    from app.changes.seed_sets import desired_set, submit  # noqa: PLC0415

    doc = graph_ids(repo, read_tree(directory, environments, progress))
    refused: list[dict] = []
    graph_rows = repo.components_of_types(None) if partial else None
    doc_ids = [c["id"] for c in doc["components"]]  # the tree's: a refused one is still there (--prune)
    doc_files = [tree_file(c) for c in doc["components"]]  # their :Drift records are this import's to replace
    files = {c["id"]: tree_file(c) for c in doc["components"]}
    if partial:
        doc, refused = closure(doc, graph_rows=graph_rows)
    elif any(UNREADABLE in c for c in doc["components"]):  # never sent on as an empty config
        raise _refusal(doc, repo.components_of_types(None))
    reason = f"import {directory}" + (f" ({', '.join(environments)})" if environments else "")
    try:
        change_set, notes, lacking = desired_set(
            repo,
            doc,
            requested_by=identity,
            reason=reason,
            prune=prune,
            present=frozenset(doc_ids),  # a refused file is still in the tree: --prune keeps its component
            environments=environments,  # --environment prod prunes prod only
        )
    except seeding.SeedError as exc:
        errors = [_name_component(e, [c["id"] for c in doc["components"]]) for e in exc.errors]
        if not partial:  # every problem with its file and rule, as into an empty graph (the seed check stops early)
            raise _refusal(doc, repo.components_of_types(None), errors) from None
        raise ImportError_(errors) from None
    extra = {"import": "change-set", "source": str(directory), "notes": notes} | _drift_summary(partial, refused)
    gone = _gone_files(repo, lacking)  # in the graph, not in the tree: deleted with --prune, else orphan drift
    orphans = [] if prune else [_orphan(row) for row in gone]
    if orphans:
        extra["orphaned"] = [e["component"] for e in orphans]
    records = refused + orphans
    gone_files = [r["file"] for r in gone]
    refused_drift = _refused_drift(repo, doc_files + gone_files, records, environments)
    if refused_drift is None and (partial or orphans):
        extra["drift_current"] = True  # the records already say what this import found: none written
    elif refused_drift is not None:
        extra |= _cleared(refused_drift, records, doc_files, gone_files)
    if change_set is None:
        result = {"status": "unchanged", "changes": 0}
        if refused_drift is not None and plan:
            extra["drift_pending"] = len(records)
        elif refused_drift is not None:
            audit = _unchanged_audit(directory, identity, environments, partial, refused, orphans)
            extra["drift_recorded"] = repo.record_refused(refused_drift, audit)
            result["log_entry_id"] = audit["id"]
        return {**result, **extra}
    change_set, said, refusals = import_guard.guard(repo, change_set, files, *guarded)
    if refusals:
        raise ImportError_(refusals)
    extra |= said
    # the files' records (refused, or gone from the tree) are part of the set: written by the commit that
    # applies it, with its audit entry (now, or when an approver lets it through), never on their own
    change_set = dataclasses.replace(change_set, refused_drift=refused_drift)
    try:
        result = submit(gate, change_set, plan=plan, progress=progress)
    except Unprocessable as exc:
        if "operation" not in exc.extra:  # not one operation's fault: the gate's answer as it is
            raise
        raise ImportError_(_operation_refused(exc, change_set, files, refused)) from None
    except Conflict as exc:
        if exc.extra.get("cause") != STILL_REFERENCED:  # a version moved meanwhile: the gate's answer as it is
            raise
        raise ImportError_(_pruned_still_referenced(repo, exc, files)) from None
    status = result.get("status")
    if refused_drift is not None and status == "applied":
        extra["drift_recorded"] = len(records)
    elif refused_drift is not None and status in ("planned", "pending_approval", "queued"):
        extra["drift_pending"] = len(records)  # written if it applies: planned, or waiting
    return {**result, **extra}


def _operation_refused(exc, change_set, files: dict[str, str], refused: list[dict]) -> list[str]:
    """The gate refused one operation of the import's set (422): its problems as an import's, per file and
    field — a renamed attribute that other components name this one by, with each referrer's file and
    what to do — instead of the set's operation indexes. `refused`: what `--partial` refused (a
    referrer whose file it refused keeps the graph's config, whatever its file says)."""
    component = change_set.operations[exc.extra["operation"]].component
    where = files.get(component, component)
    referrers = exc.extra.get("referrers") or []
    if referrers:
        return [_referrer_line(where, component, r, files, refused) for r in referrers]
    return [
        f"{where}: {OPERATION_FIELD.sub('config', field)}: {message}"
        for field, messages in sorted(exc.errors.items())
        for message in messages
    ]


OPERATION_FIELD = re.compile(r"^changes\[\d+\]\.(proposed_change|config)")  # the set's field → the file's


def _pruned_still_referenced(repo, exc, files: dict[str, str]) -> list[str]:
    """`--prune` would delete components the tree lacks that others still name: worded as `karma seed`
    words it (app.changes.seed_sets.pruned_still_referenced), per file of the tree."""
    from app.changes.seed_sets import Source, pruned_still_referenced  # noqa: PLC0415

    dangling = exc.extra.get("referrers") or []
    environments = {cid: row["environment"] for cid, row in repo.existing([d["component"] for d in dangling]).items()}
    source = Source(
        noun="the tree",
        run="import",
        restore="put the file back",
        elsewhere=" (or import its environment with this one)",
    )
    return pruned_still_referenced(
        exc,
        files,
        lambda cid: tree_file({"id": cid, "environment": environments.get(cid, "<environment>")}),
        source,
    )


def _referrer_line(where: str, component: str, referrer: dict, files: dict[str, str], refused: list[dict]) -> str:
    name, attribute = referrer["component"], referrer["attribute"]
    head = (
        f"{where}: config.{attribute}: {name} names {component} by its {attribute} "
        f"({referrer['via']}: {referrer['value']!r}), which this import changes; it would no longer resolve"
    )
    via = referrer["via"]
    own, names_old = _refused_for_itself(name, via, refused)
    if own:  # whatever its file says of the zone, it is refused: the graph's config, naming the old value, stays
        also = f" and change its {via}" if names_old else ""
        return (
            f"{head} — {files[name]} is refused by this import ({'; '.join(own)}), so {name} keeps the old "
            f"{via}: fix that file{also} in the same import, or keep the old {attribute}"
        )
    if name in files:
        return f"{head} — change {via} in {files[name]} in the same import, or keep the old {attribute}"
    return (
        f"{head} — {name} is not in this import: change it first (or import its environment with this one), "
        f"or keep the old {attribute}"
    )


def _refused_for_itself(name: str, via: str, refused: list[dict]) -> tuple[list[str], bool]:
    """Why `--partial` refused the referrer `name` (field, why, rule), leaving out its reference through `via`
    to the old value — that one is the rename's doing, which changing `via` mends — and whether it has it."""
    theirs = [e for e in refused if e["component"] == name]
    old = [e for e in theirs if e["kind"] == "reference" and e["rule"].startswith(f"reference {via} ")]
    return [_what(e) for e in theirs if e not in old], bool(old)


def _refused_drift(repo, files: list[str], records: list[dict], environments: list[str] | None) -> dict | None:
    """What an import writes as :Drift records: the entries of its refused files (`--partial`) and of the
    components whose file the tree lacks (orphan), replacing the records of every file it covers — the
    tree's, those of the graph's components it lacks (a file that loads now, or is back, loses the
    record an earlier import left; a pruned component's goes with it), and any other record of the
    environments it imports: its file is in neither the tree nor the graph (a refused create whose file
    was deleted since), and no later import would ever cover it. Another environment's file keeps its
    own, whatever its component id. None when that would change nothing. Only the files that have a
    record, or get one, are named: the set and its audit entry stay the size of the drift, not of the
    tree."""
    # the environments' records, and those of a named file of another (none in practice: the tree and the
    # graph's components it lacks are of the environments imported), each looked up by its own index
    stored = repo.drift_records(environments, [f for f in files if not _in_environments(f, environments)])
    if _record_texts(stored) == _record_texts(records):
        return None
    recorded = {r["file"] for r in stored} | {e["file"] for e in records}
    return {"files": sorted(recorded), "entries": records}


def _in_environments(file: str | None, environments: list[str] | None) -> bool:
    """Whether a record's file (`iac/<environment>/…`, its key) is of an environment the import imports:
    every one without `--environment`."""
    parts = (file or "").split("/")
    return len(parts) > 1 and parts[0] == "iac" and (environments is None or parts[1] in environments)


def _cleared(refused_drift: dict, records: list[dict], tree_files: list[str], gone_files: list[str]) -> dict:
    """The files whose earlier drift record the import's records drop (`drift_cleared`): they load now
    (refused no more, or back in the tree) — or they are in neither the tree nor the graph
    (`drift_gone`, a refused create whose file was deleted). A pruned component's record goes with the
    component, said by its delete."""
    now, tree, graph = {e["file"] for e in records}, set(tree_files), set(gone_files)
    dropped = [f for f in refused_drift["files"] if f not in now and f not in graph]
    gone = [f for f in dropped if f not in tree]
    return ({"drift_cleared": dropped} if dropped else {}) | ({"drift_gone": gone} if gone else {})


def _record_texts(records: list[dict]) -> list[str]:
    """Drift records as comparable texts: what a :Drift node stores (a stored record has no null
    property: Neo4j drops them; the read adds `in_graph`, which is no part of the record)."""
    return sorted(json.dumps({k: v for k, v in _stored(r).items() if v is not None}, sort_keys=True) for r in records)


def _gone_files(repo, lacking: list[str]) -> list[dict]:
    """The graph's components the tree lacks (`desired_set`'s, in the environments imported), each with
    the file it would have: {id, type, environment, file}."""
    rows = repo.existing(lacking) if lacking else {}
    out = []
    for cid in lacking:
        row = rows.get(cid)
        if row is None:  # deleted meanwhile: nothing to say of it
            continue
        file = tree_file({"id": cid, "environment": row["environment"]})
        out.append({"id": cid, "type": row["type"], "environment": row["environment"], "file": file})
    return out


ORPHAN_RULE = "import: config file in the tree"


def _orphan(gone: dict) -> dict:
    """Orphan drift: a component the graph holds that the imported tree has no config file for — deleted,
    its directory renamed, or never there (a component seeded or created through the API) — kept, since the
    import did not `--prune` it, and said where `karma drift` looks, not only in the import's note. The
    message claims no history: the graph does not know whether the file was ever in the tree."""
    return drift.entry(
        "orphan",
        gone["id"],
        "config",
        ORPHAN_RULE,
        "the imported tree has no config file for it (deleted, renamed, or never there: a seeded component): "
        "add it, or import with --prune to delete the component",
        type=gone["type"],
        environment=gone["environment"],
        file=gone["file"],
    )


def _unchanged_audit(
    directory: Path,
    identity: str,
    environments: list[str] | None,
    partial: bool,
    refused: list[dict],
    orphans: list[dict],
) -> dict:
    """The audit entry of an import that changes no component: it still replaces the :Drift records of the
    files it covers, so it is recorded like any other write."""
    files = sorted({e["file"] for e in refused})
    orphaned = [e["component"] for e in orphans]
    found = ([f"--partial: {len(files)} file(s) refused"] if partial else []) + (
        [f"{len(orphaned)} component(s) not in the tree"] if orphaned else []
    )
    return audit_entry(
        kind="import",
        log_id=new_id("log"),
        now=utcnow(),
        requested_by=identity,
        status=UNCHANGED,
        note=f"import of {directory}: no component changed ({'; '.join(found) or 'nothing found'}, recorded as drift)",
        request={
            "source": str(directory),
            "environments": environments or [],
            "partial": partial,
            "refused": files,
            "orphaned": orphaned,
        },
    )


def _drift_summary(partial: bool, refused: list[dict]) -> dict:
    if not partial:
        return {}
    files = sorted({e["file"] for e in refused})
    return {"partial": True, "refused": files, "drift": refused}


def _refuse_with_count(doc: dict) -> None:
    """Nothing to do when the whole tree is valid; otherwise ImportError_ with every problem (file, field,
    why) and how many of its configs `--partial` would load."""
    refusal = _refusal(doc)
    if refusal is not None:
        raise refusal


def _refusal(
    doc: dict, graph_rows: list[dict] | None = None, otherwise: list[str] | None = None
) -> ImportError_ | None:
    """An import refused whole: every refused file's problem (file, field, why, rule) — `otherwise` when the
    closure finds none — and how many configs `--partial` would load; None when nothing is refused."""
    kept, refused = closure(doc, graph_rows=graph_rows, refused_note=SEE_ITS_PROBLEMS)
    problems = [_problem(e) for e in refused] or list(otherwise or [])
    if not problems and otherwise is None:
        return None
    return ImportError_([*problems, _would_load(kept, doc)])


def _problem(entry: dict) -> str:
    """A refused file's drift entry as a line: its file, field, why and rule."""
    return f"{entry['file']}: {_what(entry)}"


def _what(entry: dict) -> str:
    """A drift entry's field, why and rule."""
    return f"{entry['field']}: {entry['message']} [{entry['rule']}]"


def _would_load(kept: dict, doc: dict) -> str:
    return f"{len(kept['components'])} of {len(doc['components'])} configs would load with --partial"


def _audit_refused(repo, directory: Path, identity: str, exc: ImportError_) -> None:
    from app.changes.seed_sets import audit_refused  # noqa: PLC0415

    audit_refused(repo, f"import of {directory}", str(directory), identity, exc.errors)


def import_tree(
    repo,
    directory: Path,
    *,
    identity: str,
    environments: list[str] | None = None,
    partial: bool = False,
    progress: Report = silent,
) -> dict:
    """Load the tree into an EMPTY graph as one audited bulk import (GraphNotEmpty otherwise: also when the
    graph kept the history of a component the tree has — Karma deleted it — whose create is then a change
    through the gate, judged by app.import_guard like any, and continuing its versions). With
    `partial`, its largest valid closure, the refused files' drift in the same transaction."""
    loaded = _BulkTree.read(directory, environments, partial, progress)
    if repo.list_components(type_=None, environment=None, skip=0, limit=1)["total"]:
        raise GraphNotEmpty(_NOT_EMPTY)
    if repo.deleted_ids([c["id"] for c in loaded.components]):
        raise GraphNotEmpty(_DELETED)
    components, edges, summary, records = loaded.components, loaded.edges, loaded.summary, loaded.records
    now = utcnow()
    refused_files = summary.get("refused", [])
    audit = audit_entry(
        kind="import",
        log_id=new_id("log"),
        now=now,
        requested_by=identity,
        status=IMPORTED,
        note=f"bulk import of {len(components)} components from {directory}"
        + (f" (--partial: {len(refused_files)} file(s) refused, recorded as drift)" if partial else ""),
        version_before=0,
        version_after=1,
        affected=summary["components"],
        request={
            "source": str(directory),
            "environments": environments or [],
            "components": summary["components"],
            "partial": partial,
            "refused": refused_files,
        },
    )
    rows = seeding.to_rows(components, {})
    # the records it covers are replaced as the gate path replaces them: the tree's files' and any other
    # record of its environments (no component here: a refused create whose file was deleted since)
    refused_drift = _refused_drift(repo, loaded.files, records, environments)
    result = repo.seed(
        rows,
        edges,
        now,
        audit=audit,
        require_empty=True,
        refused=refused_drift,
        progress=progress,
        cause="import",  # its components' first versions say the import made them, not a seed
    )
    if "not_empty" in result:  # someone loaded components between the check and the transaction
        raise GraphNotEmpty(_NOT_EMPTY)
    return (
        summary
        | _bulk_drift(refused_drift, records, loaded.files, result)
        | {
            "log_entry_id": result["log_entry_id"],
            "written": result["written"],
            "requested_by": identity,
        }
    )


def _bulk_drift(refused_drift: dict | None, records: list[dict], files: list[str], result: dict | None) -> dict:
    """What a bulk import says of the records it covers, as the gate path says it: those written, those it
    dropped (`drift_cleared`, `drift_gone`: no component of an empty graph lacks its file) — or that
    they already say what it refused (`drift_current`: none written). `result` None: its plan, which
    writes none and says which it would drop."""
    written = {} if result is None else {"drift_recorded": result.get("drift_recorded", 0)}
    if refused_drift is not None:
        return _cleared(refused_drift, records, files, []) | written
    if records:
        return {"drift_current": True}
    return {} if result is None else {"drift_recorded": 0}


def _stored(entry: dict) -> dict:
    """A drift entry as a :Drift node's properties (flat strings)."""
    keys = ("kind", "component", "type", "environment", "file", "field", "rule", "message", "target")
    return {k: entry.get(k) for k in keys}


_DELETED = (
    "the graph keeps the history of components the tree has (deleted through Karma): `karma import` sends "
    "the tree through the gate as a change set instead, so recreating them is judged and audited as a change"
)
_NOT_EMPTY = (
    "the graph already holds components: a bulk import is only for an empty graph (`karma import` "
    "sends the tree through the gate as a change set instead)"
)
