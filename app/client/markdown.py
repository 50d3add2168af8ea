"""A plan as Markdown for a pull-request comment: summary, diff, decisions, waves, a Mermaid impact graph."""

from __future__ import annotations

import json

from app import render
from app.client.outcome import outcome
from app.client.text import apply_hint, plural

ICON = {"applied": "✅", "rejected": "⛔", "queued": "⏳", "pending_approval": "✋"}


def _md(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return "`" + " ".join(text.split()).replace("`", "'").replace("|", "\\|") + "`" if value is not None else "–"


def _plain(text) -> str:
    return " ".join(str(text or "").split()).replace("|", "\\|").replace("<", "&lt;")


def change_result(result: dict, on_blocked: str = "reject") -> str:
    becomes = outcome(result, on_blocked)
    verb = "would be" if result.get("status") == "planned" else "is"
    waves = (result.get("actions") or {}).get("waves") or []
    out = [
        f"### Karma {'plan' if result.get('status') == 'planned' else 'change'}: `{result['component']}` "
        f"{verb} **{becomes.replace('_', ' ')}** {ICON.get(becomes, '')}".rstrip(),
        "",
        f"{plural(len(result.get('affected_components') or []), 'component')} affected, {plural(len(waves), 'wave')}"
        + (f" · plan `{result.get('plan_handle') or result['plan_id']}`" if result.get("plan_id") else "")
        + (f" · change `{result['change_id']}`" if result.get("change_id") else ""),
        "",
    ]
    for warning in result.get("warnings") or []:
        out.append(f"> ⚠️ {_plain(warning)}")
    if result.get("warnings"):
        out.append("")
    out += ["| key | change | before | after |", "|---|---|---|---|"]
    out += [f"| `{d['key']}` | {d['op']} | {_md(d.get('old'))} | {_md(d.get('new'))} |" for d in result["diff"]]
    decisions = result.get("decisions") or []
    if decisions:
        out += ["", "| rule | effect | component | message |", "|---|---|---|---|"]
        out += [
            f"| `{d.get('rule_id')}` | **{d.get('effect')}** | {_md(d.get('component'))} | {_plain(d.get('message'))} |"
            for d in decisions
        ]
    if waves:
        out += [
            "",
            "<details><summary>Actions in waves</summary>",
            "",
            "| wave | component | action |",
            "|---|---|---|",
        ]
        out += [f"| {i} | `{a['component']}` | {a['action']} |" for i, wave in enumerate(waves) for a in wave]
        out += ["", "</details>"]
    out += ["", "```mermaid", render.render(render.from_plan(result), "mermaid").rstrip(), "```"]
    hint = apply_hint(result, on_blocked)
    if hint:
        out += ["", f"Apply exactly this plan: `{hint}`"]
    return "\n".join(out) + "\n"
