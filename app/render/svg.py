"""SVG drawn here, without graphviz or the network: waves are the layers of a layered layout.

Columns are waves (left to right), rows are the components of a wave in order; rows are placed in
the order of their providers' rows (one barycentre pass) so that edges cross less. Boxes are as wide
as their longest line (ids and rule names are never cut) and as tall as the most lines any box has:
id, action, runtime, then one line per rule that holds it. Edge labels sit beside their edge on a
white halo; the legend wraps to the picture's width. Only presentation attributes, no <style> or
script: the picture is safe to inline and passes a strict CSP.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from app.render.picture import Node, Picture, wave_number

MIN_W, MAX_W, COL_GAP, ROW_GAP, MARGIN, HEADER, LINE = 240, 560, 140, 26, 24, 56, 16
CHAR_W, BOLD_W = 6.6, 7.3  # Helvetica 12px, average advance: enough to size boxes and the legend
EDGE_COLOR = {"depends_on": "#475569", "consumes_runtime_from": "#0f766e", "emits_runtime_to": "#7c3aed"}
DASH = {"consumes_runtime_from": "6 4", "emits_runtime_to": "2 3"}
HALO = 'stroke="#ffffff" stroke-width="4" stroke-linejoin="round" paint-order="stroke"'
TITLE_W, TITLE_MAX_W = 8.5, 1200  # the title's advance per character (15px bold); it widens a picture up to this


def _drawn_title(title: str, drawing_w: float) -> tuple[str, float]:
    """(the title as drawn, the width it needs). A title widens a small picture up to TITLE_MAX_W; past
    that — a large set's title names six operations — it is cut with "…" (whole in <title> and aria-label):
    a 2,000-px title made a 1,150-px picture scroll sideways, cut at the frame's edge."""
    room = max(drawing_w, TITLE_MAX_W) - MARGIN * 2
    if len(title) * TITLE_W <= room:
        return title, MARGIN * 2 + len(title) * TITLE_W
    keep = int(room // TITLE_W) - 1
    return title[:keep].rstrip(" ,") + "…", MARGIN * 2 + (keep + 1) * TITLE_W


def _x(text: str) -> str:
    return escape(text, {'"': "&quot;"})


def _lines(n: Node) -> list[tuple[str, str]]:
    """(text, colour) of a box's lines under its id."""
    action = f"{n.count} components · {n.action}" if n.count > 1 else n.action
    out = [(action, "#334155")] if action else []
    if n.runtime:
        out.append((f"runtime: {n.runtime}", "#0f766e"))
    out += [(b, "#b91c1c") for b in n.blocked_by]
    return out


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


class _Layout:
    def __init__(self, picture: Picture):
        self.place = _rows(picture)
        self.cols = max((c for c, _ in self.place.values()), default=0) + 1
        self.rows = max((r for _, r in self.place.values()), default=0) + 1
        widths = [len(n.id) * BOLD_W for n in picture.nodes]
        widths += [len(t) * CHAR_W for n in picture.nodes for t, _ in _lines(n)]
        self.node_w = int(min(MAX_W, max(MIN_W, max(widths, default=0) + 24)))
        self.node_h = 14 + LINE * (1 + max((len(_lines(n)) for n in picture.nodes), default=0))
        self.width = MARGIN * 2 + self.cols * self.node_w + (self.cols - 1) * COL_GAP

    def box(self, node_id: str) -> tuple[float, float]:
        c, r = self.place[node_id]
        return MARGIN + c * (self.node_w + COL_GAP), MARGIN + HEADER + r * (self.node_h + ROW_GAP)

    def edge_path(self, src_id: str, dst_id: str):
        """(SVG path, label point, label anchor). Next wave: one curve. Further: along the gap below the
        target's row, so the edge never crosses a box. Same wave or backwards (a cycle): a loop under both."""
        (sx, sy), (tx, ty) = self.box(src_id), self.box(dst_id)
        src_col, dst_col = self.place[src_id][0], self.place[dst_id][0]
        w, h = self.node_w, self.node_h
        x1, y1, x2, y2 = sx + w, sy + h / 2, tx, ty + h / 2
        if dst_col <= src_col:
            x1, x2, y1, y2 = sx + w / 2, tx + w / 2, sy + h, ty + h
            low = max(y1, y2) + ROW_GAP / 2
            path = f"M {x1:.0f} {y1:.0f} C {x1:.0f} {low:.0f}, {x2:.0f} {low:.0f}, {x2:.0f} {y2:.0f}"
            return path, ((x1 + x2) / 2, low + 12), "middle"
        if dst_col == src_col + 1:
            mid = (x1 + x2) / 2
            t = 0.5  # mid-gap (the gap fits the longest kind): beside the line, clear of both boxes
            lx, ly = _bezier(t, x1, mid, mid, x2), _bezier(t, y1, y1, y2, y2)
            path = f"M {x1:.0f} {y1:.0f} C {mid:.0f} {y1:.0f}, {mid:.0f} {y2:.0f}, {x2:.0f} {y2:.0f}"
            return path, (lx, ly - 5), "middle"
        lane = ty + h + ROW_GAP / 2
        a, b = x1 + COL_GAP, x2 - COL_GAP
        path = (
            f"M {x1:.0f} {y1:.0f} C {x1 + COL_GAP / 2:.0f} {y1:.0f}, {x1 + COL_GAP / 2:.0f} {lane:.0f}, "
            f"{a:.0f} {lane:.0f} L {b:.0f} {lane:.0f} C {x2 - COL_GAP / 2:.0f} {lane:.0f}, "
            f"{x2 - COL_GAP / 2:.0f} {y2:.0f}, {x2:.0f} {y2:.0f}"
        )
        return path, ((a + b) / 2, lane - 5), "middle"


def _legend(picture: Picture) -> list[tuple[str, str, str]]:
    """(swatch kind, text, colour) of the legend's items: the edge kinds, and the boxes this picture has."""
    items = [("edge:" + kind, kind, color) for kind, color in EDGE_COLOR.items()]
    if picture.changed:
        items.append(("box:#dbeafe:#1d4ed8", "the changed component", "#1d4ed8"))
    items.append(("box:#fee2e2:#b91c1c", "held by a rule (reject, block or approval)", "#b91c1c"))
    if any(n.count > 1 for n in picture.nodes):
        items.append(("box:#f8fafc:#94a3b8", "N components: one box per wave and type", "#334155"))
    return items


def _legend_svg(picture: Picture, y0: float, width: int) -> tuple[list[str], float]:
    """The legend wrapped to the width: (SVG, its height)."""
    out, x, y = [], MARGIN, y0
    for swatch, text, color in _legend(picture):
        item_w = 34 + len(text) * CHAR_W * 0.9 + 24
        if x + item_w > width - MARGIN and x > MARGIN:
            x, y = MARGIN, y + 18
        if swatch.startswith("edge:"):
            kind = swatch[5:]
            dash = f' stroke-dasharray="{DASH[kind]}"' if kind in DASH else ""
            out.append(
                f'<path d="M {x:.0f} {y - 4:.0f} L {x + 26:.0f} {y - 4:.0f}" stroke="{color}" stroke-width="1.5"'
                f'{dash} marker-end="url(#arrow)"/>'
            )
        else:
            _, fill, stroke = swatch.split(":")
            out.append(
                f'<rect x="{x:.0f}" y="{y - 10:.0f}" width="26" height="12" rx="3" fill="{fill}" stroke="{stroke}"/>'
            )
        out.append(f'<text x="{x + 34:.0f}" y="{y:.0f}" font-size="11" fill="{color}">{_x(text)}</text>')
        x += item_w
    return out, y - y0 + 18


def _node_svg(n: Node, x: float, y: float, lay: _Layout) -> str:
    fill, stroke, sw = "#f8fafc", "#94a3b8", 1
    if n.blocked_by:
        fill, stroke, sw = "#fee2e2", "#b91c1c", 3
    elif n.changed:
        fill, stroke, sw = "#dbeafe", "#1d4ed8", 2
    lines = _lines(n)
    detail = " · ".join(t for t, _ in lines)
    text = "".join(
        f'<text x="{x + 10}" y="{y + 19 + LINE * (i + 1)}" fill="{color}">{_x(t)}</text>'
        for i, (t, color) in enumerate(lines)
    )
    kind = f"{' blocker' if n.blocked_by else ''}{' changed' if n.changed else ''}{' group' if n.count > 1 else ''}"
    count = f' data-count="{n.count}"' if n.count > 1 else ""
    return (
        f'<g class="node{kind}" data-id="{_x(n.id)}" data-wave="{n.wave}"{count}>'
        f"<title>{_x(n.id)} ({_x(detail)})</title>"
        f'<rect x="{x}" y="{y}" width="{lay.node_w}" height="{lay.node_h}" rx="8" fill="{fill}" '
        f'stroke="{stroke}" stroke-width="{sw}"/>'
        f'<text x="{x + 10}" y="{y + 19}" font-weight="bold" fill="#0f172a">{_x(n.id)}</text>{text}</g>'
    )


def render(picture: Picture) -> str:
    lay = _Layout(picture)
    title, title_w = _drawn_title(picture.title, lay.width)
    width = int(max(lay.width, title_w, 640))
    body_bottom = MARGIN + HEADER + lay.rows * lay.node_h + (lay.rows - 1) * ROW_GAP + ROW_GAP
    notes_y = body_bottom + 14
    legend, legend_h = _legend_svg(picture, notes_y + 18 * len(picture.notes) + 12, width)
    height = int(notes_y + 18 * len(picture.notes) + legend_h + MARGIN)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="12" '
        f'role="img" aria-label="{_x(picture.title)}">',
        f"<title>{_x(picture.title)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#475569"/></marker></defs>',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text class="title" x="{MARGIN}" y="{MARGIN + 4}" font-size="15" font-weight="bold" fill="#0f172a">'
        f"{_x(title)}</text>",
    ]
    for w in range(lay.cols):
        x = MARGIN + w * (lay.node_w + COL_GAP)
        out.append(f'<text class="wave" x="{x}" y="{MARGIN + HEADER - 12}" fill="#64748b">wave {wave_number(w)}</text>')
    labels = []
    for e in picture.edges:
        path, (lx, ly), anchor = lay.edge_path(e.source, e.target)
        color = EDGE_COLOR.get(e.kind, "#475569")
        dash = f' stroke-dasharray="{DASH[e.kind]}"' if e.kind in DASH else ""
        out.append(
            f'<g class="edge" data-source="{_x(e.source)}" data-target="{_x(e.target)}" '
            f'data-kind="{_x(e.kind)}"><path d="{path}" fill="none" stroke="{color}" stroke-width="1.5"{dash} '
            f'marker-end="url(#arrow)"/></g>'
        )
        labels.append(
            f'<text class="edge-label" x="{lx:.0f}" y="{ly:.0f}" text-anchor="{anchor}" font-size="10" '
            f'fill="{color}" {HALO}>{_x(e.kind)}</text>'
        )
    for n in picture.nodes:
        out.append(_node_svg(n, *lay.box(n.id), lay))
    out += labels  # above every edge and box, so nothing runs through a label
    for i, note in enumerate(picture.notes):
        out.append(f'<text class="note" x="{MARGIN}" y="{notes_y + 18 * i}" fill="#92400e">{_x(note)}</text>')
    out += legend
    out.append("</svg>")
    return "\n".join(out) + "\n"
