"""The console's change pages: the list of changes, one change (diff, decisions, waves, picture, its audit
trail; approve, deny), the queue and the changes waiting for an approver. Starting, cancelling and rolling
back a change are work.py's; these read through the same services as the API, and approve and deny
through the same lifecycle, audited the same.
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from app import render
from app.api.context import services
from app.changes.lifecycle import decision_refused
from app.changes.status import STORED as STATUSES
from app.changes.status import ChangeStatus, a_step_could_lift
from app.console import pages, session
from app.console.pages import LIST_OVER, _page, blp, chosen
from app.errors import KarmaError
from app.paging import page_count


def _filters() -> dict:
    out = {k: (request.args.get(k) or "").strip() or None for k in ("component", "requested_by")}
    return {"status": chosen("status", STATUSES), **out}


@blp.route("/changes")
def changes():
    filters, page = _filters(), _page()
    listing = services().listing.list(**filters, page=page, page_size=pages.PAGE_SIZE)
    return render_template(
        "console/changes.html",
        listing=listing,
        filters=filters,
        statuses=STATUSES,
        page=page,
        query={k: v for k, v in filters.items() if v},
        pages=page_count(listing["total"], pages.PAGE_SIZE),
    )


def _analysed_entry(entries: list[dict]) -> dict | None:
    """The latest audit entry of the change that carries an analysis (diff, decisions, actions)."""
    return next((e for e in reversed(entries) if e.get("diff") is not None), None)


def _operations(change: dict, entry: dict | None) -> list[dict]:
    """Each operation as its audit entry keeps it (diff / created config / deleted snapshot, decisions,
    what it affects); an entry written by a single change before every change was a set: its one update."""
    if entry is None:
        return []
    if entry.get("operations"):
        return entry["operations"]
    return [
        {
            "index": 0,
            "op": "update",
            "component": change["component_id"],
            "diff": entry.get("diff") or [],
            "decisions": entry.get("decisions") or [],
            "affected_components": entry.get("affected") or [],
        }
    ]


MAX_DRAWN_OPERATIONS = 25  # the edges of this many operations' neighbourhoods are read for the picture


def _fold_operations(operations: list[dict]) -> tuple[list[dict], list[dict]]:
    """(the operations drawn in full, the rest as one row each): all of them up to LIST_OVER; over that —
    a 500-component seed is one change — only those a rule spoke about (at most LIST_OVER), since 502
    sections of config and decisions made a page 220,000 px tall."""
    if len(operations) <= LIST_OVER:
        return operations, []
    shown = [o for o in operations if o.get("decisions")][:LIST_OVER]
    drawn = {o["index"] for o in shown}
    return shown, [o for o in operations if o["index"] not in drawn]


def _unsaid_warnings(entry: dict | None, shown: list[dict]) -> list[str]:
    """The entry's warnings that no decision row on the page says already: a warning is a `warn`
    decision's message, and the page printed each twice (its decision row, then a list below)."""
    said = {d.get("message") for o in shown for d in o.get("decisions") or []}
    return [w for w in (entry or {}).get("warnings") or [] if w not in said]


@blp.app_template_filter("op_counts")
def _op_counts(operations: list[dict]) -> str:
    """`500 create ec2-instance, 1 create vpc`: what a folded list of operations holds, most first."""
    counts: dict[str, int] = {}
    for o in operations:
        cid = o["component"] if isinstance(o["component"], str) else o["component"].get("id", "")  # a plan's: a dict
        key = f"{o['op']} {cid.rsplit('/', 2)[-2]}" if "/" in cid else o["op"]
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{n} {key}" for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _change_picture(change: dict, entry: dict | None, operations: list[dict]):
    if entry is None:
        return None
    result = {
        "component": change["component_id"],
        "status": change["status"],
        "actions": entry.get("actions"),
        "decisions": entry.get("decisions"),
        "warnings": entry.get("warnings"),
        "operations": operations,
        "impact": [],
    }
    edges = []
    for cid in dict.fromkeys(o["component"] for o in operations[:MAX_DRAWN_OPERATIONS]):
        try:
            now = services().components.impact(cid)
        except KarmaError:  # the component is gone (deleted since): its waves are drawn without its edges
            continue
        edges += now["edges"]
        result["impact"] += now["affected"]  # the runtime its components report now, on their boxes
    return render.from_plan(result, stored_edges=edges)


