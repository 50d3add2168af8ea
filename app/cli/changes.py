"""The API commands of `karma`. Each one is one (or two) HTTP calls and a rendering; the exit code
says what happened (app/client/outcome.py), so a CI job can gate on `karma plan` / `karma request`."""

from __future__ import annotations

import shlex

import click

from app.audit.statuses import CHANGE_STATUSES, LOG_STATUSES
from app.changes.status import a_step_could_lift
from app.cli.common import (
    already_reached,
    api_command,
    as_json_text,
    change_options,
    checked_component_id,
    component_id,
    emit,
    given,
    moment,
    nothing_to_do,
    one_a_line,
    output_format,
    paged_list,
    paged_options,
    RESULT_FORMAT,
    with_next_commands,
)
from app.client import handles, markdown, text
from app.client.api import ClientError, KarmaClient
from app.client.body import build, served_validators
from app.client.outcome import exit_code, outcome
from app.ids import SIGNED_KINDS, handle_of


def _send(
    client: KarmaClient,
    path: str,
    component,
    file,
    sets,
    unsets,
    reason,
    on_blocked,
    expected_version,
    fmt,
    as_json,
    headers=None,
) -> int:
    fmt = output_format(fmt, as_json)  # a usage error before anything is sent
    also = ("assume",) if path == "/plan" else ()  # a what-if plan: hypothetical facts, nothing written
    fields = {"reason": reason, "on_blocked": on_blocked, "expected_version": expected_version}
    body = build(component, file, sets, unsets, also, served_validators(lambda: client.get("/types")), **fields)
    try:
        result = client.post(path, body, headers=headers)
    except ClientError as exc:  # the component already is as asked: the same rule as `transitions propose`
        if not already_reached(exc, body):
            raise with_next_commands(exc) from None
        return nothing_to_do(exc, body, fmt, status="unchanged")
    code = _result(result, fmt, body.get("on_blocked") or "reject")
    refusing = _refusing(result, body.get("on_blocked"))
    if fmt == "table" and not result.get("hypothetical") and refusing:
        if a_step_could_lift(refusing):
            command = _propose_command(component, file, sets, unsets, fields, body)
            click.echo(f"\na way to yes, if there is one: {command}")
            click.echo("  (the steps that would make it valid, each verified by simulation; it writes nothing)")
        else:
            click.echo(f"\n{NO_STEP_LIFTS}")
    return code


# a refusal whose rules declare no remedy and wait on no runtime (prod-change-needs-reason): no step lifts it
NO_STEP_LIFTS = "no step Karma can take lifts what refuses it: the rule's message above says what to do"


PIPED_INLINE_MAX = 2000  # characters of the hint that pipes a change read from stdin inline


def _propose_command(component, file, sets, unsets, fields: dict, body: dict) -> str:
    """The same change, as `karma transitions propose` takes it (the same options), to paste. A change read
    from stdin (`-f -`) is gone once read: `… propose -f -` pasted waits on the terminal for a change it
    never gets, so the hint pipes the change itself (the body as sent, its flags merged in) — or, too long
    for a line, says to pipe the same input again."""
    piped = ""
    if str(file) == "-":
        command = text.piped_propose(body)
        if len(command) <= PIPED_INLINE_MAX:
            return command
        piped = "(the same change, piped again) | "
    words = ["karma", "transitions", "propose", *([component] if component else [])]
    words += ["-f", str(file)] if file else []
    words += [w for value in sets for w in ("--set", value)] + [w for key in unsets for w in ("--unset", key)]
    words += [
        w
        for k, v in fields.items()
        if v is not None and k != "on_blocked"
        for w in (f"--{k.replace('_', '-')}", str(v))
    ]
    return piped + shlex.join(words)


def _plan_again(exc: ClientError, plan_id: str) -> ClientError:
    """A stale plan (409 `stale_plan`: the graph moved since, or it applied already) said "plan again", and
    the change planned was in the plan id only: the command that plans it again, to paste."""
    planned = handles.planned_change(plan_id) if (exc.body or {}).get("cause") == "stale_plan" else None
    if planned is None:
        return exc
    hint = _piped(planned, "karma plan") or "karma plan the same change"
    said = f"{exc}; the same change, planned again: {hint}"
    return ClientError(said, status=exc.status, body=exc.body, cause=exc.cause)


