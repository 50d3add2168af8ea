"""A plan as Markdown for a pull-request comment: summary, diff, decisions, waves, a Mermaid impact graph.
The summary names the plan by its handle, as the text does; the command that applies it carries the full
signed id, which `karma apply` takes on any machine (a handle resolves only in the cache of the one that
planned it: the CI runner's)."""

from __future__ import annotations

import json

from app import render
from app.client.outcome import outcome
from app.changes import diff as config_diff
from app.changes.status import ChangeStatus
from app.client.text import apply_hint, plural, what_if
from app.ids import handle_of

ICON = {"applied": "✅", "rejected": "⛔", "queued": "⏳", "pending_approval": "✋"}


def _md(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return "`" + " ".join(text.split()).replace("`", "'").replace("|", "\\|") + "`" if value is not None else "–"


def _plain(text) -> str:
    return " ".join(str(text or "").split()).replace("|", "\\|").replace("<", "&lt;")


def change_result(result: dict, on_blocked: str = "reject") -> str:
    becomes = outcome(result, on_blocked)
    verb = "would be" if result.get("status") == ChangeStatus.PLANNED else "is"
    waves = (result.get("actions") or {}).get("waves") or []
    kind = "plan" if result.get("status") == "planned" else "change"
    premise = what_if(result)
    out = [
        f"### Karma {'what-if ' if premise else ''}{kind}: {_title(result)} "
        f"{verb} **{becomes.replace('_', ' ')}** {ICON.get(becomes, '')}".rstrip(),
        "",
        *([f"> {_plain(premise)}", ""] if premise else []),
        f"{plural(len(result.get('affected_components') or []), 'component')} affected, {plural(len(waves), 'wave')}"
        + (f" · plan `{handle_of(result['plan_id'])}`" if result.get("plan_id") else "")
        + (f" · change `{result['change_id']}`" if result.get("change_id") else ""),
        "",
    ]
    for warning in result.get("warnings") or []:
        out.append(f"> ⚠️ {_plain(warning)}")
    if result.get("warnings"):
        out.append("")
    operations = result.get("operations") or []
    if len(operations) > 1:  # every operation in request order
        for o in operations:
            out += _operation(o, len(operations))
    else:
        out += _diff(result.get("diff") or []) + _decisions(result.get("decisions") or [])
    if waves:
        out += [
            "",
            "<details><summary>Actions in waves</summary>",
            "",
            "| wave | component | action |",
            "|---|---|---|",
        ]
        out += [
            f"| {render.wave_number(i)} | `{a['component']}` | {a['action']} |"
            for i, wave in enumerate(waves)
            for a in wave
        ]
        out += ["", "</details>"]
    out += ["", "```mermaid", render.render(render.from_plan(result), "mermaid").rstrip(), "```"]
    hint = apply_hint(result, on_blocked, full_id=True)  # pasted from a pull request: no handle cache there
    if hint:
        out += ["", f"Apply exactly this plan: `{hint}`"]
    return "\n".join(out) + "\n"


def _title(result: dict) -> str:
    ops = result.get("operations") or []
    if len(ops) <= 1 and result.get("component"):
        return f"`{result['component']}`"
    return f"{len(ops)} operations"


def _diff(diff: list[dict]) -> list[str]:
    """Down to the nested keys that changed, as the text tables show it (app.changes.diff.leaves)."""
    out = ["| key | change | before | after |", "|---|---|---|---|"]
    rows = config_diff.leaves(diff)
    return out + [f"| `{d['key']}` | {d['op']} | {_md(d.get('old'))} | {_md(d.get('new'))} |" for d in rows]


def _decisions(decisions: list[dict]) -> list[str]:
    if not decisions:
        return []
    out = ["", "| rule | effect | component | message |", "|---|---|---|---|"]
    return out + [
        f"| `{d.get('rule_id')}` | **{d.get('effect')}** | {_md(d.get('component'))} | {_plain(d.get('message'))} |"
        for d in decisions
    ]


def _operation(o: dict, size: int) -> list[str]:
    """One operation: what it writes (diff, created config, deleted snapshot or edge), its decisions and
    what it affects."""
    out = ["", f"#### {o['index'] + 1}/{size}: {o['op']} `{o['component']}`", ""]
    if o["op"] == "update":
        out += _diff(o.get("diff") or [])
    elif o["op"] in ("create", "delete"):
        config = o.get("config") if o["op"] == "create" else (o.get("deleted") or {}).get("config")
        label = "config" if o["op"] == "create" else "last config (deleted)"
        out += [f"| key | {label} |", "|---|---|"]
        out += [f"| `{k}` | {_md(v)} |" for k, v in sorted((config or {}).items())]
    else:
        edge = o.get("edge") or {}
        out.append(f"`{edge.get('source')}` -{edge.get('kind')}-> `{edge.get('target')}`")
    out += _decisions(o.get("decisions") or [])
    affected = o.get("affected_components") or []
    out += ["", f"affects {len(affected)}: " + (", ".join(f"`{a}`" for a in affected) or "–")]
    return out
