"""What a load of a config source must not undo: the Karma changes the config store writes back. For an
import of a config tree (`karma import DIR`): those whose write-back has not landed yet (`tree_behind`),
and those whose write-back commit the tree's git history does not hold — Karma's own working copy that
lost it, another clone that never had it (`lost_write_backs`). For a seed file (`karma seed FILE`): those
its file would revert (`seed_reverts`) — no write-back ever lands in a seed file, so the file says a Karma
change only where its author wrote it in. The first is always refused — but for a write-back that
diverged from a commit in the very tree imported (`tree_chosen`: importing it keeps the tree's side); the
others unless the operator accepts reverting them (`--revert-lost-changes`), and then each is named in the
set's reason and the answer. With the config store off (no write-back at all), a seed's or an import's
set is judged against each component's last change made around any source (`graph_only_reverts`): the
graph is its only record. A plain directory (no git) is warned about, not refused. Apart from
app/importing.py so that module stays the tree's reading and judging (docs/config-store.md)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from app.changes import merge_patch
from app.changes.operations import CONFIG_OPS
from app.components import drift
from app.configstore.tree import ConfigTree


@dataclasses.dataclass(frozen=True)
class Source:
    """What is loaded, as the guard asks it: `run` the command its lines name (`import`, `seed`),
    `directory` the tree imported (None: a seed file, which no write-back ever lands in), `config_store`
    Karma's own working copy (KARMA_CONFIG_STORE), where a write-back delivered before Karma recorded
    commits is looked for when the source's repository does not have it."""

    run: str
    directory: Path | None
    config_store: Path | None = None


def guard(repo, change_set, files: dict[str, str], source: Source, revert_lost: bool) -> tuple[object, dict, list[str]]:
    """(the set to submit, what the load's answer says of it, the refusals) for a load's change set: `files`
    its components' files (a tree's, or the seed file for each), `revert_lost` the operator's
    `--revert-lost-changes`. One read of the graph whatever the count (config_store_guard)."""
    ids = sorted({op.component for op in change_set.operations if op.component})
    found = repo.config_store_guard(ids)
    if source.directory is None:
        behind, unchecked = [], []
        lost = seed_reverts(change_set, found, files, source)
    else:
        chosen = tree_chosen(found["unwritten"], files, source)
        behind = tree_behind([r for r in found["unwritten"] if r["id"] not in {w["entry"] for w in chosen}], files)
        lost, unchecked = lost_write_backs(found["written"], files, source)
        lost += chosen
    lost += graph_only_reverts(change_set, found["graph_only"], files, source)
    said = {"unchecked": unchecked} if unchecked else {}  # a plain directory may be behind the repository
    refusals = behind + ([] if revert_lost else [lost_line(w, source) for w in lost])
    if lost and not refusals:  # accepted: said in the set's reason (its audit entry, its write-back) and answer
        change_set = dataclasses.replace(change_set, reason=reverting(change_set.reason, lost, source))
        said["reverts"] = lost
    return change_set, said, refusals


def tree_behind(unwritten: list[dict], files: dict[str, str]) -> list[str]:
    """The components an import would change whose last change through Karma the config store has not
    written to the tree yet (its write-back pending, retrying, or failed on a conflict): the tree is behind
    the graph there, so importing it would silently undo that change. Refused, one line per change, naming
    its outbox entry and what to do — never applied."""
    lines = []
    for row in unwritten:
        error = drift.first_clause(row["last_error"])  # why, without the advice that follows
        lines.append(
            f"{files.get(row['component'], row['component'])}: {row['component']} was changed through Karma by "
            f"{row['change_id']}, not written to the tree yet (karma outbox list: {row['id']} {row['state']}"
            f"{': ' + error if error else ''}); this import would undo it — let the write-back land first "
            "(a conflict it names: settle it as it says), then import"
        )
    return lines


DIVERGED = "Diverged:"  # app.configstore.handler.Diverged, as the delivery records it