def _piped(change: dict, command: str) -> str | None:
    """`printf '%s\\n' '<the change as JSON>' | <command> -f -`, or None when it is too long for a line."""
    line = text.piped(change, command)
    return line if len(line) <= PIPED_INLINE_MAX else None


def _refusing(result: dict, on_blocked: str | None) -> list[dict]:
    """The reject and block decisions of a change they hold back (rejected, or a plan that would be
    rejected or queued), else none: the refusal said what refuses it and not that Karma can search the
    steps that make it valid (docs/transitions.md) — offered when one of them is liftable; a change
    waiting for an approver has none, no step can approve it."""
    if outcome(result, on_blocked or "reject") not in ("rejected", "queued") or result.get("status") == "queued":
        return []
    decisions = [
        *(result.get("decisions") or []),
        *(d for o in result.get("operations") or [] for d in o.get("decisions") or []),
    ]
    return [d for d in decisions if d.get("effect") in ("reject", "block")]


def _result(result: dict, fmt: str, on_blocked: str = "reject") -> int:
    if fmt != "json" and result.get("plan_id"):  # a short handle for the long signed id (app/client/handles.py)
        result = {**result, "plan_handle": handles.remember(result["plan_id"])}
    if fmt == "json":
        click.echo(as_json_text(result))
    elif fmt == "markdown":
        click.echo(markdown.change_result(result, on_blocked), nl=False)
    else:
        click.echo(text.change_result(result, on_blocked))
    return exit_code(result, on_blocked)


EXPECT_KEYS = ("creates", "updates", "deletes", "add_edges", "remove_edges")


def _check_expect(plan_id: str, expect: str) -> None:
    """`--expect creates=2,updates=1,deletes=0`: the plan's counts, or a refusal naming the difference."""
    wanted = {}
    for item in expect.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep or key not in EXPECT_KEYS or not value.strip().isdigit():
            raise click.BadParameter(f"--expect {item!r}: expected KEY=N with KEY one of {', '.join(EXPECT_KEYS)}")
        wanted[key] = int(value)
    counts = handles.plan_counts(plan_id)
    differ = [f"{k}: expected {n}, the plan has {counts.get(k, 0)}" for k, n in wanted.items() if counts.get(k, 0) != n]
    if differ:
        raise click.BadParameter("the plan differs from --expect (nothing applied): " + "; ".join(differ))


