"""The config store's outbox handler.

The config store is a subscription like the webhooks (`destination: config-store`, synced from the
settings at start): so every commit that reports an `applied` event — a single change, a change set, a
rollback, a queued or approved change applied later, an import through the gate — also writes, in its
own transaction, one outbox entry for it. This handler delivers that entry AFTER the commit: a change
that rolled back has no entry and writes nothing; a committed one always has one, retried until written.

It consumes the event as every subscriber gets it (`data.change_id`, `log_entry_id`, `requested_by`),
and reads what the change wrote from the graph: the ConfigVersions of that change request (one per
created / updated / deleted component), exactly as committed — not the component as it is now, so a
late delivery never writes a later state under an earlier commit. Entries are written in commit order:
an entry waits (`Waiting`, retried after the base delay without using up an attempt: a long stall of
the earlier one never fails it) while an earlier one is undelivered. A
redelivered event (the worker died after writing, before recording it) is recognised by its
`Karma-Event-Id` trailer in the git history and not committed twice; a plain directory is simply
rewritten with the same bytes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

from app.changes import diff as config_diff
from app.changes import merge_patch
from app.graph.codec import same_value
from app.configstore.tree import CONFIG_FILE, EVENT_TRAILER, RUNTIME_FILE, ConfigTree, read_text, render
from app.graph.config_store import DESTINATION
from app.notifications.delivery import NotYet
from app.notifications.subscriptions import CONFIG_STORE_EVENTS as EVENTS  # noqa: F401 - re-exported

log = logging.getLogger("karma.configstore")


REMOVED = object()  # a planned path whose file a deleted component's write removes (_planned)
ABSENT = object()  # no config file at a path (the state a create starts from, a delete leaves)


class HandEdited(RuntimeError):
    """A file the change writes has uncommitted edits in the git work tree; the delivery is retried."""


class Diverged(RuntimeError):
    """A file the change writes was changed in the tree by a commit Karma has not imported (edited,
    deleted, or added where a create lands): writing would undo it; the delivery is retried."""


class Detached(RuntimeError):
    """The git work tree is on no branch: a commit there would be lost; the delivery is retried."""


class Waiting(NotYet):
    """An earlier config-store entry is not written yet; this one is retried after it."""


def handlers(repo, settings) -> dict[str, Callable[[dict], None]]:
    """The `deliver_pending` handlers of a process: the config store's when KARMA_CONFIG_STORE is set."""
    if settings.config_store is None:
        return {}
    return {DESTINATION: ConfigStoreHandler(repo, ConfigTree(settings.config_store))}


def summary(writes: list[dict], diff: list[dict], default_component: str | None) -> list[str]:
    """One line per component: `create <id>`, `delete <id>`, or `<id>: +added ~changed -removed`, a nested
    key by its path (`~functions.karma-graph-query.timeout`, as the plan's table names it): `git log
    --oneline` says which value moved, not only that something under `functions` did."""
    marks = {"added": "+", "changed": "~", "removed": "-"}
    keys: dict[str, list[str]] = {}
    entries = config_diff.leaves(diff) if isinstance(diff, list) else []  # a runtime report's: {before, after}
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        cid = entry.get("component") or default_component
        keys.setdefault(cid, []).append(f"{marks.get(entry.get('op'), '~')}{entry.get('key')}")
    lines = []
    for w in writes:
        if w["deleted"]:
            lines.append(f"delete {w['id']}")
        elif w["cause"] == "create":
            lines.append(f"create {w['id']}")
        elif w["cause"] == "runtime":
            lines.append(f"{w['id']}: runtime reported")
        else:
            lines.append(f"{w['id']}: {' '.join(sorted(keys.get(w['id'], []))) or 'config'}")
    return lines


