"""The console's pages that start and carry out work: start a change (plan, then request exactly that
plan), cancel and roll back, the audit log, and transitions (propose, execute, progress, cancel).

They call the services the JSON API calls — `gate.plan`, `gate.apply_plan`,
`gate.rollback`, `lifecycle.cancel`, `transitions.propose` / `execute` / `cancel`, `audit.list` — with
the logged-in principal as the actor and requester, so every act is audited the same way.
"""

from __future__ import annotations

import re

import yaml
from flask import redirect, render_template, request, url_for
from marshmallow import ValidationError

from app import render
from app import json_strict, yaml_misreads
from app.json_strict import NotStrictJSON
from app.yaml_strict import StrictLoader, pointed
from app.api.context import services
from app.api.schemas import LogArgs, WhatIfRequestSchema
from app.audit.statuses import LOG_STATUSES
from app.changes.sets import ChangeSet
from app.changes.status import a_step_could_lift, decided
from app.client.body import change_sections, component_validator
from app.components.registry import config_validator, registry, runtime_validator, split_id
from app.console import session
from app.console.pages import PAGE_SIZE, _page, blp, change_as_form, chosen
from app.paging import page_count
from app.errors import Forbidden, KarmaError, NotFound, Unprocessable, field_paths, invalid_request
from app.policy.remedies import NON_EMPTY
from app.transitions.status import STORED as TRANSITION_STATUSES
from app.transitions.status import ACTIVE, counted_steps, progress, step_sets, step_why, steps_as_shown

# a transition's progress as the CLI says it (app.transitions.status): `2 of 3`, `done (3 steps)`
blp.app_template_filter("progress")(progress)
blp.app_template_filter("counted_steps")(counted_steps)
# what a step writes and why it is there, as the CLI says it under a proposal's table
blp.app_template_filter("step_sets")(step_sets)
blp.app_template_filter("step_why")(step_why)

MAX_BODY = 256 * 1024  # the form's text; the API's own body limits still apply to what it becomes
EXAMPLE = {
    "component": "vpc/karma-dev",
    "proposed_change": {"az_count": 3},
    "reason": "why, in a sentence",
    "on_blocked": "reject",
}


# -- start a change -----------------------------------------------------------------------------
def parse_body(text: str, field: str = "body", typed=None) -> dict:
    """The form's text as a request body: JSON, or else YAML; a mapping, or 422 naming the cause and the
    form's field (`body`: the change; `runtime`: a runtime report, which was told "the change is ...").
    A value YAML 1.1 reads as other than written is refused: a number (``017``), or a boolean where the
    author meant the word — judged against the types' schemas where `typed` (yaml_misreads.load) says
    the text holds a config or a runtime; a change's by default (change_sections, as a change file's)."""
    typed = typed or change_sections(None, config_validator, ("assume",))
    what = "the change" if field == "body" else f"the {field} report"
    if len(text) > MAX_BODY:
        raise Unprocessable(f"{what} is over {MAX_BODY} bytes", errors={field: ["too long"]})
    try:  # strict: JSON Python reads other than written is refused, not read again as YAML
        data = json_strict.loads(text)
    except NotStrictJSON as exc:
        raise Unprocessable(f"{what} is not JSON as written", errors={field: [str(exc)]}) from None
    except ValueError:
        try:
            data, misread = yaml_misreads.load(text, StrictLoader, typed)
        except yaml.YAMLError as exc:
            raise Unprocessable(f"{what} is neither JSON nor YAML", errors={field: [pointed(exc, text)]}) from None
        if misread:  # 017, 0x1F, 1_000, 1:30, on: not the value its author wrote (app.yaml_misreads)
            problems = yaml_misreads.problems(misread)
            raise Unprocessable(f"a value in {what} is not what YAML reads", errors={field: problems}) from None
    if not isinstance(data, dict):
        shape = "component + proposed_change, or changes" if field == "body" else "output: value"
        raise Unprocessable(f"{what} must be a mapping ({shape})", errors={field: ["not a mapping"]})
    return data


def _runtime_typed(component: str):
    """A runtime report's text is the component's runtime outputs (a boolean YAML read is judged against
    its type's runtime schema; values of any type when the id names no type: the report is refused)."""
    validate = component_validator(component, runtime_validator)
    return lambda _doc: {(): validate}


