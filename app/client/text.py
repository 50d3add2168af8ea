"""Human-readable output: a summary line, then the diff, decisions and actions in waves as tables (and
the compact JSON `karma seed --json` / `karma import --json` print, `loaded_summary`)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys

from app.client.outcome import outcome
from app.paging import page_count
from app.render import change_title, wave_number
from app.transitions.status import NON_EMPTY, progress, requested_body, step_sets, step_why, steps_as_shown
from app.changes import diff as config_diff
from app.changes.status import ChangeStatus

MIN_COLUMN = 20  # a column is never cut narrower than this (ids and timestamps stay whole or nearly)
PIPED = 240  # a cell's limit when stdout is not a terminal (a pipe, a CI log): nothing is fitted


def width() -> int:
    """The terminal's width (COLUMNS when set); 0 when stdout is not a terminal: no fitting."""
    if os.environ.get("COLUMNS", "").isdigit():
        return int(os.environ["COLUMNS"])
    if not sys.stdout.isatty():
        return 0
    return shutil.get_terminal_size((100, 24)).columns


def cell(value, limit: int | None = None) -> str:
    if value is None:
        return "-"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    text = " ".join(text.split())
    limit = limit or width() or PIPED
    return text if len(text) <= limit else text[: limit - 1] + "…"


INSTANT = re.compile(r"^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.\d+)?(?:Z|\+00:00)$")


def moment(value):
    """A stored UTC instant as a person reads it: `2026-12-05 20:09:22Z` (the API's microseconds
    are for machines: --json keeps them). Anything else passes as it is."""
    found = INSTANT.match(value) if isinstance(value, str) else None
    return f"{found.group(1)} {found.group(2)}Z" if found else value


def fit(widths: list[int], total: int) -> list[int]:
    """Column widths that fit `total` characters: the widest columns give way first."""
    widths = list(widths)
    while sum(widths) + 2 * (len(widths) - 1) > total:
        widest = max(range(len(widths)), key=widths.__getitem__)
        if widths[widest] <= MIN_COLUMN:
            break
        widths[widest] -= 1
    return widths