def message(data: dict, event_id: str, lines: list[str]) -> str:
    """One git commit per change: the subject names its operations as every surface does (`karma log`,
    `karma changes`, the events' `operations`), and a rollback says which change it undoes; the body has
    one line per component written."""
    names = data.get("operations") or []
    if len(lines) == 1:
        said = lines[0]
    elif names:
        said = f"{len(names)} operations: " + ", ".join(names)
    else:
        said = f"{len(lines)} components"
    if data.get("rollback_of"):  # `git log --oneline` tells an undo from a change of the same keys
        said = f"{said} (rollback of {data['rollback_of']})"
    head = f"{data.get('log_entry_id')}: {said}"
    body = "\n".join(lines) if len(lines) > 1 else ""
    trailers = [
        f"Karma-Change-Id: {data['change_id']}" if data.get("change_id") else None,
        f"Karma-Requested-By: {data.get('requested_by')}",
        f"Karma-Approved-By: {data['approved_by']}" if data.get("approved_by") else None,
        f"Karma-Rollback-Of: {data['rollback_of']}" if data.get("rollback_of") else None,
        f"{EVENT_TRAILER}: {event_id}",
    ]
    reason = data.get("reason")
    parts = [head[:200], body, reason or "", "\n".join(t for t in trailers if t)]
    return "\n\n".join(p for p in parts if p) + "\n"


def tree_state(path: Path) -> object:
    """What the tree says of a config: its JSON (compared as values: a hand-formatted file that says the
    same is the same), ABSENT when there is no file, the text itself when it is not JSON."""
    if not path.is_file():
        return ABSENT
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _state(config: object) -> object:
    """A config read from the graph as a tree state: none is no file."""
    return ABSENT if config is None else config


def _says(found: object, state: object) -> bool:
    """The tree says `state`: JSON values compared exactly (codec.same_value) — Python's `1 == 1.0 ==
    True` would take a tree commit that made a `1` `true` for no change, and the write-back would then put
    the `1` back under a commit naming another key; ABSENT only says ABSENT."""
    if found is ABSENT or state is ABSENT:
        return found is state
    return same_value(found, state)


def _merged(found: object, before: object, after: object) -> dict | None:
    """The file a commit in the tree changed (`found`, from `before`) with an update's change (`before` →
    `after`) written into it, when the two changed different keys (at any depth): both kept, the commit's
    edit and Karma's change — what a writer that picked a side would lose one of. A key both changed alike is
    no overlap (a file an interrupted attempt already merged says the change). None when they overlap (one
    key changed two ways, or a file deleted, created, or not JSON): that is the operator's to settle."""
    if not all(isinstance(config, dict) for config in (found, before, after)):
        return None
    both = merge_patch.apply(found, merge_patch.create(before, after))
    pending = merge_patch.create(found, both)  # what of the change the file does not say yet
    return None if merge_patch.touches(pending, before, found) else both


