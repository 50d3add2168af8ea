"""Which picture formats exist and their media types; `render(picture, fmt)` → text."""

from __future__ import annotations

from app.render import dot, mermaid, svg
from app.render.picture import Picture

RENDERERS = {"mermaid": mermaid.render, "dot": dot.render, "svg": svg.render}
FORMATS = ("json", *RENDERERS)
MEDIA_TYPES = {
    "mermaid": "text/vnd.mermaid; charset=utf-8",
    "dot": "text/vnd.graphviz; charset=utf-8",
    "svg": "image/svg+xml; charset=utf-8",
    "json": "application/json",
}
# Accept header values → format (the first the client lists wins; anything else is JSON)
ACCEPTED = {
    "text/vnd.mermaid": "mermaid",
    "text/x-mermaid": "mermaid",
    "text/vnd.graphviz": "dot",
    "text/x-graphviz": "dot",
    "image/svg+xml": "svg",
    "application/json": "json",
}


def render(picture: Picture, fmt: str) -> str:
    return RENDERERS[fmt](picture)
