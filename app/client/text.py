"""Human-readable output: a summary line, then the diff, decisions and actions in waves as tables."""

from __future__ import annotations

import json

from app.client.outcome import outcome

WIDTH = 70


def cell(value) -> str:
    if value is None:
        return "-"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    text = " ".join(text.split())
    return text if len(text) <= WIDTH else text[: WIDTH - 1] + "…"


def table(headers: list[str], rows: list[list]) -> str:
    cells = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = lambda values: "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()  # noqa: E731
    out = [line([h.upper() for h in headers]), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    return "\n".join(out)


def section(title: str, body: str) -> str:
    return f"\n{title}\n{body}"


def summary(result: dict, on_blocked: str = "reject") -> str:
    status, becomes = result.get("status"), outcome(result, on_blocked)
    waves = (result.get("actions") or {}).get("waves") or []
    head = f"{status}: {result.get('component')}"
    if status == "planned":
        head += f" — would be {becomes.replace('_', ' ')}"
    parts = [head, f"{len(result.get('affected_components') or [])} affected", f"{len(waves)} waves"]
    for key in ("change_id", "log_entry_id", "plan_id", "rollback_of", "approved_by"):
        if result.get(key):
            parts.append(f"{key.replace('_', ' ')} {result[key]}")
    if result.get("idempotent_replay"):
        parts.append("(replayed: nothing applied again)")
    return " · ".join(parts)


def change_result(result: dict, on_blocked: str = "reject") -> str:
    """A plan / request / apply / approve / rollback result."""
    if "diff" not in result:  # a transition (deny, cancel): no analysis attached
        return " · ".join(
            f"{k} {result[k]}" for k in ("status", "change_id", "component", "note", "log_entry_id") if result.get(k)
        )
    out = [summary(result, on_blocked)]
    for warning in result.get("warnings") or []:
        out.append(f"warning: {warning}")
    out.append(
        section(
            "DIFF",
            table(
                ["key", "op", "old", "new"], [[d["key"], d["op"], d.get("old"), d.get("new")] for d in result["diff"]]
            ),
        )
    )
    decisions = result.get("decisions") or []
    if decisions:
        out.append(
            section(
                "DECISIONS",
                table(
                    ["rule", "effect", "component", "path", "message"],
                    [
                        [
                            d.get("rule_id"),
                            d.get("effect"),
                            d.get("component"),
                            " → ".join(d.get("path") or []) or None,
                            d.get("message"),
                        ]
                        for d in decisions
                    ],
                ),
            )
        )
    actions = result.get("actions") or {}
    if actions.get("waves"):
        rows = [
            [i, a["component"], a["action"], a.get("reason")] for i, wave in enumerate(actions["waves"]) for a in wave
        ]
        out.append(
            section(
                f"ACTIONS ({actions.get('order', 'providers-first')})",
                table(["wave", "component", "action", "reason"], rows),
            )
        )
    if result.get("status") == "planned" and result.get("plan_id"):
        out.append(f"\napply exactly this plan: karma apply {result['plan_id']}")
    return "\n".join(out)


def component(detail: dict) -> str:
    out = [
        f"{detail['id']} · {detail['type']} · {detail['environment']} · version {detail['version']} · "
        f"action {detail.get('action')}"
    ]
    out.append(section("CONFIG", table(["key", "value"], [[k, v] for k, v in sorted(detail["config"].items())])))
    out.append(
        section(
            "RUNTIME", table(["output", "value"], [[k, v] for k, v in sorted((detail.get("runtime") or {}).items())])
        )
    )
    edges = [["depends on / feeds", e["id"], e["kind"], e.get("via")] for e in detail.get("dependencies") or []]
    edges += [["used by", e["id"], e["kind"], e.get("via")] for e in detail.get("dependents") or []]
    out.append(section("EDGES", table(["direction", "component", "kind", "via"], edges)))
    return "\n".join(out)


def change(detail: dict) -> str:
    request = detail.get("request") or {}
    out = [
        f"{detail['id']} · {detail['status']} · {detail.get('component_id')} · requested by "
        f"{detail.get('requested_by')} at {detail.get('created_at')}"
    ]
    if request.get("reason"):
        out.append(f"reason: {request['reason']}")
    out.append(
        section(
            "PROPOSED CHANGE",
            table(["key", "value"], [[k, v] for k, v in (request.get("proposed_change") or {}).items()]),
        )
    )
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
                ["timestamp", "entry", "kind", "status", "by"],
                [
                    [t["timestamp"], t["id"], t.get("kind"), t["status"], t.get("requested_by")]
                    for t in detail.get("trail") or []
                ],
            ),
        )
    )
    for key in ("waits_on", "rolled_back_by", "approved_by", "note"):
        if detail.get(key):
            out.append(f"{key.replace('_', ' ')}: {cell(detail[key])}")
    return "\n".join(out)


def log_entry(entry: dict) -> str:
    return "\n".join(f"{k}: {cell(v)}" for k, v in entry.items() if v not in (None, [], {}))


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
            e.get("timestamp"),
            e["id"],
            e.get("kind"),
            e.get("component_id"),
            e.get("requested_by"),
            e.get("status"),
            e.get("change_id"),
        ]
        for e in page["items"]
    ]
    return (
        table(["timestamp", "entry", "kind", "component", "by", "status", "change"], rows)
        + f"\n{len(rows)} of {page['total']} (page {page['page']})"
    )


def changes_page(page: dict) -> str:
    rows = [
        [
            c.get("created_at"),
            c["id"],
            c["status"],
            c.get("component_id"),
            c.get("requested_by"),
            c.get("affected_count"),
            c.get("reason"),
        ]
        for c in page["items"]
    ]
    return (
        table(["created", "change", "status", "component", "by", "affected", "reason"], rows)
        + f"\n{len(rows)} of {page['total']} (page {page['page']})"
    )


def queue(items: list[dict]) -> str:
    rows = [
        [
            q.get("component_id"),
            q.get("seq"),
            q["id"],
            q.get("requested_by"),
            q.get("created_at"),
            ", ".join(q.get("waits_on") or []) or None,
            "; ".join(b.get("rule_id", "") for b in q.get("blockers") or []) or None,
        ]
        for q in items
    ]
    return (
        table(["component", "seq", "change", "by", "queued at", "waits on", "blocked by"], rows)
        + f"\n{len(rows)} queued"
    )


def transitions(items: list[dict]) -> str:
    return table(
        ["change", "status", "note", "entry"],
        [[t.get("change_id"), t.get("status"), t.get("note"), t.get("log_entry_id")] for t in items],
    )