def tree_chosen(unwritten: list[dict], files: dict[str, str], source: Source) -> list[dict]:
    """The write-backs an import of Karma's own working copy may revert when told: those that failed on a
    commit in that very tree that changed the same key another way (`Diverged`). The tree is not behind
    there — it says what the operator committed since — so importing it is the "keep the tree's" side of
    the conflict (the waiting write-back then finds the file saying what the graph holds, and is
    superseded); without `--revert-lost-changes` it is refused like any unwritten change, saying both
    sides. Another clone is not that tree: refused as before. Two git runs, only when one diverged."""
    diverged = [r for r in unwritten if (r["last_error"] or "").startswith(DIVERGED)]
    if not diverged or source.config_store is None:
        return []
    own = ConfigTree(source.config_store).work_tree()
    if own is None or own != ConfigTree(source.directory).work_tree():
        return []
    return [
        {
            "component": r["component"],
            "file": files.get(r["component"], r["component"]),
            "change_id": r["change_id"],
            "commit": None,
            "work_tree": own,
            "entry": r["id"],
            "in_repository": None,
            "written_here": True,
            "state": r["state"],
            "diverged": drift.first_clause(r["last_error"]),
        }
        for r in diverged
    ]


def lost_write_backs(written: list[dict], files: dict[str, str], source: Source) -> tuple[list[dict], list[dict]]:
    """(lost, unchecked) for the components an import would change whose config now comes from a Karma
    change written back to the config tree as a git commit. Lost: the tree is a git work tree whose HEAD's
    history does not hold that commit — Karma's own working copy that lost it (a `git reset`, another branch,
    a force-pull), or another clone of the repository that never had it (not pulled yet, a branch without
    it); a cherry-pick or a rebase of it still holds it — so importing it would silently revert the change:
    [{component, file, change_id, commit, entry, in_repository, written_here, work_tree}]. The commit is the
    one the delivery recorded, or for an entry delivered before Karma recorded commits the one carrying its
    event id trailer in this repository (refs and reflogs), else in Karma's own working copy (none found:
    nothing to check). Unchecked: the tree is no git work tree, so nothing tells whether it holds the commit
    — warned, not refused. The twin of `tree_behind` (a write-back not landed yet); a constant number of git
    processes."""
    written = [w for w in written if w["state"] == "delivered"]  # none with the config store off: no git run
    tree = ConfigTree(source.directory)
    here = tree.work_tree() if written else None
    if here is None:  # a plain directory: no history to ask
        return [], [_named(w, files) for w in written if w["commit"]]
    written = _committed(written, tree, here, source.config_store)
    lost = tree.lost({w["commit"]: w["event_id"] for w in written})
    return [
        {
            **_named(w, files),
            "entry": w["id"],
            "in_repository": lost[w["commit"]],
            "written_here": w["work_tree"] == here,
        }
        for w in written
        if w["commit"] in lost
    ], []


def _committed(
    written: list[dict], tree: ConfigTree | None, here: str | None, store: Path | None, only: bool = True
) -> list[dict]:
    """The delivered write-backs that committed (`only`; else every one, commit None where none is found),
    each with its commit: the one its delivery recorded, or —
    delivered before Karma recorded commits — the one carrying its event id trailer in the source's repository
    (`tree`, whose work tree is `here`), else in Karma's own working copy (`store`: a clone that never
    fetched it, a seed file; then that working copy is where it was made). One git run per repository asked,
    and Karma's own only for what the source's lacks. None found: it committed nothing (a write-back that
    found the file already saying it), or its commit is gone everywhere — nothing to check."""
    unrecorded = {w["event_id"] for w in written if not w["commit"]}
    found = {e: (sha, None) for e, sha in tree.commits_of(unrecorded).items()} if tree and unrecorded else {}
    missing = unrecorded - set(found)
    own = ConfigTree(store) if store is not None and missing else None
    own_top = own.work_tree() if own is not None else None
    if own_top is not None and own_top != here:
        found |= {e: (sha, own_top) for e, sha in own.commits_of(missing).items()}
    out = []
    for w in written:
        commit, where = (w["commit"], w["work_tree"]) if w["commit"] else found.get(w["event_id"], (None, None))
        if commit or not only:
            out.append({**w, "commit": commit, "work_tree": where})
    return out


