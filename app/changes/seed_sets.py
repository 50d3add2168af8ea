"""`karma seed FILE` through the gate: the change set that turns the graph into the file.

Into an EMPTY graph the file may go in as one bulk load (app.seeding.load), recorded as one audited
`import` entry. Into a graph that already holds components, the file is a desired state: components it
has and the graph lacks are created, components whose config differs are updated (a merge patch from
the graph's config to the file's), explicit edges the file has and the graph lacks are added, and — only
with `prune` — components (and explicit edges of the file's components) the graph has and the file lacks
are deleted. That set then goes through the pipeline like any request: validated, ordered,
judged by the rules, committed in one transaction with one audit entry, under the operator's identity.
Runtime is never touched (deploys report it); a file's runtime outputs only count for the first load.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app import import_guard, seeding
from app.audit.entries import audit_entry
from app.changes import merge_patch
from app.changes.sets import ChangeSet, Operation
from app.audit.statuses import REFUSED
from app.changes.set_analysis import STILL_REFERENCED
from app.changes.status import ChangeStatus
from app.clock import utcnow
from app.errors import Conflict, Unprocessable
from app.ids import new_id
from app.progress import Report, silent

log = logging.getLogger("karma.seed")


@dataclass(frozen=True)
class Source:
    """How a refusal names what `karma seed` or `karma import` loads, so both word one problem alike:
    `noun` the whole source ("the tree", "the file"), `run` the command, `restore` how to undo a removal,
    `elsewhere` what to add to a referrer outside the source ("" or " (or import its environment …)")."""

    noun: str
    run: str
    restore: str
    elsewhere: str = ""


def desired_set(
    repo,
    doc,
    *,
    requested_by: str,
    reason: str,
    prune: bool = False,
    via: str = "cli",
    present: frozenset[str] = frozenset(),
    environments: list[str] | None = None,
) -> tuple[ChangeSet | None, list[str], list[str]]:
    """(the change set, notes, lacking) that turns the graph into `doc`; the set None when the graph already
    is the file. `lacking`: the components the graph has and the source lacks — deleted with `prune`, kept
    (and noted) without; never a component the source does hold but leaves out of `doc` (`present`: a
    partial import's refused files), nor one outside `environments` (an import of some environments
    prunes those only). An import records the kept ones as orphan drift (app.importing)."""
    raw = doc.get("components") if isinstance(doc, dict) else None
    raw = raw if isinstance(raw, list) else []
    current = repo.seed_state(sorted(set(seeding.file_ids(doc)) | seeding.referenced_ids(doc)))
    components, edges = seeding.validate(
        doc,
        {cid: {"environment": c["environment"], "type": c["type"]} for cid, c in current.items()},
        repo.reference_values(seeding.lookups(raw)),
    )
    ops, notes, errors = [], [], {}
    for comp in components:
        old = current.get(comp["id"])
        if old is None:
            ops.append(Operation("create", comp["id"], environment=comp["environment"], config=comp["config"]))
            if comp["runtime"]:
                notes.append(f"{comp['id']}: runtime in the file ignored (deploys report runtime)")
        elif old["environment"] != comp["environment"]:
            errors[comp["id"]] = [
                f"environment {old['environment']!r} cannot become {comp['environment']!r}; "
                "delete and create it instead"
            ]
        elif old["config"] != comp["config"]:
            ops.append(
                Operation("update", comp["id"], proposed_change=merge_patch.create(old["config"], comp["config"]))
            )
    if errors:
        raise Unprocessable("the seed file cannot be applied to this graph", errors=errors)
    keep = {c["id"] for c in components} | present
    lacking = [cid for cid in repo.component_ids(environments) if cid not in keep]
    if prune:
        ops += [Operation("delete", cid) for cid in lacking]
    elif lacking:  # a file deleted from the tree changes nothing without --prune: the answer says so
        notes.append(kept_without_prune(lacking))
    ops += _edge_operations(repo, components, edges, prune)
    if not ops:
        return None, notes, lacking
    return ChangeSet(tuple(ops), requested_by, reason, "reject", via=via), notes, lacking


KEPT_SHOWN = 10  # components named in the note on what --prune would delete; the rest counted


def kept_without_prune(ids: list[str]) -> str:
    """The note on the components the graph holds and the source lacks, kept without `--prune` (a file
    removed from a tree, or renamed: the old component stays, said nowhere)."""
    shown = ", ".join(ids[:KEPT_SHOWN]) + (f", … {len(ids) - KEPT_SHOWN} more" if len(ids) > KEPT_SHOWN else "")
    return f"{len(ids)} component(s) not in the source kept (--prune would delete them): {shown}"


def apply_file(
    repo,
    gate,
    path: Path,
    *,
    requested_by: str,
    plan: bool = False,
    prune: bool = False,
    revert_lost: bool = False,
    config_store: Path | None = None,
    progress: Report = silent,
) -> dict:
    """Load `path`: a bulk import into an empty graph, else its change set through the gate. `progress`
    hears the batches a bulk load writes, or the set's operations once the gate has judged them. A set that
    would revert a Karma change the config store wrote back (or is writing) is refused naming each, unless
    `revert_lost` (app.import_guard, as `karma import`; `config_store` Karma's own working copy). A refused
    file (SeedError: unreadable, invalid, or a --prune that would leave a reference dangling) is audited,
    as `karma import` audits its refusals; a plan writes nothing, so it is not."""
    try:
        guarded = import_guard.Source("seed", None, config_store), revert_lost
        return _apply_file(repo, gate, path, requested_by, plan, prune, guarded, progress)
    except seeding.SeedError as exc:
        if plan:  # a plan writes nothing: what it says is that the seed would be refused
            raise seeding.SeedError(exc.errors, planned=True) from None
        audit_refused(repo, f"seed of {path}", str(path), requested_by, exc.errors)
        raise


KEEPS_HISTORY = (
    "the graph keeps the history of components the file has (deleted through Karma): not seeded at start — "
    "`karma seed FILE` sends the file through the gate, judged as a change"
)


def _apply_file(repo, gate, path: Path, requested_by: str, plan: bool, prune: bool, guarded, progress: Report) -> dict:
    doc = seeding.read_file(path)
    if repo.component_count() == 0 and not plan and not repo.deleted_ids(seeding.file_ids(doc)):
        audit = audit_entry(
            kind="import",
            log_id=new_id("log"),
            now=utcnow(),
            requested_by=requested_by,
            status=str(ChangeStatus.APPLIED),
            reason=f"seed {path}",
            via="cli",
        )
        result = seeding.load(repo, path, audit=audit, progress=progress)
        return {"seed": "import", "log_entry_id": audit["id"], **result}
    if gate is None:  # `karma serve`'s start-up seed is a bulk load only: a graph emptied through Karma is not one
        return {"seed": "skipped", "notes": [KEEPS_HISTORY]}
    change_set, notes, _lacking = desired_set(repo, doc, requested_by=requested_by, reason=f"seed {path}", prune=prune)
    if change_set is None:
        return {"seed": "change-set", "status": "unchanged", "changes": 0, "notes": notes}
    files = dict.fromkeys((c["id"] for c in doc["components"]), str(path))  # validated: every one has an id
    change_set, said, refusals = import_guard.guard(repo, change_set, files, *guarded)
    if refusals:
        raise seeding.SeedError(refusals)
    try:
        result = submit(gate, change_set, plan=plan, progress=progress)
    except Conflict as exc:
        if exc.extra.get("cause") != STILL_REFERENCED:  # a version moved meanwhile: the gate's answer as it is
            raise
        source = Source(noun="the file", run="seed", restore="put it back")
        raise seeding.SeedError(pruned_still_referenced(exc, files, lambda _cid: str(path), source)) from None
    return {**result, "seed": "change-set", "notes": notes, **said}


def pruned_still_referenced(
    exc: Conflict, files: dict[str, str], gone_file: Callable[[str], str], source: Source
) -> list[str]:
    """`--prune` would delete components the source lacks that others still name (the gate's 409, worded as
    the set's `referrer (key) → component`): per deleted component's file (`gone_file`), each referrer
    with its file (`files`, or that it is outside the source) and what to do — for an operator, the same
    for `karma seed` and `karma import`."""
    back = f"or {source.restore} (or {source.run} without --prune)"
    lines = []
    for d in exc.extra.get("referrers") or []:
        target, referrer, key = d["component"], d["referrer"], d["key"]
        head = (
            f"{gone_file(target)}: not in {source.noun}, so --prune would delete {target}, "
            f"which {referrer} still names by {key}"
        )
        if referrer in files:
            lines.append(f"{head} — change {key} in {files[referrer]} in the same {source.run}, {back}")
        else:
            lines.append(f"{head} — {referrer} is not in this {source.run}: change it first{source.elsewhere}, {back}")
    return lines


def audit_refused(repo, what: str, source: str, identity: str, problems: list[str]) -> None:
    """A refused seed or import leaves an audit entry: who, what, how many problems. The problems name
    files, fields and rules; the only text of a file they quote is a misread YAML number (`017`, `1:30`),
    as the operator wrote it, to say how to write it."""
    entry = audit_entry(
        kind="import",
        log_id=new_id("log"),
        now=utcnow(),
        requested_by=identity,
        status=REFUSED,
        note=f"{what} refused: {len(problems)} problem(s), nothing loaded",
        request={"source": source, "problems": problems[:200]},
    )
    try:
        repo.record_refusal(entry, None)
    except Exception:  # noqa: BLE001 - the refusal stands whether or not its record could be written
        log.warning("refused load not audited", extra={"source": source})


def submit(gate, change_set: ChangeSet, *, plan: bool, progress: Report = silent) -> dict:
    """The set planned, or requested through the gate. It is judged and committed whole, in one
    transaction, so `progress` hears ("operations", 0, n) before and (n, n) once the gate answered."""
    total = len(change_set.operations)
    progress("operations", 0, total)
    result = gate.plan(change_set) if plan else gate.request_change(change_set)
    progress("operations", total, total)
    return result


def _edge_operations(repo, components: list[dict], edges: list[dict], prune: bool) -> list[Operation]:
    """The file's explicit edges the graph lacks are added; with `prune`, the explicit edges going out of
    the file's components that the file lacks are removed."""
    wanted = {(e["source"], e["target"], e["kind"]) for e in edges if e["via"] == seeding.EXPLICIT_VIA}
    have = {(e["source"], e["target"], e["kind"]) for e in repo.explicit_edges([c["id"] for c in components])}
    ops = [Operation("add_edge", s, target=t, kind=k) for s, t, k in sorted(wanted - have)]
    if prune:
        ops += [Operation("remove_edge", s, target=t, kind=k) for s, t, k in sorted(have - wanted)]
    return ops
