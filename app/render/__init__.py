"""Pictures of what a change touches: impact and plan results as Mermaid, Graphviz DOT and SVG.

`picture.py` turns an API result into one neutral `Picture` (the changed component, the affected
components by wave, the edges with their kinds, the blockers); `mermaid.py`, `dot.py` and `svg.py`
draw it. Pure functions: no Neo4j, no HTTP, no network, no graphviz binary.
"""

from app.render.picture import Picture, change_title, from_impact, from_plan, from_rows, wave_number
from app.render.formats import FORMATS, MEDIA_TYPES, render

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "Picture",
    "change_title",
    "from_impact",
    "from_plan",
    "from_rows",
    "render",
    "wave_number",
]
