"""Short handles for the long signed ids the API issues (plan ids, transition proposal ids: 450–800
characters). `karma plan` prints `plan-3f9a2c1d`; `karma apply plan-3f9a2c1d` finds the full id again in a
small local file (KARMA_HANDLES_FILE, default ~/.cache/karma/handles.json). The full id always works too,
and `--json` prints it. A handle is a digest of the id, so the same plan always gets the same handle."""

from __future__ import annotations

import base64
import json
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from app.ids import handle_of

KEEP = 500  # the newest handles kept


@dataclass(frozen=True)
class SignedKind:
    """What a kind of signed id is, the command that makes it and the one that takes it. Neither kind is
    stored by the service, so a refusal of its handle (a typo, an unknown one, `karma show` of one) names
    where one comes from and where it goes — every such message reads them here."""

    name: str  # "plan", "transition proposal"
    made_by: str  # the command that prints one (its handle; `--json`: the full id)
    taken_by: str  # the command that takes one, handle or full id
    does: str  # what `taken_by` does with it


# by a handle's prefix (app.ids.SIGNED_KINDS maps a full id's prefix to the same keys)
SIGNED = {
    "plan": SignedKind("plan", "karma plan", "karma apply", "applies exactly that plan"),
    "prop": SignedKind(
        "transition proposal",
        "karma transitions propose",
        "karma transitions execute",
        "runs it (and prints the transition it stores, `trn-…`, which `karma show` shows)",
    ),
}
HANDLE = re.compile(rf"^({'|'.join(SIGNED)})-[0-9a-f]{{8}}$")


def store() -> Path:
    explicit = os.environ.get("KARMA_HANDLES_FILE")
    if explicit:
        return Path(explicit)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "karma" / "handles.json"


def _load() -> dict:
    try:
        data = json.loads(store().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def remember(full_id: str) -> str:
    """The handle of a signed id, kept so `resolve` finds the id again (best effort: a read-only home
    still prints the handle; the full id is in --json)."""
    handle = handle_of(full_id)
    known = _load()
    known.pop(handle, None)
    known[handle] = full_id
    path = store()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(dict(list(known.items())[-KEEP:])), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass
    return handle


class UnknownHandle(ValueError):
    pass


LOOKS_LIKE = re.compile(rf"^({'|'.join(SIGNED)})-[0-9a-zA-Z]*$")


def resolve(ref: str) -> str:
    """A handle → its full id; anything else is taken as a full id. A mistyped handle (a digit short, a
    letter that is not hex) is said to be one here: sent as an id, it came back a 404 "unknown id"."""
    shaped = LOOKS_LIKE.match(ref)
    if not shaped:
        return ref
    kind = SIGNED[shaped.group(1)]
    if not HANDLE.match(ref):
        raise UnknownHandle(
            f"{ref}: not a {kind.name} handle ({shaped.group(1)}- and 8 hex digits, as `{kind.made_by} …` "
            f"prints it) nor a full id; check it for a typo"
        )
    full = _load().get(ref)
    if full is None:
        raise UnknownHandle(
            f"{ref}: no such handle in {store()} (handles are kept on the machine that made the {kind.name}); "
            f"give the full id (`{kind.made_by} … --json` prints it)"
        )
    return full


def not_stored(ref: str, kind: str) -> str:
    """What a plan's or a proposal's handle `ref` is, where it comes from and the command that takes it:
    said when it is given where a stored id is asked for (`karma show`)."""
    signed = SIGNED[kind]
    return (
        f"{ref} is a {signed.name} (`{signed.made_by}` prints one): `{signed.taken_by} {ref}` {signed.does} — "
        "it is not stored, so there is nothing to show"
    )


def _plan_payload(plan_id: str) -> dict:
    """A plan id's own payload: what was planned (the server checks its signature when it applies)."""
    try:
        body = plan_id.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (IndexError, ValueError):
        raise UnknownHandle("not a plan id (plan1.…) or handle") from None


def plan_counts(plan_id: str) -> Counter:
    """What a plan id says it will do, by operation: creates, updates, deletes (and edge operations)."""
    payload = _plan_payload(plan_id)
    ops = [change.get("op") for change in payload["set"].get("changes") or []] if "set" in payload else ["update"]
    return Counter(f"{op}s" for op in ops)


def planned_change(plan_id: str) -> dict | None:
    """The change a plan id planned, as `karma plan -f` takes it, to plan it again: one component's change
    in the single form it was asked in (`component`, `proposed_change`), else its operations — with its
    reason and `on_blocked: queue`; None for an id that holds no set (signed before every change was one)."""
    planned = _plan_payload(plan_id).get("set")
    if not isinstance(planned, dict) or not planned.get("changes"):
        return None
    changes = planned["changes"]
    single = planned.get("single") and len(changes) == 1 and changes[0].get("op") == "update"
    asked = {k: changes[0][k] for k in ("component", "proposed_change")} if single else {"changes": changes}
    asked |= {"reason": planned["reason"]} if planned.get("reason") is not None else {}
    return asked | ({"on_blocked": "queue"} if planned.get("on_blocked") == "queue" else {})
