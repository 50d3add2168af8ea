"""What an import of a config tree must not undo: the Karma changes whose write-back to the tree has not
landed yet (`tree_behind`), and those whose write-back commit the tree's git history does not hold — Karma's
own working copy that lost it, another clone that never had it (`lost_write_backs`). The first is always
refused; the second unless the operator accepts reverting them (`--revert-lost-changes`), and then each is
named in the set's reason and the answer. A plain directory (no git) is warned about, not refused. Apart
from app/importing.py so that module stays the tree's reading and judging (docs/config-store.md)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from app.components import drift
from app.configstore.tree import ConfigTree


def guard(
    repo, change_set, files: dict[str, str], directory: Path, revert_lost: bool
) -> tuple[object, dict, list[str]]:
    """(the set to submit, what the import's answer says of it, the refusals) for an import's change set:
    `files` its components' tree files, `revert_lost` the operator's `--revert-lost-changes`."""
    lost, unchecked = lost_write_backs(repo, change_set, files, directory)
    said = {"unchecked": unchecked} if unchecked else {}  # a plain directory may be behind the repository
    refusals = tree_behind(repo, change_set, files) + ([] if revert_lost else [lost_line(w) for w in lost])
    if lost and not refusals:  # accepted: said in the set's reason (its audit entry, its write-back) and answer
        change_set = dataclasses.replace(change_set, reason=reverting(change_set.reason, lost))
        said["reverts"] = lost
    return change_set, said, refusals


def tree_behind(repo, change_set, files: dict[str, str]) -> list[str]:
    """The components this import would change whose last change through Karma the config store has not
    written to the tree yet (its write-back pending, retrying, or failed on a conflict): the tree is behind
    the graph there, so importing it would silently undo that change. Refused, one line per change, naming
    its outbox entry and what to do — never applied."""
    ids = sorted({op.component for op in change_set.operations if op.component})
    lines = []
    for row in repo.config_store_unwritten(ids):
        error = drift.first_clause(row["last_error"])  # why, without the advice that follows
        lines.append(
            f"{files.get(row['component'], row['component'])}: {row['component']} was changed through Karma by "
            f"{row['change_id']}, not written to the tree yet (karma outbox list: {row['id']} {row['state']}"
            f"{': ' + error if error else ''}); this import would undo it — let the write-back land first "
            "(a conflict it names: settle it as it says), then import"
        )
    return lines


def lost_write_backs(repo, change_set, files: dict[str, str], directory: Path) -> tuple[list[dict], list[dict]]:
    """(lost, unchecked) for the components this import would change whose config now comes from a Karma
    change written back to the config tree as a git commit. Lost: the tree is a git work tree whose HEAD's
    history does not hold that commit — Karma's own working copy that lost it (a `git reset`, another branch,
    a force-pull), or another clone of the repository that never had it (not pulled yet, a branch without
    it); a cherry-pick or a rebase of it still holds it — so importing it would silently revert the change:
    [{component, file, change_id, commit, entry, in_repository, written_here, work_tree}]. The commit is the
    one the delivery recorded, or for an entry delivered before Karma recorded commits the one carrying its
    event id trailer in this repository (refs and reflogs; none found: nothing to check). Unchecked: the
    tree is no git work tree, so nothing tells whether it holds the commit — warned, not refused. The twin of
    `tree_behind` (a write-back not landed yet); a constant number of git processes."""
    ids = sorted({op.component for op in change_set.operations if op.component})
    written = repo.config_store_written(ids)  # none with the config store off: no git run then
    tree = ConfigTree(directory)
    here = tree.work_tree() if written else None
    if here is None:  # a plain directory: no history to ask
        return [], [_named(w, files) for w in written if w["commit"]]
    found = tree.commits_of(w["event_id"] for w in written if not w["commit"])
    written = [{**w, "commit": w["commit"] or found.get(w["event_id"])} for w in written]
    written = [w for w in written if w["commit"]]  # none found: it committed nothing, or this clone lacks it
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


def _named(written: dict, files: dict[str, str]) -> dict:
    """A component's config-store write-back as an import names it: its file, the change, the commit, and
    the working copy Karma committed it in (None: not recorded — delivered before Karma recorded it)."""
    component = written["component"]
    keys = ("change_id", "commit", "work_tree")
    return {"component": component, "file": files.get(component, component)} | {k: written[k] for k in keys}


REVERT_LOST_FLAG = "--revert-lost-changes"


def lost_line(lost: dict) -> str:
    """One refused component: its file, the change, its commit, why the tree lacks it, and the two ways out:
    Karma's own working copy lost it (restore it), or another clone does not hold it (pull it)."""
    sha = lost["commit"][:12]
    said = f"{lost['file']}: {lost['component']} was changed through Karma by {lost['change_id']}, written back as"
    said += f" commit {sha}" + ("" if lost["written_here"] or not lost["work_tree"] else f" in {lost['work_tree']}")
    said += f" (karma outbox list: {lost['entry']})"
    pick, otherwise = f"git cherry-pick {sha}", f"; or import with {REVERT_LOST_FLAG} to revert it"
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


def reverting(reason: str | None, lost: list[dict]) -> str:
    """The set's reason, naming each change it reverts (the audit entry, and the tree's commit, say it)."""
    changes = ", ".join(sorted({w["change_id"] for w in lost}))
    return f"{reason}; reverts {changes} (its write-back commit is not in the tree's history: {REVERT_LOST_FLAG})"
