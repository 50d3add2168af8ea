"""Changed since: which of the keys a deferred write sets did another change modify after its requester saw
the component.

Three writes wait before they apply: a rollback (it undoes a change made earlier), a queued change (held
by a rule when it was asked) and a transition's change step (after a wait). Each is applied to the graph
as it is when its time comes and the rules judge it again, but only this compares it with what its
requester saw: applied over a later change to the same key, it would silently undo that change (a lost
update). One answer for all three, read from the component's version history under the write's locks:
the keys moved since, and the changes that moved them. A change to other keys is no conflict.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.errors import Conflict

CHANGED_SINCE = "changed_since"
DELETED = "<deleted>"  # what stands for the keys of a component deleted since


@dataclass(frozen=True)
class Seen:
    """What a deferred write's requester saw of one component: the keys the write sets, at `version` (the
    version a queued change was judged on, a transition's proposal verified on) or, for a rollback, at the
    version `written_by` (the change it undoes) wrote."""

    component: str
    keys: tuple[str, ...]
    version: int | None = None
    written_by: str | None = None


def seen_by(change_set, versions: dict[str, int]) -> list[Seen]:
    """What a deferred change set's requester saw: the top-level keys each of its updates sets, at the
    version of its component it was judged on (`versions`). An update made with `expected_version` keeps
    that stricter check instead (any move of its component refuses it); creates, deletes and edges set no
    key (a deletion since makes the change invalid: it says so itself)."""
    return [
        Seen(op.component, tuple(op.proposed_change or {}), version=versions[op.component])
        for op in change_set.operations
        if op.op == "update" and op.expected_version is None and op.component in versions
    ]


def changed_since(gtx, seen: Iterable[Seen], ignore: Iterable[str] = (), asked_after: str | None = None) -> dict | None:
    """`{keys: {component: [key]}, changes: [{change_id, component, keys, version, cause, at}]}`: every later
    version that moved one of the keys (a deletion moves them all: `<deleted>`), oldest first — those
    written by a change in `ignore` (a transition's own earlier steps), or by a change asked before
    `asked_after` (ISO time: for a queued change, the changes queued ahead of it, which FIFO applies first
    and which its requester could see waiting), aside — or None if none did. A version made by no change
    (a seed, an import) names its `cause`, with `change_id` null."""
    seen, ignored, keys, changes = list(seen), set(ignore), {}, []
    bases = [{"id": s.component, "version": s.version, "change_id": s.written_by} for s in seen]
    for s, history in zip(seen, gtx.config_histories(bases), strict=True):
        for before, after in zip(history, history[1:], strict=False):
            moved = _moved(s.keys, before, after)
            if not moved or _known(after, ignored, asked_after):
                continue
            shown = keys.setdefault(s.component, [])
            shown += [k for k in moved if k not in shown]
            changes.append(
                {
                    "change_id": after["change_id"],
                    "component": s.component,
                    "keys": moved,
                    "version": after["version"],
                    "cause": after["cause"],
                    "at": after["created_at"],
                }
            )
    return {"keys": keys, "changes": changes} if changes else None


def _known(version: dict, ignored: set[str], asked_after: str | None) -> bool:
    """A version its deferred write does not conflict with: its own (ignored) or asked before it."""
    if version["change_id"] is not None and version["change_id"] in ignored:
        return True
    return asked_after is not None and version["asked_at"] is not None and version["asked_at"] < asked_after


def _moved(keys: tuple[str, ...], before: dict, after: dict) -> list[str]:
    if after["deleted"]:
        return [DELETED]
    return [k for k in keys if before["config"].get(k) != after["config"].get(k)]


def described(found: dict) -> str:
    """The keys and who moved them, in words: `index_document of serverless-site/x (by chg-…)`."""
    parts = []
    for component, moved in found["keys"].items():
        by = sorted({_by(c) for c in found["changes"] if c["component"] == component})
        what = f"{component} was deleted" if moved == [DELETED] else f"{', '.join(moved)} of {component}"
        parts.append(f"{what} (by {', '.join(by)})")
    return "; ".join(parts)


def _by(change: dict) -> str:
    return change["change_id"] or f"a {change['cause']} at version {change['version']}"


def conflict(message: str, found: dict) -> Conflict:
    """The 409 (or, for a queued change, the rejection; for a transition, the stall) naming the keys and
    the changes: `message`, then what moved."""
    return Conflict(f"{message}: {described(found)}", cause=CHANGED_SINCE, keys=found["keys"], changes=found["changes"])


def require_unchanged(
    gtx, seen: Iterable[Seen], message: str, ignore: Iterable[str] = (), asked_after: str | None = None
) -> None:
    """Under the write's locks (a Write's guard, app.changes.gate): 409 `changed_since` when a later
    change moved a key the write sets (see changed_since for `ignore` and `asked_after`)."""
    found = changed_since(gtx, seen, ignore, asked_after)
    if found is not None:
        raise conflict(message, found)