class ConfigStoreHandler:
    def __init__(self, repo, tree: ConfigTree):
        self.repo = repo
        self.tree = tree

    def __call__(self, entry: dict) -> dict | None:
        """Write one entry's change into the tree → its receipt in a git work tree, {commit, work_tree}: the
        delivery records it on the entry, so an import of that working copy can tell when its history lost
        the commit (app.import_guard.lost_write_backs). None when nothing was committed (a plain directory,
        a file already saying it)."""
        blocker = self.repo.config_store_blocker(entry)
        if blocker is not None:
            raise Waiting(f"waiting for the earlier config-store entry {blocker['id']} ({blocker['state']})")
        event = json.loads(entry["body"])
        data = event.get("data") or {}
        found = self.repo.config_store_writes(
            change_id=data.get("change_id"),
            log_entry_id=data.get("log_entry_id"),
            component_id=data.get("component"),
            version=data.get("version_after"),
        )
        writes = found["writes"]
        if not writes:  # nothing this change wrote is a config (it cannot happen for `applied`)
            log.warning("config store: nothing to write", extra={"event_id": event["id"]})
            return None
        with self.tree.locked():
            git = self.tree.git_dir() is not None
            earlier = self.tree.committed(event["id"]) if git else None
            if earlier is not None:
                log.info("config store: already committed", extra={"event_id": event["id"], "commit": earlier})
                self._landed(self._planned(writes))  # an earlier attempt died before it could say so
                return self._receipt(earlier)
            planned = self._planned(writes)
            if git and self.tree.branch() is None:
                raise Detached(
                    f"{self.tree.directory} is on no branch (a detached HEAD, a rebase in progress): a commit there "
                    "would be lost at the next checkout; check out the branch the config store commits to. Retried "
                    "(once failed: karma outbox retry); later write-backs wait"
                )
            if git:
                self._refuse_hand_edits(planned, self._befores(writes))
                superseded, merged = self._superseded_or_refuse_divergence(writes, data.get("change_id"))
                for gone in superseded:
                    log.info(
                        "config store: superseded",
                        extra={"event_id": event["id"], "directory": str(gone.relative_to(self.tree.directory))},
                    )
                    planned = {p: v for p, v in planned.items() if p.parent != gone}
                for path in merged:
                    log.info(
                        "config store: merged with a tree commit",
                        extra={"event_id": event["id"], "file": str(path.relative_to(self.tree.directory))},
                    )
                planned |= merged
            paths = self._apply(planned)
            if git:
                lines = summary(writes, found["diff"], data.get("component"))
                commit = self.tree.commit(
                    paths, author=data.get("requested_by"), message=message(data, event["id"], lines)
                )
                log.info(
                    "config store: committed", extra={"event_id": event["id"], "commit": commit, "files": len(paths)}
                )
                self._landed(planned)
                return self._receipt(commit)
            self._landed(planned)
        return None

    def _landed(self, planned: dict[Path, object]) -> None:
        """The config files now in the tree end their orphan drift records ("the imported tree has no config
        file for it"): a seeded component's first write-back adds its file, and `karma drift` said otherwise
        until the next import. After the commit: a failure here is a retried delivery, which finds the commit
        and says it again."""
        files = [
            str(path.relative_to(self.tree.directory))
            for path, value in planned.items()
            if path.name == CONFIG_FILE and value is not REMOVED
        ]
        dropped = self.repo.config_store_landed(files)
        if dropped:
            log.info("config store: orphan drift ended", extra={"files": files, "dropped": dropped})

    def _receipt(self, commit: str | None) -> dict | None:
        """What the delivery records of a write-back: its commit and the working copy it was made in."""
        return None if commit is None else {"commit": commit, "work_tree": self.tree.work_tree()}

    def _planned(self, writes: list[dict]) -> dict[Path, object]:
        """What the writes leave at each path: the value written there (a config, or a runtime where the
        tree keeps runtime files), or REMOVED (a deleted component's files) — the one decision both the
        hand-edit check and the write follow."""
        planned: dict[Path, object] = {}
        for w in writes:
            where = self.tree.component_dir(w["environment"], w["type"], w["nickname"])
            if w["deleted"]:
                planned[where / CONFIG_FILE] = planned[where / RUNTIME_FILE] = REMOVED
            elif w["cause"] == "runtime":  # a runtime report: only where the tree keeps runtime files
                if (where / RUNTIME_FILE).is_file():
                    planned[where / RUNTIME_FILE] = w["runtime"]
            else:
                planned[where / CONFIG_FILE] = w["config"]
        return planned

    def _befores(self, writes: list[dict]) -> dict[Path, dict]:
        """Each updated config file's config before the change (what a merge with a tree commit starts from)."""
        return {
            self.tree.component_dir(w["environment"], w["type"], w["nickname"]) / CONFIG_FILE: w["before"]
            for w in writes
            if w["cause"] not in ("runtime", "create") and not w["deleted"]
        }

    def _rewritten(self, path: Path, value: object, before: object) -> set[str | None]:
        """What this change's write makes of the file as HEAD has it: its value in the file's text, or — the
        committed file changed by a commit Karma has not imported — the two merged (`_merged`)."""
        committed = self.tree.committed_text(path)
        if value is REMOVED:
            return {None}
        out = {render(value, committed)}
        try:
            both = _merged(json.loads(committed), before, value) if committed is not None else None
        except ValueError:
            both = None
        return out | ({render(both, committed)} if both is not None else set())

    def _refuse_hand_edits(self, planned: dict[Path, object], befores: dict[Path, dict]) -> None:
        """A file this change writes that has uncommitted changes in the work tree (a hand edit, staged or
        not) would be overwritten and its edit lost without a trace: refuse (a failed attempt, retried, as a
        refusing hook is) until the operator commits or discards it. What an earlier attempt of this same
        entry left (the worker died between writing and committing) is exactly what it would write again,
        so it is no hand edit: the file as HEAD has it, changed as the write changes it (merged with a tree
        commit where it was: `_rewritten`)."""
        edited = [
            path
            for path in self.tree.uncommitted(list(planned))
            if read_text(path) not in self._rewritten(path, planned[path], befores.get(path))
        ]
        if edited:
            names = ", ".join(str(p.relative_to(self.tree.directory)) for p in edited)
            raise HandEdited(
                f"{names}: uncommitted changes in the work tree would be overwritten; commit or discard "
                "them (git checkout -- <path>); the write-back is retried (once failed: karma outbox retry)"
            )

    def _superseded_or_refuse_divergence(
        self, writes: list[dict], change_id: str | None
    ) -> tuple[list[Path], dict[Path, dict]]:
        """Each config file this change writes must still say what Karma last knew of it — the config
        before the change (none for a create), or already the change's own — or the write would undo a
        commit made in the tree that no import brought in, and the commit subject would not even name it.
        Such a file is refused (Diverged, retried as a hand edit is) until the operator picks a side —
        unless the commit and the change changed different keys (`_merged`): then the change is written
        into the file as the commit left it, keeping the commit's keys (a three-way merge, as git makes).
        A file that says what the graph holds NOW (the tree's edit made through Karma meanwhile)
        is superseded: this older state is not written over it. → (the component directories to leave,
        {file: the merged config to write}). (An import cannot bring such an edit in meanwhile: it refuses
        to undo a change not written back yet.)"""
        superseded, diverged, merged = [], [], {}
        for w in writes:
            if w["cause"] == "runtime":
                continue
            where = self.tree.component_dir(w["environment"], w["type"], w["nickname"])
            found = tree_state(where / CONFIG_FILE)
            after = ABSENT if w["deleted"] else w["config"]
            before = ABSENT if w["cause"] == "create" else w["config"] if w["deleted"] else w["before"]
            if _says(found, after) or _says(found, _state(before)):
                continue
            if _says(found, _state(w["current"])):
                superseded.append(where)
            elif found is ABSENT and self.tree.last_commit(where / CONFIG_FILE) is None:
                continue  # a component the tree never had a file for: the write adds it
            elif (both := _merged(found, before, after)) is not None:
                merged[where / CONFIG_FILE] = both
            else:
                diverged.append(where / CONFIG_FILE)
        if diverged:
            raise Diverged(self._divergence_message(diverged, change_id))
        return superseded, merged

    def _divergence_message(self, paths: list[Path], change_id: str | None) -> str:
        """Name each file and the commit that changed it, and the two ways out."""
        tree = self.tree
        named = "; ".join(
            f"{p.relative_to(tree.directory)} ({'last changed' if p.is_file() else 'deleted'} by {tree.last_commit(p)})"
            for p in paths
        )
        return (
            f"{named}: a commit no import brought in; writing {change_id or 'this change'} would undo it. Keep "
            "Karma's: git revert that commit, or restore the file. Keep the tree's: make the component what the "
            "tree says through Karma (karma import of this tree with --revert-lost-changes, or karma request; a "
            "deleted file: delete it); this then writes nothing over it. "
            "Retried (once failed: karma outbox retry); later write-backs wait"
        )

    def _apply(self, planned: dict[Path, object]) -> list[Path]:
        """Write (or remove) each planned file → every path touched. A removed file's component directory
        goes with it, and each directory that emptied (a second removal in it finds nothing left)."""
        for path, value in planned.items():
            if value is REMOVED:
                self.tree.remove(path.parent)
            else:
                self.tree.write(path, value)
        return list(planned)