def change_from(text: str) -> ChangeSet:
    """The change (or set) in the form, validated by the API's schema, requested by who is logged in."""
    try:
        body = WhatIfRequestSchema().load(parse_body(text))
    except ValidationError as exc:  # said as the API says it: each field by its path, `changes[1].op`
        errors = field_paths(exc.normalized_messages())
        raise Unprocessable(invalid_request(errors), errors=errors) from None
    if body.pop("assume", None) is not None:
        raise Unprocessable("what-if plans (assume) are for the API", errors={"assume": ["not here"]})
    body.pop("idempotency_key", None)
    me = session.principal()
    if body.get("requested_by") not in (None, me.name):
        raise Forbidden("requested_by must be you", cause="requested_by_mismatch")
    body["requested_by"] = me.name
    # the change set the API's handler makes of the same body (app.api.changes._split): a single change was
    # a ChangeRequest here, whose stored request (a transition keeps it) said `expected_version: null`
    return ChangeSet.from_dict(body)


def _type_fields(component_id: str | None, type_name: str | None) -> tuple[dict | None, dict | None]:
    """(the chosen component, its type described) for the form's field list; an unknown type → no fields.
    A component that is not there is NotFound, for the form to say so (it silently emptied the field)."""
    current = None
    if component_id:
        current = services().components.get(component_id)
        type_name = current["type"]
    if not type_name:
        return current, None
    try:
        return current, registry.get(type_name).describe()
    except (KarmaError, KeyError):
        return current, None


def _example(current: dict | None) -> str:
    if current is None:
        return yaml.safe_dump(EXAMPLE, sort_keys=False)
    body = {"component": current["id"], "proposed_change": {}, "reason": "", "on_blocked": "reject"}
    return yaml.safe_dump(body, sort_keys=False)


def _picked(text: str) -> tuple[str | None, str | None]:
    """(component, type) a change sent to the form is about — its first operation's; the type of one it
    creates — for the field list, as if the person had picked it: "Plan again" and "Edit it and plan
    again" opened the form holding the change with the picker empty and no fields, until it was picked
    again. Text that does not read as a change picks nothing (planning it says why)."""
    try:
        body = parse_body(text)
    except Unprocessable:
        return None, None
    ops = body.get("changes")
    first = ops[0] if isinstance(ops, list) and ops and isinstance(ops[0], dict) else body
    component = first.get("component")
    if not isinstance(component, str) or not component.strip():
        return None, None
    if first.get("op") != "create":
        return component.strip()[:300], None
    try:
        return None, split_id(component.strip())[0]
    except ValueError:
        return None, None


def _start_page(text: str | None, error: KarmaError | None = None, status: int = 200, picked: tuple = (None, None)):
    """Start a change; its field list for the component or type asked for, else for what `picked` names
    (a picked component no longer there shows no fields: the person did not type it, the form says nothing)."""
    cid = (request.values.get("component") or "").strip()[:300] or None
    type_name = (request.values.get("type") or "").strip() or None
    asked = bool(cid or type_name)
    if not asked:
        cid, type_name = picked
    try:
        current, described = _type_fields(cid, type_name)
    except KarmaError as exc:
        if asked and not isinstance(exc, NotFound):
            raise
        current, described = None, None
        if asked:  # a component typed that is not there: said on the form, which keeps the text
            error, status = error or exc, status if error else exc.status
        else:  # picked from the change, not typed (gone since, or no id): no fields, nothing to say
            cid = None
    return (
        render_template(
            "console/start.html",
            body=text if text is not None else _example(current),
            current=current,
            chosen=cid,
            described=described,
            types=sorted(t.name for t in registry.snapshot()[0]),
            error=error,
        ),
        status,
    )


@blp.route("/start", methods=["GET", "POST"])
def start():
    """The form: empty (an example), or holding what was posted (`body`) — "Start again" after no
    transition was found sends the change back, so the person edits it instead of typing it again."""
    text = request.form.get("body") if request.method == "POST" else None
    return _start_page(text, picked=_picked(text) if text else (None, None))


