"""Mermaid flowchart: one subgraph per wave, blockers in red. GitHub and GitLab render it in Markdown."""

from __future__ import annotations

from app.render.picture import Picture, wave_number


def _text(value: str) -> str:
    """Mermaid label text: quotes and markup characters as entity codes (ids and values are user data)."""
    out = []
    for ch in value:
        if ch.isalnum() or ch in " /-_.:,()+=@":
            out.append(ch)
        else:
            out.append(f"#{ord(ch)};")
    return "".join(out)


def render(picture: Picture) -> str:
    ids = {n.id: f"n{i}" for i, n in enumerate(picture.nodes)}
    lines = ["flowchart LR"]
    for w, wave in enumerate(picture.waves):
        if not wave:
            continue
        lines.append(f'  subgraph wave{w}["wave {wave_number(w)}"]')
        for n in wave:
            label = f"{n.id}<br/>{n.action}" if n.action else n.id
            if n.blocked_by:
                label += "".join(f"<br/>{b}" for b in n.blocked_by)
            # the label is escaped, then the line breaks we add are put back
            text = _text(label.replace("<br/>", "\n")).replace("#10;", "<br/>")
            lines.append(f'    {ids[n.id]}["{text}"]')
        lines.append("  end")
    for e in picture.edges:
        lines.append(f"  {ids[e.source]} -->|{_text(e.kind)}| {ids[e.target]}")
    lines += [
        "  classDef changed fill:#dbeafe,stroke:#1d4ed8,stroke-width:2px",
        "  classDef blocker fill:#fee2e2,stroke:#b91c1c,stroke-width:3px",
    ]
    changed = [ids[n.id] for n in picture.nodes if n.changed and not n.blocked_by]
    blocked = [ids[n.id] for n in picture.blocked]
    if changed:
        lines.append(f"  class {','.join(changed)} changed")
    if blocked:
        lines.append(f"  class {','.join(blocked)} blocker")
    return "\n".join(lines) + "\n"