def table(headers: list[str], rows: list[list]) -> str:
    cells = [[cell(v) for v in row] for row in rows]
    natural = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    widths = fit(natural, width()) if width() else natural
    cells = [[c if len(c) <= w else c[: w - 1] + "…" for c, w in zip(r, widths, strict=True)] for r in cells]
    line = lambda values: "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()  # noqa: E731
    out = [line([h.upper() for h in headers]), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    return "\n".join(out)


def listing(headers: list[str], rows: list[list], footer: str) -> str:
    """A list command's output: its table and its last line, or the last line alone when nothing matched —
    an empty table (a header, a rule of dashes) above "0 of 0 changes" read like a broken terminal."""
    return table(headers, rows) + "\n" + footer if rows else footer


def plural(count: int, word: str) -> str:
    if count == 1:
        return f"{count} {word}"
    consonant_y = word.endswith("y") and word[-2:-1] not in tuple("aeiou")  # entry → entries, key → keys
    return f"{count} {word[:-1]}ies" if consonant_y else f"{count} {word}s"


def page_footer(page: dict, noun: str) -> str:
    """A listing's last line: how many of how many, the page of how many, and how to ask for the next one —
    the whole command (`next_command`, the CLI's: app.cli.common.next_page), else the option.
    `karma log` said "50 of 56 (page 1)" and `karma transitions list` "50 transitions of 56": neither said
    that a second page existed, nor how to ask for it. A total counted only so far (`total_is_lower_bound`:
    app.paging) is said to be at least that."""
    shown, total = len(page.get("items") or []), page.get("total", len(page.get("items") or []))
    number, size = page.get("page") or 1, page.get("page_size") or max(shown, 1)
    if total == 0:
        return "no " + plural(0, noun).removeprefix("0 ")
    pages, more = page_count(total, size), "at least " if page.get("total_is_lower_bound") else ""
    line = f"{shown} of {more}{plural(total, noun)} (page {number} of {more}{pages})"
    return line + (f"; next: {page.get('next_command') or f'--page {number + 1}'}" if number < pages else "")


def apply_hint(result: dict, on_blocked: str = "reject", *, full_id: bool = False) -> str | None:
    """`karma apply <handle>` for a plan that would not be rejected (a rejected one cannot apply); `full_id`:
    the signed id itself, which applies from any machine (a handle resolves only where it was planned)."""
    if result.get("status") != "planned" or not result.get("plan_id") or outcome(result, on_blocked) == "rejected":
        return None
    return f"karma apply {result['plan_id'] if full_id else result.get('plan_handle') or result['plan_id']}"


def waiting_hint(result: dict) -> str | None:
    """What comes next for a change that waits, ending with the command to paste (as a plan's apply hint
    does): a request left pending or queued said only its status, and the change id to act on was in the
    middle of its first line."""
    change_id, status = result.get("change_id"), result.get("status")
    if not change_id:
        return None
    if status == "pending_approval":
        return f"waiting for an approver (not its requester): karma approve {change_id}   (or: karma deny {change_id})"
    if status == "queued":
        return f"waiting in the queue until nothing blocks it (karma queue); to withdraw it: karma cancel {change_id}"
    return None


def section(title: str, body: str) -> str:
    return f"\n{title}\n{body}"


def what_if(result: dict) -> str | None:
    """A what-if plan's premise in words (POST /plan with `assume`): its verdict holds only as long as what it
    assumed does, and it has no plan id — a table that said only "would be applied" read as the real one."""
    if not result.get("hypothetical"):
        return None
    assumed, statuses = result.get("assumed") or {}, result.get("assumed_status") or []
    premises = [
        f"{component} reports " + ", ".join(f"{k} {cell(v)}" for k, v in outputs.items())
        for component, outputs in (assumed.get("runtime") or {}).items()
    ]
    for n, change_set in enumerate(assumed.get("applied") or [], 1):
        ops = change_set.get("changes") or []
        what = ", ".join(dict.fromkeys(str(o.get("component")) for o in ops))
        simulated = f", simulated {statuses[n - 1]}" if n <= len(statuses) else ""
        premises.append(f"change set {n} applied ({plural(len(ops), 'operation')} on {what}{simulated})")
    return (
        "assuming "
        + ("; ".join(premises) or "nothing")
        + " — hypothetical: no plan id, nothing can apply it (plan without assume for one that can)"
    )


def summary(result: dict, on_blocked: str = "reject") -> str:
    status, becomes = result.get("status"), outcome(result, on_blocked)
    waves = (result.get("actions") or {}).get("waves") or []
    head = f"{status}{' (what-if)' if result.get('hypothetical') else ''}: {change_title(result)}"
    if status == ChangeStatus.PLANNED:
        head += f" — would be {becomes.replace('_', ' ')}"
    parts = [head, f"{len(result.get('affected_components') or [])} affected", plural(len(waves), "wave")]
    for key in ("change_id", "log_entry_id", "plan_id", "rollback_of", "approved_by"):
        if result.get(key):
            value = result.get("plan_handle") if key == "plan_id" and result.get("plan_handle") else result[key]
            parts.append(f"{key.replace('_', ' ')} {value}")
    if result.get("idempotent_replay"):
        parts.append("(replayed: nothing applied again)")
    return " · ".join(parts)


def decided_only(result: dict) -> str:
    """A decision on a stored change with no analysis (deny, cancel), headed as every other result is —
    `denied: vpc/karma-prod · change id chg-… · log entry id log-…`, then its note — where it was a dump of
    its keys (`status denied · change_id chg-… · component …`)."""
    head = f"{result.get('status')}: {result.get('component') or '-'}"
    parts = [head, *(f"{k.replace('_', ' ')} {result[k]}" for k in ("change_id", "log_entry_id") if result.get(k))]
    return " · ".join(parts) + (f"\nnote: {result['note']}" if result.get("note") else "")


def change_result(result: dict, on_blocked: str = "reject") -> str:
    """A plan / request / apply / approve / rollback result."""
    if "diff" not in result and "operations" not in result:  # a transition (deny, cancel): no analysis
        return decided_only(result)
    out = [summary(result, on_blocked)]
    premise = what_if(result)
    if premise:
        out.append(premise)
    out += warning_lines(result)
    out += analysis(result)
    hint = apply_hint(result, on_blocked)
    if hint:
        out.append(f"\napply exactly this plan: {hint}   (the full plan id: --json)")
    waiting = waiting_hint(result)
    if waiting:
        out.append(f"\n{waiting}")
    return "\n".join(out)


def analysis(result: dict, limit: int | None = None) -> list[str]:
    """What a judged change does, as tables: each operation of a set (in request order: what it writes, its
    decisions, its impact) or a single change's diff and decisions, then the actions in waves. A change's
    result and its audit entry (`karma show log-…`) hold the same keys, and read the same. `limit` (LISTED):
    at most so many operations and actions — an import's entry can hold thousands."""
    out, operations = [], result.get("operations") or []
    # a set (of one or more: a set of one has no top-level diff), each operation; a single change, its diff
    if len(operations) > 1 or (operations and "diff" not in result):
        for o in operations[:limit]:
            out += operation(o, len(operations))
        if limit is not None and len(operations) > limit:
            out.append(f"\n… {plural(len(operations) - limit, 'more operation')} (--json has them all)")
    else:
        out += _judged("", result.get("diff") or [], result.get("decisions") or [])
    actions = result.get("actions") or {}
    if actions.get("waves"):
        rows = [
            [wave_number(i), a["component"], a["action"], a.get("reason")]
            for i, wave in enumerate(actions["waves"])
            for a in wave
        ]
        headers = ["wave", "component", "action", "reason"]
        shown = table(headers, rows) if limit is None else _capped(headers, rows)  # _capped: the first LISTED
        out.append(section(f"ACTIONS ({actions.get('order', 'providers-first')})", shown))
    return out


def warning_lines(result: dict) -> list[str]:
    """A judged change's rule warnings (its `warn` decisions' messages), one `warning:` line each: how
    `karma request` / `plan` / `apply` print them, and `karma import` / `karma seed` of a set alike — there
    they were only rows of the DECISIONS table, which a reader scanning for `warning:` missed."""
    broken = [f"warning: {result['rules_broken']}"] if result.get("rules_broken") else []
    return broken + [f"warning: {warning}" for warning in result.get("warnings") or []]


def _decisions(decisions: list[dict]) -> list[list]:
    return [
        [
            d.get("rule_id"),
            d.get("effect"),
            d.get("component"),
            " → ".join(d.get("path") or []) or None,
            d.get("message"),
        ]
        for d in decisions
    ]


def _judged(prefix: str, diff: list[dict], decisions: list[dict]) -> list[str]:
    out = [section(f"{prefix}DIFF", table(["key", "op", "old", "new"], _diff_rows(diff)))]
    if decisions:
        out.append(
            section(
                f"{prefix}DECISIONS", table(["rule", "effect", "component", "path", "message"], _decisions(decisions))
            )
        )
    return out


def _diff_rows(diff: list[dict]) -> list[list]:
    """A diff's rows down to the keys that changed (`functions.karma-graph-query.timeout: 10 → 30`): the
    top-level entry of a nested change is its whole object before and after, in which a reviewer would hunt
    for the one value that moved (and a terminal-wide cell cuts it off)."""
    return [[d["key"], d["op"], d.get("old"), d.get("new")] for d in config_diff.leaves(diff)]


def operation(o: dict, size: int) -> list[str]:
    """One operation of a change: its diff / created config / deleted snapshot / edge, its decisions and
    what it affects."""
    head = f"\nOPERATION {o['index'] + 1}/{size}: {o['op']} {o['component']}"
    if o.get("order") is not None:
        head += f" (judged {o['order'] + 1}.)"
    out = [head]
    if o["op"] == "update":
        out.append(table(["key", "op", "old", "new"], _diff_rows(o.get("diff") or [])))
    elif o["op"] == "create":
        out.append(table(["key", "value"], _config_rows(o.get("config") or {})))
    elif o["op"] == "delete":
        snap = o.get("deleted") or {}
        out.append(
            table(["deleted key", "last value"], [[k, v] for k, v in sorted((snap.get("config") or {}).items())])
        )
    else:
        edge = o.get("edge") or {}
        out.append(f"{o['op']}: {edge.get('source')} -{edge.get('kind')}-> {edge.get('target')}")
    return out + _operation_judged(o)


def _operation_judged(o: dict) -> list[str]:
    """What the rules said of one operation and what it affects: a result's, or a stored change's."""
    out = []
    if o.get("decisions"):
        out.append(table(["rule", "effect", "component", "path", "message"], _decisions(o["decisions"])))
    affected = o.get("affected_components") or []
    out.append(f"affects {len(affected)}: {', '.join(affected) or '-'}")
    return out


def component(detail: dict) -> str:
    out = [
        f"{detail['id']} · {detail['type']} · {detail['environment']} · version {detail['version']} · "
        f"action {detail.get('action')}"
    ]
    out.append(section("CONFIG", table(["key", "value"], _config_rows(detail["config"]))))
    runtime = sorted((detail.get("runtime") or {}).items())
    out.append(section("RUNTIME", table(["output", "value"], runtime) if runtime else "none reported"))
    edges = [["depends on / feeds", e["id"], e["kind"], e.get("via")] for e in detail.get("dependencies") or []]
    edges += [["used by", e["id"], e["kind"], e.get("via")] for e in detail.get("dependents") or []]
    out.append(section("EDGES", table(["direction", "component", "kind", "via"], edges) if edges else "none"))
    if detail.get("drift"):  # as `karma drift --component` lists it
        rows = [[e["kind"], e["field"], e["rule"], e["message"], e.get("file") or ""] for e in detail["drift"]]
        out.append(section("DRIFT", table(["kind", "field", "rule", "why", "file"], rows)))
    return "\n".join(out)


def _config_rows(config: dict, prefix: str = "") -> list[list]:
    """A config's rows down to its values: a nested object's keys by their dotted path
    (`functions.karma-graph-query.timeout  30`), as a DIFF names them and `--set` takes them. A lambda's
    functions were one JSON cell, cut at the terminal's width before the second function's timeout."""
    rows: list[list] = []
    for key, value in sorted(config.items()):
        if isinstance(value, dict) and value:
            rows += _config_rows(value, f"{prefix}{key}.")
        else:
            rows.append([f"{prefix}{key}", value])
    return rows


def change(detail: dict) -> str:
    request = detail.get("request") or {}
    changes = request.get("changes") or [
        {"op": "update", "component": detail.get("component_id"), "proposed_change": request.get("proposed_change")}
    ]
    title = change_title({"operations": changes, "component": changes[0]["component"] if len(changes) == 1 else None})
    out = [
        f"{detail['id']} · {detail['status']} · {title} · requested by "
        f"{detail.get('requested_by')} at {moment(detail.get('created_at'))}"
    ]
    if request.get("reason"):
        out.append(f"reason: {request['reason']}")
    if detail.get("rollback_of"):
        out.append(f"rollback of: {detail['rollback_of']}   (karma show {detail['rollback_of']})")
    written = {o.get("index", i): o for i, o in enumerate(detail.get("operations") or [])}
    for i, op in enumerate(changes):
        out.append(f"\nOPERATION {i + 1}/{len(changes)}: {op['op']} {op['component']}")
        done = written.get(i) or {}
        if done.get("diff") is not None:
            out.append(table(["key", "op", "old", "new"], _diff_rows(done["diff"])))
        elif op["op"] == "update":
            out.append(table(["key", "proposed value"], _config_rows(op.get("proposed_change") or {})))
        elif op["op"] == "create":
            out.append(table(["key", "value"], _config_rows(op.get("config") or {})))
        elif op["op"] == "delete":
            snap = (done.get("deleted") or {}).get("config") or {}
            out.append(table(["deleted key", "last value"], [[k, v] for k, v in sorted(snap.items())]))
        else:
            out.append(f"{op['op']}: {op['component']} -{op.get('kind')}-> {op.get('target')}")
        if done:  # applied: what the rules said of it and what it affected, as its result printed them
            out += _operation_judged(done)
    if detail.get("blockers"):
        out.append(
            section(
                "BLOCKERS",
                table(
                    ["rule", "effect", "component", "message"],
                    [
                        [b.get("rule_id"), b.get("effect"), b.get("component"), b.get("message")]
                        for b in detail["blockers"]
                    ],
                ),
            )
        )
    out.append(
        section(
            "TRAIL",
            table(
                ["created", "entry", "kind", "status", "by"],
                [
                    [
                        moment(t["timestamp"]),
                        t["id"],
                        t.get("kind"),
                        t["status"],
                        t.get("actor") or t.get("requested_by"),
                    ]
                    for t in detail.get("trail") or []
                ],
            ),
        )
    )
    rollbacks = detail.get("rolled_back_by") or []
    shown = {
        "queue_place": queue_place(detail),
        "waits_on": ", ".join(detail.get("waits_on") or []),
        "rolled_back_by": ", ".join(r["id"] for r in rollbacks if r.get("status") == "applied"),
        # a rollback denied, rejected or still waiting did not roll it back
        "rollbacks_not_applied": ", ".join(
            f"{r['id']} ({r.get('status')})" for r in rollbacks if r.get("status") != "applied"
        ),
        "approved_by": detail.get("approved_by"),
        "cancelled_by": detail.get("cancelled_by"),  # the requester stays `requested by` in the head line
        "note": detail.get("note"),
    }
    out += [f"{key.replace('_', ' ')}: {cell(value)}" for key, value in shown.items() if value]
    # a change rejected when it could no longer apply: each field the gate refused, as a 422 names it
    refused = (detail.get("refusal") or {}).get("errors") or {}
    out += [f"refused: {path}: {message}" for path, messages in refused.items() for message in messages]
    waiting = waiting_hint({"change_id": detail.get("id"), "status": detail.get("status")})
    return "\n".join(out + ([f"\n{waiting}"] if waiting else []))


def queue_place(detail: dict) -> str | None:
    """A queued change's place in its line (GET /changes/<id> `queue_place`), as the console's change page
    says it: `2 of 2 in the queue of <component> — behind chg-… (ted@…)`, or `— next to run`."""
    place = detail.get("queue_place") if detail.get("status") == "queued" else None
    if not place:
        return None
    said = f"{place['place']} of {place['of']} in the queue of {place['line']}"
    ahead = place.get("ahead") or []
    if not ahead:
        return f"{said} — next to run"
    more = f" and {len(ahead) - 5} more" if len(ahead) > 5 else ""
    return f"{said} — behind " + ", ".join(f"{a['id']} ({a.get('requested_by')})" for a in ahead[:5]) + more


def record(answer: dict) -> str:
    """Any flat answer (a subscription, a delivery pass, a prune), key by key."""
    return "\n".join(f"{k}: {cell(v)}" for k, v in answer.items() if v not in (None, [], {}))


# what an audit entry's own lines and tables say, or its head line: not repeated as `key: value`
ENTRY_SAID = {
    "id", "kind", "timestamp", "status", "actor", "requested_by", "approved_by", "reported_by", "component_id",
    "components",
    "operation_names", "imported_components", "subjects", "count", "change_id", "transition_id", "step",
    "rollback_of", "reason", "note", "warnings", "version_before", "version_after", "affected", "diff",
    "decisions", "operations", "actions", "refusal", "http_status", "cause", "method", "path", "query_text",
    "set_size",
}  # fmt: skip
ENTRY_JSON_ONLY = ("request", "facts", "graph_patch")  # whole documents: --json has them


def log_entry(entry: dict) -> str:
    """An audit entry (`karma show log-…`) as the log's table row reads it — when, which entry, what kind,
    what it did, by whom, its status — then what it is about and its tables (a change's diff, decisions
    and waves, as its result printed them). It was a dump of every key, the facts and graph patch among
    them as JSON cut at the terminal's width; those are --json's. A transition's step counts from 1."""
    head = " · ".join(
        str(part)
        for part in (
            entry.get("id"),
            entry.get("kind"),
            entry.get("status"),
            _entry_what(entry),
            f"by {entry.get('actor') or entry.get('requested_by')} at {moment(entry.get('timestamp'))}",
        )
        if part
    )
    out = [head, *_entry_lines(entry)]
    out += [f"{k.replace('_', ' ')}: {cell(v)}" for k, v in entry.items() if k not in ENTRY_SAID | set(ENTRY_JSON_ONLY)
            and v not in (None, [], {})]  # fmt: skip
    if entry.get("query_text"):
        out.append(section("QUERY", entry["query_text"]))
    if isinstance(entry.get("diff"), dict):  # a runtime report's: the outputs before and after
        out += _runtime_diff(entry["diff"])
    elif "diff" in entry or "operations" in entry:
        out += analysis(entry, limit=LISTED)
    held = [key for key in ENTRY_JSON_ONLY if entry.get(key)]
    if held:
        out.append(f"\n(its {', '.join(key.replace('_', ' ') for key in held)}: --json)")
    return "\n".join(out)


def _entry_what(entry: dict) -> str | None:
    """What an entry did, as the log's OPERATIONS column names it."""
    return _named(entry.get("operation_names"), entry.get("component_id")) or _loaded(entry) or _acted_on(entry)


def _entry_lines(entry: dict) -> list[str]:
    """An entry's own lines: the change or transition it belongs to (the command that shows it), who else
    took part, why, what it says, versions, what it reached, and a refused call's request."""
    out = []
    if entry.get("change_id"):
        out.append(f"change: {entry['change_id']}   (karma show {entry['change_id']})")
    if entry.get("transition_id"):
        step = f", step {_ordinal(entry['step'])}" if entry.get("step") is not None else ""
        out.append(f"transition: {entry['transition_id']}{step}   (karma transitions show {entry['transition_id']})")
    if entry.get("rollback_of"):
        out.append(f"rollback of: {entry['rollback_of']}")
    actor = entry.get("actor") or entry.get("requested_by")
    for key in ("requested_by", "approved_by", "reported_by"):
        if entry.get(key) and entry[key] != actor:
            out.append(f"{key.replace('_', ' ')}: {entry[key]}")
    out += [f"{key}: {entry[key]}" for key in ("reason", "note") if entry.get(key)]
    out += warning_lines(entry)
    if entry.get("http_status") is not None:
        said = " ".join(str(entry[k]) for k in ("method", "path") if entry.get(k))
        out.append(f"refused: {said} → {entry['http_status']}" + (f" ({entry['cause']})" if entry.get("cause") else ""))
    refused = (entry.get("refusal") or {}).get("errors") or {}
    out += [f"refused: {path}: {message}" for path, messages in refused.items() for message in messages]
    before, after = entry.get("version_before"), entry.get("version_after")
    if before is not None or after is not None:
        out.append(f"version: {before} → {after}" if before != after else f"version: {before} (unchanged)")
    affected = entry.get("affected") or []
    if affected:
        out.append(f"affected {len(affected)}: {', '.join(affected)}")
    return out


def _runtime_diff(diff: dict) -> list[str]:
    """A runtime report's entry: each output before and after (`-` where it had none, or has none now)."""
    before, after = diff.get("before") or {}, diff.get("after") or {}
    rows = [[k, before.get(k), after.get(k)] for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
    return [section("RUNTIME", table(["output", "before", "after"], rows))] if rows else []


def subscription(answer: dict) -> str:
    """A subscription as made, key by key, then its warnings as a change's answer prints them."""
    shown = record({k: v for k, v in answer.items() if k != "warnings"})
    return "\n".join([shown, *warning_lines(answer)])


def impact(result: dict) -> str:
    rows = [
        [r["depth"], r["id"], r.get("action"), " → ".join(r["path"]), ", ".join(r["edge_kinds"])]
        for r in result["affected"]
    ]
    return f"a change to {result['component']} reaches {result['count']} components\n\n" + table(
        ["depth", "component", "action", "path", "edge kinds"], rows
    )


def log_page(page: dict) -> str:
    rows = [
        [
            moment(e.get("timestamp")),
            e["id"],
            e.get("kind"),
            _named(e.get("operation_names"), e.get("component_id")) or _loaded(e) or _acted_on(e),
            e.get("actor") or e.get("requested_by"),
            e.get("status"),
            e.get("change_id") or e.get("transition_id"),  # a transition's move made no change: name it
        ]
        for e in page["items"]
    ]
    headers = ["created", "entry", "kind", "operations", "by", "status", "change / transition"]
    return listing(headers, rows, page_footer(page, "entry"))


def components_page(page: dict) -> str:
    rows = [[c["id"], c.get("environment"), c.get("version"), moment(c.get("updated_at"))] for c in page["items"]]
    return listing(["component", "environment", "version", "updated"], rows, page_footer(page, "component"))


def changes_page(page: dict) -> str:
    rows = [
        [
            moment(c.get("created_at")),
            c["id"],
            c["status"],
            _named(c.get("operation_names"), c.get("component_id")),
            c.get("requested_by"),
            c.get("affected_count"),
            c.get("reason"),
        ]
        for c in page["items"]
    ]
    headers = ["created", "change", "status", "operations", "by", "affected", "reason"]
    return listing(headers, rows, page_footer(page, "change"))


def _loaded(entry: dict) -> str | None:
    """A bulk import's entry (no operations): what it loaded."""
    count = entry.get("imported_components")
    return None if count is None else f"loaded {plural(count, 'component')}"


def _acted_on(entry: dict) -> str | None:
    """An admin entry's (no component): the tokens, subscriptions or outbox entries it acted on."""
    if entry.get("subjects"):
        return ", ".join(entry["subjects"])
    return None if entry.get("count") is None else plural(entry["count"], "entry")


def _named(names: list[str] | None, component: str | None) -> str | None:
    """Every operation, named the same way in `karma log` and `karma changes` (`update subnet/a; …`)."""
    return "; ".join(names) if names else component


def queue(items: list[dict]) -> str:
    rows = [
        [
            q.get("component_id"),
            q.get("seq"),
            q["id"],
            q.get("requested_by"),
            moment(q.get("created_at")),
            ", ".join(q.get("waits_on") or []) or None,
            "; ".join(b.get("rule_id", "") for b in q.get("blockers") or []) or None,
        ]
        for q in items
    ]
    headers = ["component", "seq", "change", "by", "queued at", "waits on", "blocked by"]
    return listing(headers, rows, f"{len(rows)} queued" if rows else "nothing queued")


def transitions(items: list[dict]) -> str:
    return table(
        ["change", "status", "note", "entry"],
        [[t.get("change_id"), t.get("status"), t.get("note"), t.get("log_entry_id")] for t in items],
    )


def _step_rows(steps: list[dict]) -> list[list]:
    """A transition's or a proposal's steps, numbered from 1 as every page a person reads numbers them
    (the API's `current_step`, `step` and `stalled.step` are indexes from 0: _ordinal)."""
    return [
        [
            i + 1,
            s.get("kind"),
            s.get("status"),
            s.get("component") or _changed(s.get("change") or {}),
            s.get("description"),
            s.get("change_id"),
        ]
        for i, s in enumerate(steps)
    ]


def _changed(change: dict) -> str | None:
    """What a change step (or a transition's requested change) changes: its component, or its set's
    components. A request is a change set (`changes`), even a single change; older records held the single
    form (`component`) — reading only that left the column empty."""
    components = [change["component"]] if change.get("component") else []
    components += [o.get("component") for o in change.get("changes") or [] if o.get("component")]
    return ", ".join(dict.fromkeys(components)) or None


def proposals(result: dict) -> str:
    """POST /transitions: allowed as it is, proposals best first (each with its handle), or none."""
    status = result.get("status")
    if status == "allowed":
        return "allowed: the change would apply as it is (karma request … applies it)"
    out = [
        f"{status}: the change is refused by "
        + ", ".join(sorted({str(d.get("rule_id")) for d in result.get("refused") or []}))
    ]
    if status == "no_transition":  # the why is the answer: each in full, not one JSON cell cut at its width
        unresolved = [
            f"- {u.get('rule_id')} ({u.get('effect')}) on {u.get('component')}: {u.get('message')}"
            + (f"\n  why no step: {u['why']}" if u.get("why") else "")
            for u in result.get("unresolved") or []
        ]
        out.append(section("UNRESOLVED", "\n".join(unresolved) or "-"))
    for n, proposal in enumerate(result.get("proposals") or [], 1):
        ref = proposal.get("handle") or proposal.get("id") or "(hypothetical: made with assume, not executable)"
        steps = proposal.get("steps") or []
        rows = [row[:2] + row[3:5] for row in _step_rows(steps)]  # a proposal's steps have no status nor change yet
        out.append(section(f"PROPOSAL {n}: {ref}", table(["step", "kind", "component", "what"], rows)))
        out += _step_reasons(steps)
    runnable = [p for p in result.get("proposals") or [] if p.get("id")]
    if runnable:
        first = runnable[0]
        out.append(f"\nrun the first: karma transitions execute {first.get('handle') or first['id']}")
    return "\n".join(out)


def _step_reasons(steps: list[dict]) -> list[str]:
    """Under a proposal's table, one whole line a step (never cut at the terminal's width): what a change
    step writes and why each step is there — the table said "the requested change" and a wait, and what
    they change and which rule each lifts were only in --json."""
    out = []
    for i, step in enumerate(steps, 1):
        said = [part for part in (step_sets(step), step_why(step)) if part]
        if said:
            out.append(f"step {i}: " + " — ".join(said))
    return out


def transition(record: dict) -> str:
    """A stored transition: status, step progress, trail."""
    head = (
        f"{record['id']} · {record.get('status')} · {_at_step(record)} · requested by "
        f"{record.get('requested_by')} at {moment(record.get('created_at'))}"
    )
    out = [head]
    if record.get("cancelled_by"):
        out.append(f"cancelled by: {record['cancelled_by']}")
    if record.get("note"):
        out.append(f"note: {record['note']}")
    if record.get("stalled"):
        out.append(f"stalled: {_stalled(record['stalled'])}")
    out.append(
        section(
            "STEPS",
            table(["step", "kind", "status", "component", "what", "change"], _step_rows(steps_as_shown(record))),
        )
    )
    if record.get("trail"):
        trail = table(["created", "entry", "status", "step", "by"], _trail_rows(record["trail"]))
        out.append(section("TRAIL", trail))
    out += _next(record)
    return "\n".join(out)


def _next(record: dict) -> list[str]:
    """What the person does next, as a command: a transition that waited or stalled said so and stopped
    there — which report it waits for, how to give it, how to get out of a stalled one, was not said; a
    completed one with a restore follow-up said "follow up" and not how to bring the component back."""
    status, tid = record.get("status"), record.get("id")
    if status == "waiting":
        waits = [s for s in record.get("steps") or [] if s.get("kind") == "wait" and s.get("status") == "waiting"]
        lines = []
        for step in waits:
            lines += [
                f"\nnext: deploy so that {step.get('description')}; its deploy reports it, or once done:",
                _report_command(step),
            ]
        return lines + [f"the transition carries on by itself then; follow it: karma transitions show {tid}"]
    if status == "stalled":
        return [
            f"\nnext: karma transitions cancel {tid}   (the steps already applied stay applied), then propose the"
            " change again on the graph as it is now:",
            *_propose_again(record),
        ]
    if status in ("cancelled", "expired"):
        return ["\nnothing more of it runs; to make the change still, propose it again on the graph as it is now:"] + (
            _propose_again(record)
        )
    if status == "completed":
        lines = []
        for step in [s for s in record.get("steps") or [] if s.get("kind") == "restore" and s.get("follow_up")]:
            outputs = ", ".join(f"{k} {v}" for k, v in (step.get("outputs") or {}).items())
            lines += [
                f"\nnext (a follow-up; the change is done): deploy {step.get('component')} back so that it reports"
                f" {outputs} again; its deploy reports it, or once done:",
                _report_command(step),
            ]
        return lines
    return []


def _propose_again(record: dict) -> list[str]:
    """The requested change, as a command that proposes it again, to paste: it said `karma transitions
    propose …` and left the change to be typed again from the JSON."""
    body = requested_body(record.get("request") or {})
    return [f"  {piped_propose(body)}"] if body else []


def piped_propose(body: dict) -> str:
    """A change's body as the `karma transitions propose` that searches it, to paste whole: the change
    piped in as one line of JSON (`-f -`), so that nothing has to be typed again (its `on_blocked` left
    out: a proposal never queues)."""
    return piped({k: v for k, v in body.items() if k != "on_blocked"}, "karma transitions propose")


def piped(change: dict, command: str) -> str:
    """`printf '%s\\n' '<the change as one line of JSON>' | <command> -f -`: a change to paste whole."""
    sent = json.dumps(change, separators=(",", ":"))
    return f"printf '%s\\n' {shlex.quote(sent)} | {command} -f -"


def _report_command(step: dict) -> str:
    """The `karma runtime report` of what a wait or restore step names, to paste (any published value
    stands as `<its value>`: only the deploy knows it). `--merge`: a report replaces the component's whole
    runtime, and the pasted `state=stopped` removed the instance's `instance_id` and `private_ip`."""
    outputs = " ".join(
        shlex.quote(f"{k}=<its value>" if v == NON_EMPTY else f"{k}={v if isinstance(v, str) else json.dumps(v)}")
        for k, v in (step.get("outputs") or {}).items()
    )
    return f"  karma runtime report --merge {step.get('component')} {outputs}"


def _stalled(stalled: dict) -> str:
    """Why a transition stopped, in words, its step numbered as the STEPS table numbers it (the console's
    "stopped" line): the step, what became of it, and each blocking decision."""
    what = stalled.get("description")
    head = f"step {_ordinal(stalled.get('step'))}" + (f" ({what})" if what else "")
    if stalled.get("status"):
        head += f": {str(stalled['status']).replace('_', ' ')} at its time"
        head += f", change {stalled['change_id']}" if stalled.get("change_id") else ""
    elif stalled.get("cause") == "wait_expired":
        head += f": its wait expired (waiting since {moment(stalled.get('waiting_since'))})"
    elif stalled.get("error"):
        head += f": failed: {stalled['error']}" + (f" ({stalled['cause']})" if stalled.get("cause") else "")
        head += "".join(f"; {field}: {' '.join(said)}" for field, said in (stalled.get("errors") or {}).items())
    blocking = [
        f"{d.get('effect')} {d.get('rule_id')} on {d.get('component')}: {d.get('message')}"
        for d in stalled.get("decisions") or []
    ]
    return "; ".join([head, *blocking])


def _trail_rows(trail: list[dict]) -> list[list]:
    return [
        [
            moment(t.get("timestamp")),
            t.get("id"),
            t.get("status"),
            _ordinal(t.get("step")),
            t.get("actor") or t.get("requested_by"),
        ]
        for t in trail
    ]


def _ordinal(index):
    """An index from 0 (a step's, in the API's JSON) as a person counts: from 1."""
    return index + 1 if isinstance(index, int) else index


def _at_step(record: dict) -> str:
    """Where a transition is, as the console says it (app.transitions.status.progress): `step 2 of 3`, or
    `done (3 steps)`."""
    shown = progress(record)
    return shown if record.get("status") == "completed" else f"step {shown}"


def transitions_page(page: dict) -> str:
    rows = [
        [moment(t.get("created_at")), t.get("id"), t.get("status"), progress(t)]
        + [t.get("requested_by"), _changed(t.get("request") or {})]
        for t in page["items"]
    ]
    return listing(
        ["created", "transition", "status", "step", "by", "component"], rows, page_footer(page, "transition")
    )


def subscriptions(items: list[dict]) -> str:
    rows = [
        [
            s.get("id"),
            s.get("url"),
            ", ".join(s.get("events") or []) or "*",
            ", ".join(s.get("environments") or []) or "*",
            s.get("source"),
            s.get("enabled"),
        ]
        for s in items
    ]
    warnings = [f"warning: {s.get('id')}: {w}" for s in items for w in s.get("warnings") or []]
    headers = ["id", "url", "events", "environments", "source", "enabled"]
    return "\n".join(
        [listing(headers, rows, plural(len(rows), "subscription") if rows else "no subscriptions")] + warnings
    )


def runtime(detail: dict) -> str:
    """PUT …/runtime: the component as it now is (its runtime outputs first)."""
    head = f"runtime recorded: {detail['id']} · version {detail.get('version')}"
    rows = [[k, v] for k, v in sorted((detail.get("runtime") or {}).items())]
    return "\n".join([head + "\n" + section("RUNTIME", table(["output", "value"], rows)), *_carried_on(detail)])


def _carried_on(detail: dict) -> list[str]:
    """The transitions that waited on the component, as the report left them: the reporter (often the one
    who executed it) read "runtime recorded" and had to look up whether the transition went on."""
    out = []
    for moved in detail.get("transitions") or []:
        status, tid = moved.get("status"), moved.get("id")
        said = "still waiting: not yet what its step waits for" if status == "waiting" else f"now {status}"
        out.append(f"transition {tid}: {said} (karma transitions show {tid})")
    return (["", *out]) if out else []


def loaded(result: dict) -> str:
    """`karma seed` / `karma import`: a bulk load, or the change set that turns the graph into the file."""
    source = result.get("source") or ""
    if result.get("plan") is True:  # an empty graph's bulk load, planned
        kinds = ", ".join(f"{n} {t}" for t, n in (result.get("by_type") or {}).items())
        head = f"would load {len(result.get('components') or [])} components from {source} ({kinds}); nothing written"
        return "\n".join([head, *_refused_files(result), *_planned_load(result)])
    if result.get("seed") == "import" or "written" in result:  # an empty graph's bulk load, done
        count = result.get("components")
        count = len(count) if isinstance(count, list) else count
        where = f"from {source} " if source else ""
        head = f"loaded {count} components {where}(one audited import, log entry {result.get('log_entry_id')})"
        return "\n".join([head, *_refused_files(result)])
    status = result.get("status")
    ops = result.get("operations") or []
    counts = (
        ", ".join(plural(n, word) for word, n in sorted(_count(o.get("op") for o in ops).items()) if n) or "no changes"
    )
    head = f"{status}: {plural(len(ops), 'change')} ({counts})" if ops else f"{status}: nothing to change"
    if status == "planned":
        head += f" — would be {outcome(result).replace('_', ' ')}"
    parts = [head] + [f"{k.replace('_', ' ')} {result[k]}" for k in ("change_id", "log_entry_id") if result.get(k)]
    out = [" · ".join(parts)]
    out += [f"note: {note}" for note in result.get("notes") or []]
    out += warning_lines(result) + _unchecked(result)
    out += _refused_files(result) + _orphaned(result)
    blockers = [d for d in result.get("decisions") or [] if d.get("effect") != "allow"]
    if blockers:
        out.append(section("DECISIONS", table(["rule", "effect", "component", "message"], [
            [d.get("rule_id"), d.get("effect"), d.get("component"), d.get("message")] for d in blockers
        ])))  # fmt: skip
    if ops and status == "planned":
        rows = [[o.get("op"), o.get("component"), _what(o)] for o in ops]
        out.append(section("CHANGES", table(["op", "component", "what"], rows)))
    out += _reverts(result)
    if "drift_pending" in result and status in ("planned", "unchanged"):  # a plan: what it would record is news
        out += _refused_table(result)  # (records already saying it, or written: the `refused:` line says so)
    return "\n".join(out)


def _reverts(result: dict) -> list[str]:
    """`karma import --revert-lost-changes`: each Karma change the import reverts (or would), whose
    write-back commit the tree's history lost — beside the `~key` of its update, which alone says nothing.
    `karma seed --revert-lost-changes`: each one its file does not say; an import of the tree a write-back
    diverged from: each one a commit there changed another way."""
    rows = [
        [w.get("component"), w.get("change_id"), (w.get("commit") or "")[:12], w.get("file")]
        for w in result.get("reverts") or []
    ]
    reverts = result.get("reverts") or []
    lost = "whose write-back commit the tree's history lost"
    if result.get("seed"):
        lost = "the seed file does not say"
    elif reverts and all(w.get("graph_only") for w in reverts):
        lost = "the tree does not say: the config store is off"
    elif reverts and all(w.get("diverged") for w in reverts):
        lost = "a commit in the tree changed another way"
    title = f"REVERTS (Karma changes {lost})"
    return [section(title, _capped(["component", "reverts", "commit", "file"], rows))] if rows else []


def _unchecked(result: dict) -> list[str]:
    """`karma import` of a plain directory (no git): each component it changes whose config came from a Karma
    change written back as a commit — the directory may be a copy from before it, and nothing tells."""
    return [
        f"warning: {w.get('file')}: {w.get('component')} was changed through Karma by {w.get('change_id')}, written "
        f"back as commit {(w.get('commit') or '')[:12]} in {w.get('work_tree')}; {result.get('source')} is no git "
        "work tree, so nothing tells whether it holds that change — if it does not, this import reverts it (import "
        "a clone of the config repository that has the commit instead)"
        for w in result.get("unchecked") or []
    ]


def _what(o: dict) -> str:
    """What one planned operation of a load does, in a word per key: an update's changed keys (`~`
    changed, `+` added, `-` removed; a nested key by its path, `~functions.karma-api.memory_size`, as
    app.changes.diff.leaves finds it in the operation's diff), a create's key count, a delete's last
    version — the keys an operator reviewing an adoption asks about before applying it (the values: `--full-json`)."""
    if o.get("op") == "update":
        marks = {"changed": "~", "added": "+", "removed": "-"}
        return " ".join(f"{marks.get(d.get('op'), '')}{d.get('key')}" for d in config_diff.leaves(o.get("diff") or []))
    if o.get("op") == "create":
        return plural(len(o.get("config") or {}), "key")
    if o.get("op") == "delete":
        return f"version {(o.get('deleted') or {}).get('version')} and its edges"
    edge = o.get("edge") or {}
    return f"-{edge.get('kind')}-> {edge.get('target')}"


SUMMARY_DROPS = ("graph_patch",)  # what a set writes, config by config: the full answer (--full-json) has it


def loaded_summary(result: dict) -> dict:
    """`karma seed --json` / `karma import --json`: the answer with each operation of a set as {index,
    op, component, effects} (its decisions' effects, e.g. ["warn"]) and the set's writes left out, plus
    `counts` per op — what a CI job acts on, growing with the set. Each operation's facts name every
    component of the set (an import of 3,000 files answered ~270 MB); `--full-json` prints the whole
    answer. A bulk load's answer (no operations) is already linear and passes as it is."""
    if "operations" not in result:
        return result
    ops = result.get("operations") or []
    slim = [
        {
            "index": o.get("index", i),
            "op": o.get("op"),
            "component": o.get("component"),
            "effects": sorted({d.get("effect") for d in o.get("decisions") or []} - {None}),
        }
        for i, o in enumerate(ops)
    ]
    kept = {k: v for k, v in result.items() if k not in SUMMARY_DROPS}
    return {**kept, "summary": True, "counts": _count(o.get("op") for o in ops), "operations": slim}


LISTED = 50  # rows of a planned load's tables shown before "… N more (--json has them all)"


def _planned_load(result: dict) -> list[str]:
    """A planned bulk load's components and, with --partial, every refused file's field and rule."""
    rows = [[cid] for cid in result.get("components") or []]
    out = [section("COMPONENTS", _capped(["component"], rows))] if rows else []
    return out + _refused_table(result)


def _refused_table(result: dict) -> list[str]:
    """`--partial`: every refused file's field, rule and why — a bulk load's plan and a change set's alike."""
    drift = [[e.get("file"), e.get("field"), e.get("rule"), e.get("message")] for e in result.get("drift") or []]
    return [section("DRIFT (refused files)", _capped(["file", "field", "rule", "why"], drift))] if drift else []


def _capped(headers: list[str], rows: list[list]) -> str:
    shown = table(headers, rows[:LISTED])
    return shown + (f"\n… {len(rows) - LISTED} more (--json has them all)" if len(rows) > LISTED else "")


def _refused_files(result: dict) -> list[str]:
    """`--partial`: how many files were refused, whether their drift records were written — and the
    records the import drops (`drift_cleared`: an import that refused nothing any more said "0 drift
    records written" while it removed the old ones): of files that load now, and of files in neither the
    tree nor the graph (`drift_gone`: a refused create whose file was deleted)."""
    refused, dropped = result.get("refused") or [], _dropped_records(result)
    if not result.get("partial"):  # it refuses nothing; the records of files that load now still go
        return [f"drift: the records of {dropped}"] if dropped else []
    said = [_records_done(result)] if refused else []
    if dropped:
        said.append(f"the drift records of {dropped}")
    return [f"refused: {plural(len(refused), 'file')}" + "".join(f"; {part}" for part in said)]


def _dropped_records(result: dict) -> str:
    """Whose records an import drops, and whether it did: `1 file loading now dropped`."""
    cleared, gone = result.get("drift_cleared") or [], result.get("drift_gone") or []
    loading = len(cleared) - len(gone)
    parts = [f"{plural(loading, 'file')} loading now"] if loading else []
    parts += [f"{plural(len(gone), 'file')} in neither the tree nor the graph"] if gone else []
    return f"{' and of '.join(parts)} {_dropped(result)}" if parts else ""


def _orphaned(result: dict) -> list[str]:
    """The graph's components whose file the tree lacks, kept (no --prune): whether their orphan drift was
    recorded, would be, or already is — the note names them; this says `karma drift` shows them."""
    orphaned = result.get("orphaned") or []
    if not orphaned:
        return []
    return [f"orphaned: {plural(len(orphaned), 'component')} not in the tree; {_records_done(result)}"]


def _records_done(result: dict) -> str:
    """Whether the refused files' drift records were written, would be, or already say it."""
    status = result.get("status")
    if "drift_recorded" in result:  # counted as `karma drift` counts them: it said 11 "records" of 4 files
        return f"{plural(result['drift_recorded'], 'drift entry')} written (karma drift)"
    if _would_record(result):
        return "their drift would be recorded"
    if "drift_pending" in result:
        return "their drift is recorded when the set applies"
    if result.get("drift_current") or status in ("planned", "unchanged"):
        return "the drift records already say this (karma drift)"
    return f"no drift recorded: the set was {status}"


def _dropped(result: dict) -> str:
    """What became of the records of files that load now, as `_records_done` says it of the refused."""
    if "drift_recorded" in result:
        return "dropped"
    if _would_record(result):
        return "would be dropped"
    if "drift_pending" in result:
        return "are dropped when the set applies"
    return f"kept: the set was {result.get('status')}"


def _would_record(result: dict) -> bool:
    """A plan: nothing written, the records it shows are what an import would write."""
    planned = result.get("status") in ("planned", "unchanged")
    return result.get("plan") is True or ("drift_pending" in result and planned)


def _count(ops) -> dict:
    found: dict = {}
    for op in ops:
        word = {"create": "create", "update": "update", "delete": "delete"}.get(op, str(op))
        found[word] = found.get(word, 0) + 1
    return found