@blp.route("/plan", methods=["POST"])
def plan():
    """Plan what the form holds; show its picture, decisions and waves, and a button for exactly it."""
    text = request.form.get("body") or ""
    try:
        change = change_from(text)
        me = session.principal()
        # a single change is a set of one; the plan is judged as it would be requested: on_blocked included
        result = {**services().gate.plan(change, actor=me), "on_blocked": change.on_blocked}
        picture = render.from_plan(result)
    except (Unprocessable, Forbidden, NotFound) as exc:  # the form again, with what was written in it
        return _start_page(text, exc, exc.status, picked=_picked(text))  # and the fields the error names
    decisions = result.get("decisions") or []
    would = str(decided(decisions, change.on_blocked, False))
    can_lift = a_step_could_lift(decisions)  # Find a transition only where a step could lift a refusal
    page = {"result": result, "picture": picture, "body": text, "would": would, "can_lift": can_lift}
    return render_template("console/plan.html", **page)


@blp.route("/plans/apply", methods=["POST"])
def apply_plan():
    """Request exactly the plan shown (its signed id): 409 `plan_stale` if anything in its impact moved."""
    result = services().gate.apply_plan(request.form.get("plan_id") or "", actor=session.principal())
    return redirect(url_for("console.change", change_id=result["change_id"], done=result["status"]))


@blp.route("/changes/<change_id>/cancel", methods=["POST"])
def cancel_change(change_id):
    me = session.principal()
    result = services().lifecycle.cancel(change_id, me.name, actor=me)
    return redirect(url_for("console.change", change_id=change_id, done=result.get("status", "cancelled")))


@blp.route("/changes/<change_id>/rollback", methods=["POST"])
def rollback(change_id):
    me = session.principal()
    reason = (request.form.get("reason") or "").strip()[:2000] or None
    on_blocked = "queue" if request.form.get("on_blocked") == "queue" else "reject"
    result = services().gate.rollback(change_id, me.name, reason, on_blocked, actor=me)
    target = result.get("change_id") or change_id
    return redirect(url_for("console.change", change_id=target, done=result["status"]))


# -- the audit log ------------------------------------------------------------------------------
LOG_FILTERS = ("component", "requested_by", "actor", "status", "since", "until")
NO_ZONE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")  # a time without its zone: UTC


@blp.route("/log")
def log():
    raw = {k: (request.args.get(k) or "").strip() for k in LOG_FILTERS}
    raw = {k: v for k, v in raw.items() if v}
    for k in ("since", "until"):  # <input type="datetime-local"> sends no zone: the form sends UTC
        if k in raw and NO_ZONE.match(raw[k]):
            raw[k] += ":00Z" if len(raw[k]) == 16 else "Z"
    error, listing, page = None, {"items": [], "total": 0}, _page()
    try:
        args = LogArgs().load({**raw, "page": page, "page_size": PAGE_SIZE})
        listing = services().audit.list(**args)
    except ValidationError as exc:  # the form again with what is wrong, a 422 as the API answers it
        error = exc.normalized_messages()
    page_html = render_template(
        "console/log.html",
        listing=listing,
        statuses=LOG_STATUSES,
        filters={k: (request.args.get(k) or "").strip() for k in LOG_FILTERS},
        error=error,
        page=page,
        pages=page_count(listing["total"], PAGE_SIZE),
        query=raw,
    )
    return page_html, 422 if error else 200


# -- transitions --------------------------------------------------------------------------------
@blp.route("/transitions")
def transitions():
    statuses = list(TRANSITION_STATUSES)
    status, page = chosen("status", statuses), _page()
    listing = services().transitions.list(status=status, page=page, page_size=PAGE_SIZE)
    pages = page_count(listing["total"], PAGE_SIZE)  # counted and paged: past 50 they were out of reach
    return render_template(
        "console/transitions.html", listing=listing, chosen=status, statuses=statuses, page=page, pages=pages
    )  # `chosen`: the template's `status` is the macro that draws one (the select never showed the filter)


@blp.route("/transitions/<transition_id>")
def transition(transition_id):
    found = services().transitions.get(transition_id)
    me = session.principal()
    can_cancel = (
        found["status"] in ("running", "waiting", "stalled")
        and me.can("change")
        and (me.role == "admin" or me.name == found.get("requested_by"))
    )
    return render_template(
        "console/transition.html",
        t=found,
        steps=steps_as_shown(found),
        can_cancel=can_cancel,
        reports=_reports(found) if me.can("report") else [],
        next_move=_next(found),
        # the change as asked, as Start a change holds it: its stored record said `reason: null`, `single:
        # true`, `requested_by` (and, executed from the console before 2026-12, `expected_version: null`)
        requested=change_as_form(found.get("request") or {}),
        can_report=me.can("report"),
        can_propose=me.can("change"),
        done=request.args.get("done"),
        reported=(request.args.get("reported") or "")[:300] or None,
    )