def register(main: click.Group) -> None:  # one place lists every command
    """Add the API commands to the `karma` group."""

    @api_command(main, "plan")
    @change_options
    def plan(client, as_json=False, **change):
        """Dry run a change: the diff, decisions, actions in waves and a plan id; writes nothing.
        Exit 0 if it would apply, 2 if it would be rejected, 3 if it would wait (queue or approval)."""
        return _send(client, "/plan", as_json=as_json, **change)

    @api_command(main, "request")
    @change_options
    @click.option("--idempotency-key", help="A retry with the same key returns the first result.")
    def request(client, idempotency_key=None, as_json=False, **change):
        """Request a change: applied (exit 0), rejected (2), queued or pending approval (3)."""
        return _send(client, "/request-change", as_json=as_json, headers={"Idempotency-Key": idempotency_key}, **change)

    @api_command(main, "apply")
    @click.argument("plan_id", metavar="PLAN", callback=given)
    @RESULT_FORMAT
    @click.option(
        "--expect",
        metavar="creates=N,updates=N,deletes=N",
        help="Refuse (exit 1, nothing sent) unless the plan does exactly these counts: a CI guard.",
    )
    @click.option(
        "--idempotency-key", help="A retry with the same key returns the first result (never a second waiting change)."
    )
    def apply(client, plan_id, fmt, expect=None, idempotency_key=None, as_json=False):
        """Apply exactly what `karma plan` showed (its handle `plan-…` or its full id; 409 if anything in
        its impact set moved since)."""
        fmt, plan_id = output_format(fmt, as_json), handles.resolve(plan_id)
        if expect:
            _check_expect(plan_id, expect)
        try:
            answer = client.post(f"/plans/{plan_id}/apply", headers={"Idempotency-Key": idempotency_key})
        except ClientError as exc:
            raise with_next_commands(_plan_again(exc, plan_id)) from None
        return _result(answer, fmt)

    @api_command(main, "approve")
    @click.argument("change_id", callback=given)
    @click.option("--comment", help="Why: kept in the audit log with your approval.")
    def approve(client, change_id, comment, as_json=False):
        """Approve a pending change (not your own); it re-runs against the graph as it is now."""
        body = {"comment": comment} if comment else {}
        return _result(client.post(f"/changes/{change_id}/approve", body), "json" if as_json else "table")

    @api_command(main, "deny")
    @click.argument("change_id", callback=given)
    @click.option("--comment", help="Why: kept in the audit log with your denial.")
    def deny(client, change_id, comment, as_json=False):
        """Deny a pending change (not your own)."""
        body = {"comment": comment} if comment else {}
        return _result(client.post(f"/changes/{change_id}/deny", body), "json" if as_json else "table")

    @api_command(main, "cancel")
    @click.argument("change_id", callback=given)
    def cancel(client, change_id, as_json=False):
        """Cancel a queued change (yours, or anyone's as admin)."""
        try:
            answer = client.delete(f"/changes/{change_id}")
        except ClientError as exc:  # a change pending approval: an approver decides it
            raise with_next_commands(exc) from None
        return _result(answer, "json" if as_json else "table")

    @api_command(main, "rollback")
    @click.argument("change_id", callback=given)
    @click.option("--reason", help="Why (policy requires one for prod).")
    @click.option("--queue", "on_blocked", flag_value="queue", default="reject", help="Queue it if blocked.")
    @RESULT_FORMAT
    def rollback(client, change_id, reason, on_blocked, fmt, as_json=False):
        """Roll back an applied change: its inverse runs through the full pipeline, as your token's identity."""
        fmt, body = output_format(fmt, as_json), {"on_blocked": on_blocked, **({"reason": reason} if reason else {})}
        try:
            answer = client.post(f"/changes/{change_id}/rollback", body)
        except ClientError as exc:  # rolled back already, or a rollback waits: the command that shows it
            raise with_next_commands(exc) from None
        return _result(answer, fmt, on_blocked)

    @api_command(main, "show")
    @click.argument("ref", callback=given)
    def show(client, ref, as_json=False):
        """Show a component (type/nickname), a change (chg-…), an audit entry (log-…) or a transition (trn-…)."""
        _not_a_signed_id(ref)
        if "/" in ref:  # a component: checked as `karma impact` checks its argument (a/b/c/d is none)
            emit(client.get(f"/components/{checked_component_id(ref)}"), as_json, text.component)
        elif ref.startswith("log-"):
            emit(client.get(f"/log/{ref}"), as_json, text.log_entry)
        elif ref.startswith("trn-"):  # as `karma transitions show`; the log and changes name transitions too
            emit(client.get(f"/transitions/{ref}"), as_json, text.transition)
        else:
            emit(_a_change(client, ref), as_json, text.change)

    @api_command(main, "impact")
    @click.argument("component", callback=component_id)
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "json", "mermaid", "dot", "svg"]),
        help="Output: a table (the default), the API's JSON, or a picture (Mermaid, Graphviz DOT, SVG).",
    )
    def impact(client, component, fmt, as_json=False):
        """What a change to COMPONENT reaches: a table, JSON, or a picture (Mermaid, DOT, SVG)."""
        fmt = output_format(fmt, as_json)
        if fmt in ("mermaid", "dot", "svg"):
            click.echo(client.get(f"/components/{component}/impact", {"format": fmt}, accept="*/*"), nl=False)
        else:
            emit(client.get(f"/components/{component}/impact"), fmt == "json", text.impact)

    @api_command(main, "log")
    @click.option("--component", callback=component_id, help="Entries of changes to this component (type/nickname).")
    @click.option("--requested-by", help="Entries of requests this identity made.")
    @click.option("--by", "actor", help="Entries of what this identity did (an approval: its approver).")
    @click.option("--status", type=click.Choice(LOG_STATUSES), help="A change's, a transition's or another entry's.")
    @click.option(
        "--since", callback=moment, help="1h, 30m, 2d… ago, a date (UTC) or ISO 8601 with a time zone (inclusive)."
    )
    @click.option("--until", callback=moment, help="As --since (exclusive).")
    @paged_options("entry", "Entries")
    def log(client, as_json=False, quiet=False, page=None, page_size=None, **filters):
        """The audit log, newest first."""
        paged_list(client, "/log", filters, text.log_page, as_json=as_json, quiet=quiet, page=page, page_size=page_size)

    @api_command(main, "changes")
    @click.option("--status", type=click.Choice(CHANGE_STATUSES), help="Only changes in this state.")
    @click.option("--component", callback=component_id, help="Only changes to this component (type/nickname).")
    @click.option("--requested-by", help="Only changes this identity requested.")
    @paged_options("change", "Changes")
    def changes(client, as_json=False, quiet=False, page=None, page_size=None, **filters):
        """Change requests, newest first."""
        paged_list(
            client, "/changes", filters, text.changes_page, as_json=as_json, quiet=quiet, page=page, page_size=page_size
        )

    @api_command(main, "components")
    @click.option("--type", "type_", help="Only components of this type (karma types lists them).")
    @click.option("--environment", help="Only components in this environment.")
    @click.option("--name", help="Only ids containing this text, any case.")
    @paged_options("component", "Components")
    def components(client, type_=None, as_json=False, quiet=False, page=None, page_size=None, **filters):
        """The components Karma holds, by id (filter by type, environment, a piece of the id)."""
        filters = {**filters, "type": type_}
        paged_list(
            client, "/components", filters, text.components_page, as_json=as_json, quiet=quiet, page=page,
            page_size=page_size,
        )  # fmt: skip

    @main.group("queue", cls=ListsByDefault)
    def queue_cli():
        """The queue of blocked changes (`karma queue [--component …] [--json]` lists it, as `queue list`)."""

    @api_command(queue_cli, "list")
    @click.option("--component", callback=component_id, help="Only this component's queue (type/nickname).")
    @click.option("-q", "--quiet", is_flag=True, help="Only the change ids, one a line, in queue order (for scripts).")
    def queue_list(client, component=None, as_json=False, quiet=False):
        """Queued changes, per component in FIFO order."""
        queued = client.get("/queue", {"component": component})
        if quiet and not as_json:
            one_a_line([q["id"] for q in queued["items"]])  # `karma queue -q | xargs -n1 karma cancel`
            return
        emit(queued, as_json, lambda page: text.queue(page["items"]))

    @api_command(queue_cli, "process")
    def queue_process(client, as_json=False):
        """Re-evaluate the queue now (admin) and print the transitions."""
        emit(client.post("/queue/process"), as_json, lambda answer: text.transitions(answer["processed"]))


