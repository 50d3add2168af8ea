"""SVG drawn here, without graphviz or the network: waves are the layers of a layered layout.

Columns are waves (left to right), rows are the components of a wave in order; rows are placed in
the order of their providers' rows (one barycentre pass) so that edges cross less. Only presentation
attributes, no <style> or script: the picture is safe to inline and passes a strict CSP.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from app.render.picture import Picture

NODE_W, NODE_H, COL_GAP, ROW_GAP, MARGIN, HEADER = 240, 46, 90, 22, 24, 56
EDGE_COLOR = {"depends_on": "#475569", "consumes_runtime_from": "#0f766e", "emits_runtime_to": "#7c3aed"}
DASH = {"consumes_runtime_from": "6 4", "emits_runtime_to": "2 3"}


def _x(text: str) -> str:
    return escape(text, {'"': "&quot;"})


def _clip(text: str, limit: int = 34) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _rows(picture: Picture) -> dict[str, tuple[int, int]]:
    """(column, row) of each node; a wave is ordered by the mean row of the nodes that lead to it."""
    providers: dict[str, list[str]] = {}
    for e in picture.edges:
        providers.setdefault(e.target, []).append(e.source)
    place: dict[str, tuple[int, int]] = {}
    for w, wave in enumerate(picture.waves):

        def weight(n, w=w):
            rows = [place[p][1] for p in providers.get(n.id, []) if p in place and place[p][0] < w]
            return (sum(rows) / len(rows) if rows else 0.0, n.id)

        for r, n in enumerate(sorted(wave, key=weight)):
            place[n.id] = (w, r)
    return place


def _bezier(t: float, a: float, b: float, c: float, d: float) -> float:
    return (1 - t) ** 3 * a + 3 * (1 - t) ** 2 * t * b + 3 * (1 - t) * t**2 * c + t**3 * d


def _edge_path(src: tuple[float, float], dst: tuple[float, float], src_col: int, dst_col: int):
    """(SVG path, label point). Next wave: one curve. Further: along the gap below the target's row, so the
    edge never crosses a box. Same wave or backwards (a cycle): a loop under both boxes."""
    (sx, sy), (tx, ty) = src, dst
    x1, y1, x2, y2 = sx + NODE_W, sy + NODE_H / 2, tx, ty + NODE_H / 2
    if dst_col <= src_col:
        x1, x2, y1, y2 = sx + NODE_W / 2, tx + NODE_W / 2, sy + NODE_H, ty + NODE_H
        low = max(y1, y2) + ROW_GAP / 2
        return (
            f"M {x1:.0f} {y1:.0f} C {x1:.0f} {low:.0f}, {x2:.0f} {low:.0f}, {x2:.0f} {y2:.0f}",
            ((x1 + x2) / 2, low),
        )
    if dst_col == src_col + 1:
        mid = (x1 + x2) / 2
        t = 0.7  # the label near the target, so labels of one source's edges do not pile up
        return (
            f"M {x1:.0f} {y1:.0f} C {mid:.0f} {y1:.0f}, {mid:.0f} {y2:.0f}, {x2:.0f} {y2:.0f}",
            (_bezier(t, x1, mid, mid, x2), _bezier(t, y1, y1, y2, y2)),
        )
    lane = ty + NODE_H + ROW_GAP / 2
    a, b = x1 + COL_GAP, x2 - COL_GAP
    return (
        f"M {x1:.0f} {y1:.0f} C {x1 + COL_GAP / 2:.0f} {y1:.0f}, {x1 + COL_GAP / 2:.0f} {lane:.0f}, "
        f"{a:.0f} {lane:.0f} L {b:.0f} {lane:.0f} C {x2 - COL_GAP / 2:.0f} {lane:.0f}, "
        f"{x2 - COL_GAP / 2:.0f} {y2:.0f}, {x2:.0f} {y2:.0f}",
        ((a + b) / 2, lane + 2),
    )


def render(picture: Picture) -> str:
    place = _rows(picture)
    cols = max((c for c, _ in place.values()), default=0) + 1
    rows = max((r for _, r in place.values()), default=0) + 1
    width = MARGIN * 2 + cols * NODE_W + (cols - 1) * COL_GAP
    height = MARGIN * 2 + HEADER + rows * NODE_H + (rows - 1) * ROW_GAP + 40

    def box(node_id: str) -> tuple[float, float]:
        c, r = place[node_id]
        return MARGIN + c * (NODE_W + COL_GAP), MARGIN + HEADER + r * (NODE_H + ROW_GAP)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="12" '
        f'role="img" aria-label="{_x(picture.title)}">',
        f"<title>{_x(picture.title)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#475569"/></marker></defs>',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{MARGIN}" y="{MARGIN + 4}" font-size="15" font-weight="bold" fill="#0f172a">'
        f"{_x(picture.title)}</text>",
    ]
    for w in range(cols):
        x = MARGIN + w * (NODE_W + COL_GAP)
        out.append(f'<text class="wave" x="{x}" y="{MARGIN + HEADER - 12}" fill="#64748b">wave {w}</text>')
    for e in picture.edges:
        path, (lx, ly) = _edge_path(box(e.source), box(e.target), place[e.source][0], place[e.target][0])
        color = EDGE_COLOR.get(e.kind, "#475569")
        dash = f' stroke-dasharray="{DASH[e.kind]}"' if e.kind in DASH else ""
        out.append(
            f'<g class="edge" data-source="{_x(e.source)}" data-target="{_x(e.target)}" '
            f'data-kind="{_x(e.kind)}"><path d="{path}" fill="none" stroke="{color}" stroke-width="1.5"{dash} '
            f'marker-end="url(#arrow)"/><text x="{lx:.0f}" y="{ly - 4:.0f}" text-anchor="middle" '
            f'font-size="10" fill="{color}">{_x(e.kind)}</text></g>'
        )
    for n in picture.nodes:
        x, y = box(n.id)
        fill, stroke, sw = "#f8fafc", "#94a3b8", 1
        if n.blocked_by:
            fill, stroke, sw = "#fee2e2", "#b91c1c", 3
        elif n.changed:
            fill, stroke, sw = "#dbeafe", "#1d4ed8", 2
        detail = " · ".join([n.action, *n.blocked_by]) if n.action else " · ".join(n.blocked_by)
        out.append(
            f'<g class="node{" blocker" if n.blocked_by else ""}{" changed" if n.changed else ""}" '
            f'data-id="{_x(n.id)}" data-wave="{n.wave}"><title>{_x(n.id)} ({_x(detail)})</title>'
            f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="8" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{sw}"/>'
            f'<text x="{x + 10}" y="{y + 19}" font-weight="bold" fill="#0f172a">{_x(_clip(n.id))}</text>'
            f'<text x="{x + 10}" y="{y + 36}" fill="#334155">{_x(_clip(detail, 38))}</text></g>'
        )
    legend_y = height - MARGIN
    lx = MARGIN
    for kind, color in EDGE_COLOR.items():
        out.append(f'<text x="{lx}" y="{legend_y}" font-size="10" fill="{color}">→ {kind}</text>')
        lx += 170
    out.append(f'<text x="{lx}" y="{legend_y}" font-size="10" fill="#b91c1c">red: blocked by a rule</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
