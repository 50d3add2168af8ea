"""Format negotiation for pictures: `?format=json|mermaid|dot|svg` or the Accept header.

Views call `negotiated(result, to_picture)`: JSON stays the view's (schema-serialised) answer; any
other format is drawn by `app/render` and returned as text of its media type.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, request

from app.errors import Unprocessable
from app.render import FORMATS, MEDIA_TYPES, Picture, render
from app.render.formats import ACCEPTED


def picture_doc(schema: str) -> dict:
    """OpenAPI of a view that draws: the `format` parameter and, beside its JSON schema, the picture types."""
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
    content.update({MEDIA_TYPES[f].split(";")[0]: {"schema": {"type": "string"}} for f in FORMATS if f != "json"})
    return {
        "parameters": [
            {
                "name": "format",
                "in": "query",
                "required": False,
                "description": "json (default) or a picture: mermaid, dot, svg (or ask with Accept)",
                "schema": {"type": "string", "enum": list(FORMATS)},
            }
        ],
        "responses": {"200": {"content": content}},
    }


def requested_format() -> str:
    """The format asked for; an unknown `?format=` is a 422 naming the parameter by its location
    (`query.format`, as every refused query argument is named: docs/api.md) before any work."""
    fmt = request.args.get("format")
    if fmt is not None:
        if fmt not in FORMATS:
            raise Unprocessable(
                f"unknown format {fmt!r}",
                cause="unknown_format",
                errors={"query.format": [f"must be one of {', '.join(FORMATS)}"]},
            )
        return fmt
    for mime, _quality in request.accept_mimetypes:
        if mime in ACCEPTED:
            return ACCEPTED[mime]
    return "json"


def negotiated(result: dict, to_picture: Callable[[dict], Picture], fmt: str) -> dict | Response:
    if fmt == "json":
        return result
    response = Response(render(to_picture(result), fmt), mimetype=MEDIA_TYPES[fmt].split(";")[0])
    response.headers["Content-Type"] = MEDIA_TYPES[fmt]
    response.headers["Vary"] = "Accept"
    return response