SHOWN = "a component (type/nickname), a change (chg-…), an audit entry (log-…) or a transition (trn-…)"


def _a_change(client, ref: str) -> dict:
    """`karma show REF` of what is none of the other kinds is looked up as a change: a REF of no kind at all
    (`karma show vpc-karma-dev`) answered only "404 change 'vpc-karma-dev' not found"; it says what REF takes."""
    try:
        return client.get(f"/changes/{ref}")
    except ClientError as exc:
        if exc.status != 404 or ref.startswith("chg-"):
            raise
        raise ClientError(f"{exc}; karma show takes {SHOWN}", status=exc.status, body=exc.body) from None


def _not_a_signed_id(ref: str) -> None:
    """`karma show prop-…` was looked up as a change: "404 change 'prop-…' not found" said nothing of what
    a prop- handle is. A plan's or a proposal's id (its handle or the full signed id) is refused here,
    naming the command that takes it."""
    kind = next((k for prefix, k in SIGNED_KINDS.items() if ref.startswith(prefix)), None)
    if kind is None and handles.HANDLE.match(ref):
        kind = ref.split("-")[0]
    if kind is not None:
        shown = handle_of(ref) if ref.startswith(tuple(SIGNED_KINDS)) else ref
        raise click.BadParameter(handles.not_stored(shown, kind))


class ListsByDefault(click.Group):
    """A group whose bare form is its `list` command, options included: `karma queue` listed the queue but
    `karma queue --json` (or --component, --url) was "No such option", the group having none of them."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0].startswith("-") and args[0] != "--help"):  # a mistyped command stays one
            args = ["list", *args]
        return super().parse_args(ctx, args)