def _next(found: dict) -> dict:
    """What the operator does next, as `karma transitions show` ends with it: the page said `waiting` and
    stopped there for anyone who may not report runtime (the requester who executed it included) — which
    report, from whom, and that it carries on by itself, were not said; a stalled, cancelled or expired one
    had no way back to the change, and a completed one's restore follow-up read as one more table row.
    `waits`/`follow_ups`: (step number, step); `again`: the change as Start a change's text, to propose
    on the graph as it is now (None while it may still carry on, or when done)."""
    status, steps = found["status"], list(enumerate(found.get("steps") or [], 1))
    waits = [(n, s) for n, s in steps if s.get("kind") == "wait" and s.get("status") == "waiting"]
    follow_ups = [(n, s) for n, s in steps if s.get("kind") == "restore" and s.get("follow_up")]
    ended = status in ("stalled", "cancelled", "expired")
    return {
        "waits": waits if status == "waiting" else [],
        "follow_ups": follow_ups if status == "completed" else [],
        "again": change_as_form(found.get("request") or {}) if ended else None,
    }


def _reports(found: dict) -> list[dict]:
    """The runtime reports its waiting steps wait for: the component's reported runtime with the outputs
    the step expects, for a person who may report (after doing the deploy the step asks for)."""
    out = []
    for index, step in enumerate(found.get("steps") or []):
        if step.get("kind") == "wait" and step.get("status") == "waiting" and step.get("component"):
            try:
                runtime = services().components.get(step["component"]).get("runtime") or {}
            except NotFound:  # deleted since: nothing to report on (the next runner stalls the transition)
                continue
            out.append({"index": index, "component": step["component"], **_prefilled(runtime, step["outputs"])})
    return out


def _prefilled(runtime: dict, outputs: dict) -> dict:
    """The report form's text: the last report with the values the step waits for. An output it waits for
    any published value of (NON_EMPTY) keeps its published value, or is left empty for the person to fill
    (`fill`): the form held the marker "non-empty" itself, and reporting it as it stood recorded that text
    as the distribution's id — satisfying the wait with a value no deploy published."""
    fill = [k for k, v in outputs.items() if v == NON_EMPTY and runtime.get(k) in (None, "", [], {})]
    wanted = {k: v for k, v in outputs.items() if v != NON_EMPTY}
    return {"runtime": {**runtime, **wanted, **dict.fromkeys(fill, "")}, "fill": fill}


@blp.route("/runtime", methods=["POST"])
def report_runtime():
    """A runtime report from the console: what `PUT /components/<id>/runtime` records (validated against
    the type, versioned, audited as the person), e.g. after the deploy a transition's wait step asks for."""
    me, component = session.principal(), request.form.get("component") or ""
    services().components.update_runtime(
        component,
        parse_body(request.form.get("runtime") or "", "runtime", _runtime_typed(component)),
        me.name,
        actor=me,
    )
    back = request.form.get("transition")
    if back:
        found = services().transitions.get(back)
        still = found["status"] in ACTIVE  # recorded, not (yet) what the step waits for: say so
        extra = {"reported": component} if still else {}
        return redirect(url_for("console.transition", transition_id=back, done=found["status"], **extra))
    return redirect(url_for("console.components", name=component))


@blp.route("/transitions/propose", methods=["POST"])
def propose():
    """What would make a refused change valid: proposals verified by simulation, each with Execute."""
    text = request.form.get("body") or ""
    try:
        change = change_from(text)
        result = services().transitions.propose(change, None, actor=session.principal())
    except (Unprocessable, Forbidden, NotFound) as exc:  # the form again, with what was written in it
        return _start_page(text, exc, exc.status, picked=_picked(text))
    return render_template("console/proposals.html", result=result, body=text)


@blp.route("/transitions/execute", methods=["POST"])
def execute_transition():
    found = services().transitions.execute(request.form.get("proposal_id") or "", actor=session.principal())
    return redirect(url_for("console.transition", transition_id=found["id"], done=found["status"]))


@blp.route("/transitions/<transition_id>/cancel", methods=["POST"])
def cancel_transition(transition_id):
    found = services().transitions.cancel(transition_id, actor=session.principal())
    return redirect(url_for("console.transition", transition_id=transition_id, done=found["status"]))
