"""Graphviz DOT: one cluster per wave (left to right), edge kinds as labels, blockers in red."""

from __future__ import annotations

from app.render.picture import Picture, wave_number

EDGE_STYLE = {"depends_on": "solid", "consumes_runtime_from": "dashed", "emits_runtime_to": "bold"}


def _q(value: str) -> str:
    """A DOT double-quoted string (ids and values are user data)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def render(picture: Picture) -> str:
    lines = [
        "digraph karma {",
        "  rankdir=LR;",
        f"  label={_q(picture.title)}; labelloc=t;",
        '  node [shape=box, style="rounded,filled", fillcolor="#f8fafc", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for w, wave in enumerate(picture.waves):
        if not wave:
            continue
        lines.append(f"  subgraph cluster_wave_{w} {{")
        lines.append(f'    label={_q(f"wave {wave_number(w)}")}; style=dashed; color="#94a3b8";')
        for n in wave:
            label = f"{n.id}\n{n.action}" if n.action else n.id
            label += "".join(f"\n{b}" for b in n.blocked_by)
            attrs = [f"label={_q(label)}"]
            if n.blocked_by:
                attrs += [
                    'fillcolor="#fee2e2"',
                    'color="#b91c1c"',
                    "penwidth=3",
                    f"tooltip={_q(', '.join(n.blocked_by))}",
                ]
            elif n.changed:
                attrs += ['fillcolor="#dbeafe"', 'color="#1d4ed8"', "penwidth=2"]
            lines.append(f"    {_q(n.id)} [{', '.join(attrs)}];")
        lines.append("  }")
    for e in picture.edges:
        lines.append(
            f"  {_q(e.source)} -> {_q(e.target)} [label={_q(e.kind)}, style={EDGE_STYLE.get(e.kind, 'solid')}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"