@blp.route("/changes/<change_id>")
def change(change_id):
    detail = services().lifecycle.get_change(change_id)
    entries = [services().audit.get(t["id"]) for t in detail.get("trail") or []]  # a short trail
    entry = _analysed_entry(entries)
    operations = _operations(detail, entry)
    shown, folded = _fold_operations(operations)
    me = session.principal()
    deciding = detail["status"] == ChangeStatus.PENDING_APPROVAL and me is not None and me.can("approve")
    not_yours = _why_not_decide(me, detail) if deciding else None
    can_decide = deciding and not_yours is None
    mine = me is not None and me.can("change") and (me.role == "admin" or me.name == detail.get("requested_by"))
    held = _held_by(detail, operations)
    return render_template(
        "console/change.html",
        change=detail,
        entry=entry,
        entries=entries,
        operations=operations,
        shown=shown,
        folded=folded,
        unsaid=_unsaid_warnings(entry, shown),
        title=render.change_title({"operations": operations, "component": detail["component_id"]}),
        picture=_change_picture(detail, entry, operations),
        can_decide=can_decide,
        not_yours=not_yours,
        can_cancel=detail["status"] == "queued" and mine,
        can_rollback=detail["status"] == "applied" and me is not None and me.can("change") and not _rolled_back(detail),
        again=_as_form(detail) if detail["status"] in NOT_DONE and me is not None and me.can("change") else None,
        way_to_yes=_way_to_yes(detail, held, me),
        no_step=bool(held) and not a_step_could_lift(held),
        done=request.args.get("done"),
    )


@blp.route("/changes/<change_id>/approve", methods=["POST"])
def approve(change_id):
    comment = (request.form.get("comment") or "").strip()[:2000] or None
    result = services().lifecycle.approve(change_id, session.principal(), comment)
    return redirect(url_for("console.change", change_id=change_id, done=result["status"]))


@blp.route("/changes/<change_id>/deny", methods=["POST"])
def deny(change_id):
    comment = (request.form.get("comment") or "").strip()[:2000] or None
    result = services().lifecycle.deny(change_id, session.principal(), comment)
    return redirect(url_for("console.change", change_id=change_id, done=result["status"]))


@blp.route("/queue")
def queue():
    """The queue, each change with its place in its component's line (1 = next): the stored sequence
    number is not a place (the only change left after #1 was cancelled read "2")."""
    items, places = services().lifecycle.queue(), {}
    for item in items:  # in processing order: per component, first in first out
        places[item["component_id"]] = place = places.get(item["component_id"], 0) + 1
        item["place"] = place
    return render_template("console/queue.html", items=items)


@blp.route("/approvals")
def approvals():
    """Changes waiting for an approver, a page at a time — with the count and a pager (over 50, the rest
    were out of reach: the page had neither)."""
    page = _page()
    listing = services().listing.list(status="pending_approval", page=page, page_size=pages.PAGE_SIZE)
    me = session.principal()
    can_approve = me is not None and me.can("approve")
    not_yours = {c["id"]: _why_not_decide(me, c) for c in listing["items"]} if can_approve else {}
    return render_template(
        "console/approvals.html",
        listing=listing,
        can_approve=can_approve,
        not_yours=not_yours,
        page=page,
        pages=page_count(listing["total"], pages.PAGE_SIZE),
    )


NOT_DONE = (ChangeStatus.REJECTED, ChangeStatus.DENIED, ChangeStatus.CANCELLED, ChangeStatus.EXPIRED)


def _as_form(detail: dict) -> str | None:
    """A change that ended without applying, as Start a change's text, for the person to edit and plan
    again: a change the rules rejected — requested from the CLI or the API — had a page that said no and no
    way on."""
    return pages.change_as_form(detail.get("request") or {})


def _held_by(detail: dict, operations: list[dict]) -> list[dict]:
    """The reject and block decisions of a change they hold (rejected, or queued until a runtime
    condition holds); none for any other (one only an approver's sign-off holds: no step can give one)."""
    if detail["status"] not in (ChangeStatus.REJECTED, ChangeStatus.QUEUED):
        return []
    return [d for o in operations for d in o.get("decisions") or [] if d.get("effect") in ("reject", "block")]


def _way_to_yes(detail: dict, held: list[dict], me) -> str | None:
    """The change as Start a change's text, for "Find a transition", when a step could lift what holds it
    (`liftable`: its page said what refused it and not that Karma searches the steps that make it valid,
    docs/transitions.md). None when no step can (the rule's message says what to do: the search would
    only answer no_transition) or the person may not propose."""
    if not a_step_could_lift(held) or me is None or not me.can("change"):
        return None
    return _as_form(detail)


def _rolled_back(detail: dict) -> bool:
    """Rolled back already, or a rollback of it waits (queued, for an approver): the gate refuses another
    (409 already_rolled_back / rollback_pending), so the page offers none."""
    waiting = (ChangeStatus.APPLIED, ChangeStatus.QUEUED, ChangeStatus.PENDING_APPROVAL)
    return any(rb.get("status") in waiting for rb in detail.get("rolled_back_by") or [])


def _why_not_decide(me, change: dict) -> str | None:
    """None when `me` (who may approve) may approve or deny this pending change, else why not, shown in
    place of the buttons: what the lifecycle (decision_refused) and the gate would refuse — the requester,
    a role short of the one it needs, an environment the token is not for (a dev approver saw Approve on
    prod changes, then a 403)."""
    refused = decision_refused(change, me)
    if refused is not None:
        return (
            "your own — another approver decides it"
            if refused.extra.get("cause") == "self_approval"
            else refused.message
        )
    outside = [e for e in change.get("environments") or [] if not me.may_touch(e)]
    return f"not your environment ({', '.join(outside)})" if outside else None
