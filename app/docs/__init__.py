"""/docs: Swagger UI served from the pinned `swagger-ui-bundle-v2` package, so it works offline.

flask-smorest's own page loads the assets from a URL (a CDN by default) and starts Swagger UI with an
inline script; this page takes the assets from the installed package and starts it from a file, so the
Content-Security-Policy can allow scripts, styles and requests from 'self' only.
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from flask import Blueprint, render_template, send_from_directory

from app.api.auth import DOCS_CSP

ASSETS = Path(swagger_ui_bundle.swagger_ui_path)
ASSET_FILES = frozenset(p.name for p in ASSETS.iterdir() if p.suffix in (".js", ".css", ".png"))
# public: the page and the assets carry no data; the OpenAPI document is public too
OPEN_ENDPOINTS = frozenset({"docs.page", "docs.asset", "docs.static"})

blp = Blueprint("docs", __name__, static_folder="static", static_url_path="/docs/static", template_folder="templates")


@blp.route("/docs")
@blp.route("/docs/")
def page():
    """The Swagger UI page for /openapi.json."""
    return render_template("docs.html", spec_url="/openapi.json")


@blp.route("/docs/assets/<name>")
def asset(name: str):
    """One file of the bundled Swagger UI (a fixed set of names: nothing else is served)."""
    if name not in ASSET_FILES:
        from app.errors import NotFound  # noqa: PLC0415 - only on a miss

        raise NotFound(f"no such docs asset {name!r}", cause="unknown_asset")
    response = send_from_directory(ASSETS, name, max_age=3600)
    return response


@blp.after_request
def _docs_policy(response):
    """The docs page runs Swagger UI from 'self' only (the app's headers are set with setdefault)."""
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response