def seed_reverts(change_set, found: dict, files: dict[str, str], source: Source) -> list[dict]:
    """The Karma changes a seed's set would revert: for each component it changes whose config now comes
    from a change the config store wrote back (or is still writing) — as a commit, or into a file that
    already said it (an import's own change: the tree says it) — whether its operation undoes what that
    change did — a delete, a create of what the change deleted, or an update whose merge patch changes a
    key (at any depth) the change changed. A seed file is no config tree: nothing lands in it, so it says
    a Karma change only where its author wrote it in, and a key the change did not touch is the seed's to
    change. [{component, file, change_id, commit, entry, in_repository, written_here, work_tree}], as an
    import's lost write-backs (commit None: not written back yet, or nothing to commit). Only the change
    each config now comes from is compared: an earlier change's key a later one left alone is not."""
    delivered = [w for w in found["written"] if w["state"] == "delivered"]
    delivered = _committed(delivered, None, None, source.config_store, only=False)
    undelivered = [w for w in found["written"] if w["state"] != "delivered"]
    ops = {op.component: op for op in change_set.operations if op.op in CONFIG_OPS}  # not an edge's
    out = []
    for w in sorted(delivered + undelivered, key=lambda w: w["component"]):
        if w["component"] in ops and _undoes(ops[w["component"]], w["before"], w["after"]):
            entry = {"entry": w["id"], "in_repository": None, "written_here": False}
            out.append({**_named(w, files), **entry} | ({} if w["state"] == "delivered" else {"state": w["state"]}))
    return out


def graph_only_reverts(change_set, graph_only: list[dict], files: dict[str, str], source: Source) -> list[dict]:
    """With the config store off, the Karma changes a load's set would revert whose only record is the graph:
    for each component it changes whose config now comes from a change through the API, the console or
    `karma request` (or a rollback) — not from a load, whose source says it — whether its operation undoes
    that change, as a seed's (`_undoes`). Karma writes nothing back then, so a seed file or a tree written
    before the change does not say it, and loading it would silently undo an approved change: refused as a
    lost write-back is, `--revert-lost-changes` the one way past. With the config store on, its entries say
    what is written (a change whose entry was pruned is not judged here: it was delivered long since)."""
    if source.config_store is not None:
        return []
    ops = {op.component: op for op in change_set.operations if op.op in CONFIG_OPS}
    return [
        {**_named(w | {"commit": None, "work_tree": None}, files), "entry": None, "in_repository": None}
        | {"written_here": False, "graph_only": True}
        for w in sorted(graph_only, key=lambda w: w["component"])
        if not w["load"] and w["component"] in ops and _undoes(ops[w["component"]], w["before"], w["after"])
    ]


def _undoes(op, before, after) -> bool:
    """Whether a seed's operation undoes the change that made a component's config `after` from `before`."""
    if op.op != "update":  # a delete, or a create of a component the change deleted
        return True
    return merge_patch.touches(op.proposed_change or {}, before, after)


def _named(written: dict, files: dict[str, str]) -> dict:
    """A component's config-store write-back as a load names it: its file, the change, the commit, and the
    working copy Karma committed it in (None: not recorded — delivered before Karma recorded it)."""
    component = written["component"]
    keys = ("change_id", "commit", "work_tree")
    return {"component": component, "file": files.get(component, component)} | {k: written[k] for k in keys}


REVERT_LOST_FLAG = "--revert-lost-changes"


def lost_line(lost: dict, source: Source) -> str:
    """One refused component: its file, the change, its commit, why the source lacks it, and the ways out:
    Karma's own working copy lost it (restore it), another clone does not hold it (pull it), a seed file
    does not say it (write it in) — or the flag."""
    sha = (lost["commit"] or "")[:12]
    said = f"{lost['file']}: {lost['component']} was changed through Karma by {lost['change_id']}"
    if lost["commit"]:
        said += f", written back as commit {sha}"
        said += "" if lost["written_here"] or not lost["work_tree"] else f" in {lost['work_tree']}"
    state = f" {lost['state']}" if lost.get("state") else ""
    if lost.get("graph_only"):
        return _graph_only_line(said, lost, source)
    if lost.get("diverged"):
        return _diverged_line(said, lost, state, source)
    said += f" (karma outbox list: {lost['entry']}{state})"
    otherwise = f"; or {source.run} with {REVERT_LOST_FLAG} to revert it"
    if source.directory is None:
        return (
            f"{said}, which {lost['file']} does not say (a seed file is no config tree: no write-back lands in it); "
            f"this seed would revert it — write the change into {lost['file']} (karma show {lost['component']}), "
            f"then seed{otherwise}"
        )
    pick = f"git cherry-pick {sha}"
    if not lost["written_here"] and not lost["in_repository"]:
        return (
            f"{said}; this tree does not have Karma's commit {sha} (fetch/pull the config repository first): "
            f"this import would revert it — pull it, then import{otherwise}"
        )
    if not lost["written_here"]:
        return (
            f"{said}, which this tree's history does not hold (not pulled yet, another branch, a reset); this import "
            f"would revert it — bring it in (git pull, {pick}, or reset to a ref that has it), then import{otherwise}"
        )
    where = "" if lost["in_repository"] else ", which is no longer in this repository either"
    restore = pick if lost["in_repository"] else f"git fetch a remote that has it, {pick}"
    return (
        f"{said}, which the tree's history no longer holds (a reset, another branch, a force-pull){where}; this "
        f"import would revert it — restore it ({restore}, or reset to a ref that has it), then import{otherwise}"
    )


def _graph_only_line(said: str, lost: dict, source: Source) -> str:
    """A change the config store being off leaves recorded in the graph only, which the source does not say."""
    where = "a seed file" if source.directory is None else "the tree"
    return (
        f"{said}, which {lost['file']} does not say (the config store is off: Karma writes no change back to "
        f"{where}, so the graph is the only record of it); this {source.run} would revert it — write the change "
        f"into {lost['file']} (karma show {lost['component']}), then {source.run}; or {source.run} with "
        f"{REVERT_LOST_FLAG} to revert it"
    )


def _diverged_line(said: str, lost: dict, state: str, source: Source) -> str:
    """A write-back that failed on a commit in the imported tree (Karma's own working copy) that changed the
    same key another way: both sides, the import being the tree's."""
    return (
        f"{said}, not written to the tree (karma outbox list: {lost['entry']}{state}: {lost['diverged']}): a "
        f"commit in this tree changed the same key another way; this import would undo Karma's change — keep "
        f"Karma's: git revert that commit (or restore the file), let the write-back land, then import; keep the "
        f"tree's: {source.run} with {REVERT_LOST_FLAG}"
    )


def reverting(reason: str | None, lost: list[dict], source: Source) -> str:
    """The set's reason, naming each change it reverts (the audit entry, and the tree's commit, say it)."""
    changes = ", ".join(sorted({w["change_id"] for w in lost}))
    why = "its write-back commit is not in the tree's history"
    if all(w.get("graph_only") for w in lost):
        why = f"the {'seed file' if source.directory is None else 'tree'} does not say it; the config store is off"
    elif source.directory is None:
        why = "the seed file does not say it"
    elif all(w.get("diverged") for w in lost):
        why = "a commit in the tree changed the same key another way"
    return f"{reason}; reverts {changes} ({why}: {REVERT_LOST_FLAG})"
